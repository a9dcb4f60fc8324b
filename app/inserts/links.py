"""The insert's QR codes: each a signed link (`/l/i/<token>`) naming shop, order and code, that counts the scan
and then sends the shopper on to the page it stands for. A token that does not verify is a 404 and counts
nothing: a forged code cannot inflate another shop's numbers or open another order's pages."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from app.db import dialect_insert, utcnow
from app.extensions import db
from app.i18n import negotiate_locale
from app.inserts.models import CODES, InsertScan
from app.orders.models import Order
from app.returns.links import returns_portal_path
from app.shopify.models import Shop
from app.storefront.links import deny_framing, make_track_token

_SALT = "aftercart.insert-scan.v1"

insert_links_bp = Blueprint("insert_links", __name__, url_prefix="/l/i")
insert_links_bp.after_request(deny_framing)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SETTINGS"].secret_key, salt=_SALT)


def make_scan_token(shop_id: int, order_id: int, code: str) -> str:
    """A token naming one QR code (`track`, `returns`) of one order of one shop; it cannot be forged or moved."""
    return _serializer().dumps([shop_id, order_id, code])


def read_scan_token(token: str) -> tuple[int, int, str] | None:
    try:
        shop_id, order_id, code = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(shop_id, int) or not isinstance(order_id, int) or code not in CODES:
        return None
    return shop_id, order_id, code


def scan_url(shop_id: int, order_id: int, code: str) -> str:
    """The absolute URL a QR code carries (it is printed, so it must name our host)."""
    base = current_app.config["SETTINGS"].shopify_app_url
    return f"{base}/l/i/{make_scan_token(shop_id, order_id, code)}"


def target_path(shop_id: int, order_id: int, code: str) -> str:
    """Where a code leads: the order's tracking page, or its return portal."""
    if code == "returns":
        return returns_portal_path(shop_id, order_id)
    return f"/l/track/{make_track_token(shop_id, order_id)}"


def record_scan(shop_id: int, order_id: int, code: str) -> None:
    """Count one scan of an order's code (one row per shop, order and code; the count and last time grow)."""
    now = utcnow()
    table = InsertScan.__table__
    stmt = dialect_insert(db.session, table).values(
        shop_id=shop_id, order_id=order_id, code=code, scans=1, first_scanned_at=now, last_scanned_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "order_id", "code"],
        set_={"scans": table.c.scans + 1, "last_scanned_at": now},
    )
    db.session.execute(stmt)


@insert_links_bp.get("/<token>")
def scan(token: str):
    """A scanned QR code: count it, then 302 to its page. Unknown token, shop or order: 404, nothing counted."""
    target = read_scan_token(token)
    if target is None:
        abort(404)
    shop_id, order_id, code = target
    shop = db.session.get(Shop, shop_id)
    if shop is None or shop.redacted_at is not None:
        abort(404)
    found = db.session.execute(
        select(Order.customer_locale).where(Order.shop_id == shop_id, Order.id == order_id)
    ).first()
    if found is None:
        abort(404)
    record_scan(shop_id, order_id, code)
    db.session.commit()
    # The page in the language the insert was printed in, whatever the phone's own setting.
    locale = negotiate_locale(found.customer_locale)
    response = redirect(f"{target_path(shop_id, order_id, code)}?locale={locale}", code=302)
    response.headers["Cache-Control"] = "no-store"  # every scan must reach us to be counted
    return response
