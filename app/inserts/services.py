"""The insert's rules: the shop's settings, what one order's insert says (greeting, first order or welcome back,
the merchant's note rendered in the sandbox, the QR codes), and the PDF for one order or many (WeasyPrint).

The PDF is made from HTML (`templates/inserts/insert.html`) with the Thai font declared by a local file path
(`@font-face`, Debian's fonts-thai-tlwg-ttf), so a Thai insert never depends on the fonts the machine happens to
have. A batch is rendered in chunks, each its own WeasyPrint PDF, joined at the end with pypdf: the progress is
the chunks done, and the memory one chunk's layout plus the finished bytes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import segno
from flask import render_template
from jinja2 import TemplateError
from jinja2.sandbox import SecurityError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.i18n import N_, negotiate_locale, t
from app.inserts.links import scan_url
from app.inserts.models import CODES, SIZES, InsertSettings
from app.notifications.sandbox import BudgetExceeded, render_merchant
from app.orders.models import Order
from app.shopify.models import Shop

log = logging.getLogger(__name__)
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # a line per page and step otherwise

FONT_DIR = "/usr/share/fonts/truetype/tlwg"  # Debian's fonts-thai-tlwg-ttf
FONT_FILES = {"normal": "Garuda.ttf", "bold": "Garuda-Bold.ttf"}
NOTE_MAX = 1000  # characters of a merchant's note (its source)
CHUNK = 50  # orders per WeasyPrint document in a batch (the progress step)
BATCH_MAX = 2000  # unfulfilled orders one batch prints, oldest first
WAITING_STATUSES = ("ordered", "confirmed", "label_created")  # nothing of the order has left the shop
CODE_LABELS = {"track": N_("inserts.qr.track"), "returns": N_("inserts.qr.returns")}
ERROR_KEYS = (
    N_("inserts.error.size"),
    N_("inserts.error.codes"),
    N_("inserts.error.note"),
    N_("inserts.error.packing_slip"),
)


@dataclass(frozen=True)
class QrCode:
    code: str
    label: str
    url: str
    image: str  # an SVG data URI


@dataclass(frozen=True)
class InsertView:
    """What one order's insert says, in the shopper's language."""

    locale: str
    order_name: str
    shop_name: str
    greeting: str
    thanks: str
    note: str
    codes: list[QrCode]


def insert_settings(session: Session, shop_id: int) -> InsertSettings:
    """The shop's settings, or the defaults (A6, both codes, no note of its own) when it saved none."""
    settings = session.execute(select(InsertSettings).where(InsertSettings.shop_id == shop_id)).scalar_one_or_none()
    return settings or InsertSettings(
        shop_id=shop_id, size="a6", codes=list(CODES), note_en=None, note_th=None, packing_slip=False
    )


