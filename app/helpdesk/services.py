"""Making, rotating and checking help-desk tokens, and the JSON summary of a customer's orders."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.helpdesk.models import HelpdeskToken
from app.i18n import format_moment, t, zone
from app.orders.models import Order
from app.orders.queries import OrderSearch, search_orders
from app.registry import registry
from app.shopify.models import Shop

TOKEN_PREFIX = "achd_"
MAX_ORDERS = 5


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, shop_id: int) -> str:
    """A new token for the shop, replacing any earlier one (which stops working at once). Shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = session.execute(select(HelpdeskToken).where(HelpdeskToken.shop_id == shop_id)).scalar_one_or_none()
    if row is None:
        row = HelpdeskToken(shop_id=shop_id)
        session.add(row)
    row.token_hash, row.hint, row.created_at, row.last_used_at = _digest(token), token[-4:], utcnow(), None
    return token


def revoke_token(session: Session, shop_id: int) -> bool:
    row = session.execute(select(HelpdeskToken).where(HelpdeskToken.shop_id == shop_id)).scalar_one_or_none()
    if row is None:
        return False
    session.delete(row)
    return True


def shop_for_token(session: Session, token: str | None) -> Shop | None:
    """The installed shop a token belongs to, or None. Only the hash is compared, so a stolen database does
    not give working tokens."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = session.execute(select(HelpdeskToken).where(HelpdeskToken.token_hash == _digest(token))).scalar_one_or_none()
    if row is None:
        return None
    shop = session.get(Shop, row.shop_id)
    if shop is None or not shop.is_installed:
        return None
    if row.last_used_at is None or utcnow() - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = utcnow()  # at most one write every few minutes, not one per lookup
    return shop


def customer_summary(session: Session, shop: Shop, email: str | None, order_ref: str | None, locale: str) -> dict:
    """The shop's latest orders for an email or an order name/number, each with every feature's part of the
    order page, as JSON."""
    text = (email or order_ref or "").strip()
    tz = zone(shop.iana_timezone)
    page = search_orders(session, shop.id, OrderSearch(text=text[:200]), tz, limit=MAX_ORDERS) if text else None
    orders = page.orders if page else []
    return {"shop": shop.domain, "orders": [order_summary(shop, order, locale) for order in orders]}


def order_summary(shop: Shop, order: Order, locale: str) -> dict[str, Any]:
    tz = zone(shop.iana_timezone)
    settings = current_app.config["SETTINGS"]
    summary: dict[str, Any] = {
        "name": order.name,
        "status": order.status,
        "status_label": t(locale, f"status.{order.status}"),
        "placed_at": order.shopify_created_at.isoformat() if order.shopify_created_at else None,
        "placed_at_display": format_moment(order.shopify_created_at, locale, tz) if order.shopify_created_at else None,
        "customer": {"name": order.customer_name, "email": order.email, "phone": order.phone},
        "total": str(order.total_price) if order.total_price is not None else None,
        "currency": order.currency,
        "admin_url": f"https://{shop.domain}/admin/apps/{settings.shopify_api_key}/app/orders/{order.id}",
    }
    for panel in registry().order_panels:
        if panel.summarize is not None:
            part = panel.summarize(order)
            if part is not None:
                summary[panel.key] = part
    return summary
