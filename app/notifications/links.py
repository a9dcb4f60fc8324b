"""Signed links in messages: click redirects that record clicks, and unsubscribe links that need no login.

GET /l/u/<token> shows a one-button page (link scanners must not unsubscribe anyone); POST unsubscribes at
once, which is also what mail clients do for RFC 8058 one-click (`List-Unsubscribe=One-Click`).
"""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.i18n import negotiate_locale
from app.notifications.models import ContactPreference, LinkClick, Notification
from app.notifications.preferences import record_opt_out
from app.storefront.links import deny_framing

notification_links_bp = Blueprint("notification_links", __name__, url_prefix="/l")
notification_links_bp.after_request(deny_framing)

_CLICK_SALT = "aftercart.click.v1"
_UNSUBSCRIBE_SALT = "aftercart.unsubscribe.v2"
# Tokens of emails sent before v2 carried the address itself; they keep working while those emails are read.
_LEGACY_UNSUBSCRIBE_SALT = "aftercart.unsubscribe.v1"


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SETTINGS"].secret_key, salt=salt)


def public_url(path: str) -> str:
    return current_app.config["SETTINGS"].shopify_app_url + path


def click_url(shop_id: int, notification_id: int | None, target: str) -> str:
    token = _serializer(_CLICK_SALT).dumps([shop_id, notification_id, target])
    return public_url(f"/l/c/{token}")


def unsubscribe_url(shop_id: int, notification_id: int) -> str:
    """The message's unsubscribe link: its token names only the shop and the message (signed, no address), so
    the link says nothing about the shopper, and once they are erased it can no longer bring their address back."""
    token = _serializer(_UNSUBSCRIBE_SALT).dumps([shop_id, notification_id])
    return public_url(f"/l/u/{token}")


@notification_links_bp.get("/c/<token>")
def follow_click(token: str):
    try:
        shop_id, notification_id, target = _serializer(_CLICK_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    if urlparse(str(target)).scheme not in ("https", "http"):
        abort(404)
    db.session.add(LinkClick(shop_id=shop_id, notification_id=notification_id, url=str(target), clicked_at=utcnow()))
    db.session.commit()
    return redirect(str(target), code=302)


def _read_unsubscribe(token: str) -> tuple[int, str, str | None, str]:
    """(shop, channel, address or None when we no longer hold it, locale) for an unsubscribe token; 404 if forged."""
    try:
        shop_id, notification_id = _serializer(_UNSUBSCRIBE_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return _read_legacy_unsubscribe(token)
    found = db.session.execute(
        select(Notification.channel, Notification.recipient, Notification.locale).where(
            Notification.id == int(notification_id), Notification.shop_id == int(shop_id)
        )
    ).first()
    if found is None:
        abort(404)
    channel, recipient, locale = found
    return int(shop_id), str(channel), recipient, negotiate_locale(locale)


def _read_legacy_unsubscribe(token: str) -> tuple[int, str, str | None, str]:
    try:
        shop_id, channel, address, locale = _serializer(_LEGACY_UNSUBSCRIBE_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        abort(404)
    shop_id, address = int(shop_id), str(address)
    # An address we no longer hold (erased on request) is not written back by an old link.
    held = (
        db.session.execute(
            select(Notification.id).where(Notification.shop_id == shop_id, Notification.recipient == address).limit(1)
        ).first()
        or db.session.execute(
            select(ContactPreference.id)
            .where(ContactPreference.shop_id == shop_id, ContactPreference.address == address)
            .limit(1)
        ).first()
    )
    return shop_id, str(channel), address if held else None, negotiate_locale(str(locale))


@notification_links_bp.get("/u/<token>")
def unsubscribe_page(token: str):
    shop_id, channel, address, locale = _read_unsubscribe(token)
    return render_template("notifications/unsubscribe.html", token=token, done=False, locale=locale, channel=channel)


@notification_links_bp.post("/u/<token>")
def unsubscribe(token: str) -> Response | str:
    shop_id, channel, address, locale = _read_unsubscribe(token)
    if address:
        record_opt_out(db.session, shop_id, channel, address, source="unsubscribe-link")
        db.session.commit()
    if request.form.get("List-Unsubscribe") == "One-Click":
        return Response("", status=204)
    return render_template("notifications/unsubscribe.html", token=token, done=True, locale=locale, channel=channel)