def validate_insert_settings(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields a save carries, checked one by one: (clean values, field -> error key). A note must compile
    in the sandbox (a template it refuses is refused here, not at print time)."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "size" in form:
        if form["size"] in SIZES:
            clean["size"] = form["size"]
        else:
            errors["size"] = "inserts.error.size"
    if "codes" in form:
        codes = form["codes"]
        if isinstance(codes, str):
            codes = [codes]
        if not isinstance(codes, list) or any(code not in CODES for code in codes):
            errors["codes"] = "inserts.error.codes"
        else:
            clean["codes"] = [code for code in CODES if code in codes]
    if "packing_slip" in form:
        value = form["packing_slip"]
        if isinstance(value, bool):
            clean["packing_slip"] = value
        elif value in ("1", "0", "true", "false", "on"):
            clean["packing_slip"] = value in ("1", "true", "on")
        else:
            errors["packing_slip"] = "inserts.error.packing_slip"
    for field in ("note_en", "note_th"):
        if field not in form:
            continue
        note = form[field]
        if note is not None and not isinstance(note, str):
            errors[field] = "inserts.error.note"
            continue
        note = (note or "").strip()
        if len(note) > NOTE_MAX or (note and _render_note(note, _SAMPLE) is None):
            errors[field] = "inserts.error.note"
        else:
            clean[field] = note or None
    return clean, errors


def save_insert_settings(session: Session, shop_id: int, clean: dict[str, Any]) -> InsertSettings:
    settings = session.execute(select(InsertSettings).where(InsertSettings.shop_id == shop_id)).scalar_one_or_none()
    if settings is None:
        settings = InsertSettings(shop_id=shop_id, size="a6", codes=list(CODES), packing_slip=False)
        session.add(settings)
    for key, value in clean.items():
        setattr(settings, key, value)
    return settings


_SAMPLE = {"first_name": "Somchai", "order_name": "#1001", "shop_name": "Shop", "is_first_order": True}


def _render_note(source: str, context: dict[str, Any]) -> str | None:
    """The merchant's note, rendered in the sandbox within one message's budget; None when it is refused."""
    try:
        return render_merchant({"note": source}, context)["note"]
    except (BudgetExceeded, SecurityError, TemplateError, TypeError, ValueError) as exc:
        log.info("insert note refused: %s", type(exc).__name__)
        return None


def shopper_locale(order: Order) -> str:
    return negotiate_locale(order.customer_locale)


def is_first_order(session: Session, order: Order) -> bool:
    """True when the shop has no earlier order from this customer (by Shopify customer id, else by email)."""
    if order.shopify_customer_id:
        same = Order.shopify_customer_id == order.shopify_customer_id
    elif order.email:
        same = func.lower(Order.email) == order.email.lower()
    else:
        return True
    earlier = [Order.id < order.id]
    if order.shopify_created_at is not None:
        earlier = [or_(Order.shopify_created_at < order.shopify_created_at, Order.id < order.id)]
    found = session.execute(
        select(Order.id).where(Order.shop_id == order.shop_id, Order.id != order.id, same, *earlier).limit(1)
    ).first()
    return found is None


def qr_image(url: str) -> str:
    """The QR code of `url` as an SVG data URI (vector: sharp on any printer)."""
    return segno.make(url, error="m").svg_data_uri(scale=4, border=2)


def build_insert(session: Session, shop: Shop, order: Order, settings: InsertSettings) -> InsertView:
    """One order's insert: greeting by first name, first order or welcome back, the merchant's note (or ours),
    and the codes the merchant chose, each a signed scan link."""
    locale = shopper_locale(order)
    first_name = (order.customer_first_name or "").strip()
    first = is_first_order(session, order)
    greeting = t(locale, "inserts.hello", name=first_name) if first_name else t(locale, "inserts.hello_anonymous")
    thanks = t(locale, "inserts.first_order") if first else t(locale, "inserts.welcome_back")
    source = settings.note_th if locale == "th" else settings.note_en
    note = None
    if source:
        context = {
            "first_name": first_name,
            "order_name": order.name,
            "shop_name": shop.name or shop.domain,
            "is_first_order": first,
        }
        note = _render_note(source, context)
    if note is None:
        note = t(locale, "inserts.note.default")
    codes = []
    for code in settings.codes or []:
        if code in CODES:
            url = scan_url(shop.id, order.id, code)
            codes.append(QrCode(code, t(locale, CODE_LABELS[code]), url, qr_image(url)))
    return InsertView(locale, order.name, shop.name or shop.domain, greeting, thanks, note, codes)


def _font_url(weight: str) -> str:
    return f"file://{FONT_DIR}/{FONT_FILES[weight]}"


def render_insert_html(views: Sequence[InsertView], size: str) -> str:
    return render_template(
        "inserts/insert.html",
        views=views,
        size={"a6": "A6", "a5": "A5", "letter": "letter"}.get(size, "A6"),
        font_normal=_font_url("normal"),
        font_bold=_font_url("bold"),
        t=t,
    )


def _join_pdfs(parts: list[bytes]) -> bytes:
    if len(parts) == 1:
        return parts[0]
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_inserts_pdf(
    session: Session,
    shop: Shop,
    orders: Iterable[Order],
    settings: InsertSettings | None = None,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """One PDF with an insert per order (a page each, in the order given). `progress(done)` is called after each
    chunk. Raises ValueError when there is no order."""
    from weasyprint import HTML  # imported when used: loading it (Pango, fonts) is not the app's start-up cost

    settings = settings or insert_settings(session, shop.id)
    parts: list[bytes] = []
    done = 0
    chunk: list[InsertView] = []

    def flush() -> None:
        nonlocal done
        # Each chunk is written out at once, so its layout is freed: memory stays one chunk's, whatever the batch.
        parts.append(HTML(string=render_insert_html(chunk, settings.size)).write_pdf())
        done += len(chunk)
        chunk.clear()
        if progress is not None:
            progress(done)

    for order in orders:
        chunk.append(build_insert(session, shop, order, settings))
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    if not parts:
        raise ValueError("no order to print")
    return _join_pdfs(parts)


def unfulfilled_orders_query(shop_id: int):
    """The shop's orders waiting to be packed: nothing shipped yet by our derived status (Shopify's own
    fulfilment flag stays "unfulfilled" on orders shipped outside it); oldest first, on the status index."""
    return (
        select(Order)
        .where(Order.shop_id == shop_id, Order.status.in_(WAITING_STATUSES), Order.cancelled_at.is_(None))
        .order_by(Order.shopify_created_at, Order.id)
        .limit(BATCH_MAX)
    )
