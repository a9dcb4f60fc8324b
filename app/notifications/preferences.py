"""Consent and opt-out per channel and per shopper; addresses are normalised before any lookup."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.extensions import db
from app.notifications.models import ContactPreference
from app.orders.models import Order

_E164 = re.compile(r"\A\+[1-9]\d{7,14}\Z")


def normalise_phone(raw: str | None, default_country_code: str = "66") -> str | None:
    """E.164 (`+66812345678`) from what shoppers type (`081-234-5678`, `+66 81 234 5678`); None if unusable."""
    if not raw:
        return None
    text = raw.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        candidate = "+" + digits
    elif text.startswith("00"):
        candidate = "+" + digits[2:]
    elif digits.startswith("0"):
        candidate = f"+{default_country_code}{digits[1:]}"
    else:
        candidate = "+" + digits
    return candidate if _E164.match(candidate) else None


def normalise_address(channel: str, address: str | None) -> str | None:
    if not address:
        return None
    if channel == "email":
        value = address.strip().lower()
        return value if "@" in value else None
    if channel == "sms":
        return normalise_phone(address)
    return address.strip() or None


def get_preference(session: Session, shop_id: int, channel: str, address: str | None) -> ContactPreference | None:
    normalised = normalise_address(channel, address)
    if normalised is None:
        return None
    return session.execute(
        select(ContactPreference).where(
            ContactPreference.shop_id == shop_id,
            ContactPreference.channel == channel,
            ContactPreference.address == normalised,
        )
    ).scalar_one_or_none()


def _ensure(session: Session, shop_id: int, channel: str, address: str) -> ContactPreference:
    stmt = (
        dialect_insert(session, ContactPreference.__table__)
        .values(
            shop_id=shop_id,
            channel=channel,
            address=address,
            is_opted_out=False,
            updates_consent=False,
            marketing_consent=False,
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "channel", "address"])
    )
    session.execute(stmt)
    return session.execute(
        select(ContactPreference).where(
            ContactPreference.shop_id == shop_id,
            ContactPreference.channel == channel,
            ContactPreference.address == address,
        )
    ).scalar_one()


def record_opt_out(session: Session, shop_id: int, channel: str, address: str, source: str) -> bool:
    """Opt the address out of the channel at once (unsubscribe link, STOP, provider error). Idempotent."""
    normalised = normalise_address(channel, address)
    if normalised is None:
        return False
    preference = _ensure(session, shop_id, channel, normalised)
    if not preference.is_opted_out:
        preference.is_opted_out = True
        preference.opted_out_at = utcnow()
        preference.source = source
    return True


def record_opt_in(
    session: Session,
    shop_id: int,
    channel: str,
    address: str,
    source: str,
    *,
    updates: bool = True,
    marketing: bool | None = None,
    shopify_customer_id: int | None = None,
    email: str | None = None,
) -> ContactPreference | None:
    """Record consent (e.g. START, a LINE connection, a checkbox on the tracking page)."""
    normalised = normalise_address(channel, address)
    if normalised is None:
        return None
    preference = _ensure(session, shop_id, channel, normalised)
    preference.is_opted_out = False
    preference.opted_out_at = None
    preference.updates_consent = preference.updates_consent or updates
    if marketing is not None:
        preference.marketing_consent = marketing
    preference.source = source
    if shopify_customer_id:
        preference.shopify_customer_id = shopify_customer_id
    if email:
        preference.email = email.strip().lower()
    return preference


def line_user_for(
    session: Session, shop_id: int, email: str | None, customer_id: int | None
) -> ContactPreference | None:
    """The LINE connection of the shopper with this email or customer id, if they connected one."""
    conditions = []
    if customer_id:
        conditions.append(ContactPreference.shopify_customer_id == customer_id)
    if email:
        conditions.append(ContactPreference.email == email.strip().lower())
    if not conditions:
        return None
    from sqlalchemy import or_

    return session.execute(
        select(ContactPreference)
        .where(ContactPreference.shop_id == shop_id, ContactPreference.channel == "line", or_(*conditions))
        .order_by(ContactPreference.updated_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def subscribe_order_to_sms(shop_id: int, order: Order, phone: str | None) -> bool:
    """The shopper asks for text updates about this order (tracking page form): consent for their number,
    at once, and the number kept on the order if it had none. Commits. False when the number is not one."""
    if normalise_phone(phone) is None:
        return False
    record_opt_in(
        db.session,
        shop_id,
        "sms",
        phone or "",
        "tracking-page",
        updates=True,
        shopify_customer_id=order.shopify_customer_id,
        email=order.email,
    )
    if not order.phone:
        order.phone = normalise_phone(phone)
    db.session.commit()
    return True
