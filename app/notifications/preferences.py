"""Consent and opt-out per channel and per shopper; addresses are normalised before any lookup."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.extensions import db
from app.jobs import enqueue_after_commit, job_id
from app.notifications.jobs import send_sms_confirmation
from app.notifications.models import ContactPreference
from app.orders.models import Order
from app.validation import email_address

_E164 = re.compile(r"\A\+[1-9]\d{7,14}\Z")
# What a phone number may be typed with: digits, a leading +, and the usual separators. Anything else (letters,
# line breaks, control characters) means it is not a phone number, rather than one to dig digits out of.
_PHONE_TYPED = re.compile(r"\A *\+?[0-9 .()\-]{1,40}\Z")


# A number typed on the tracking page waits for its owner's YES with this source, and is asked once a day.
PENDING_SMS_SOURCE = "tracking-page:awaiting-yes"
CONFIRMATION_INTERVAL = timedelta(hours=24)


def normalise_phone(raw: str | None, default_country_code: str = "66") -> str | None:
    """E.164 (`+66812345678`) from what shoppers type (`081-234-5678`, `+66 81 234 5678`); None if unusable."""
    if not raw or not _PHONE_TYPED.match(raw):
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
        value = email_address(address)
        return value.lower() if value else None
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


def hold_marketing(session: Session, shop_id: int, email: str | None, shopify_order_id: int, held: bool) -> bool:
    """Hold (or release) marketing to an email address for one order's unhappy survey answer. Idempotent; the
    address is held while any of its orders is."""
    normalised = normalise_address("email", email)
    if normalised is None:
        return False
    if held:
        preference = _ensure(session, shop_id, "email", normalised)
    else:
        preference = get_preference(session, shop_id, "email", normalised)
        if preference is None:
            return False
    orders = set(preference.marketing_held_for or [])
    orders = orders | {shopify_order_id} if held else orders - {shopify_order_id}
    preference.marketing_held_for = sorted(orders) or None
    return True


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


def request_sms_updates(shop_id: int, order: Order, phone: str | None, locale: str) -> bool:
    """The shopper asks for text updates about this order (tracking page form): nothing is consented yet.

    Anyone who knows an order number and email could type any number here, so the number's owner confirms
    first, as carriers expect: the number is noted without consent and a text asks them to reply YES (the
    inbound hook's START, app/notifications/hooks.py, then records consent). One confirmation text per number
    and shop a day, so the form cannot be used to spam a number. Commits. False when the number is not one."""
    normalised = normalise_phone(phone)
    if normalised is None:
        return False
    preference = get_preference(db.session, shop_id, "sms", normalised)
    asked_recently = (
        preference is not None
        and preference.source == PENDING_SMS_SOURCE
        and preference.updated_at is not None
        and utcnow() - preference.updated_at < CONFIRMATION_INTERVAL
    )
    if preference is None or not (preference.updates_consent or preference.is_opted_out or asked_recently):
        preference = _ensure(db.session, shop_id, "sms", normalised)
        preference.source = PENDING_SMS_SOURCE
        preference.updated_at = utcnow()
        preference.shopify_customer_id = preference.shopify_customer_id or order.shopify_customer_id
        preference.email = preference.email or (order.email or "").strip().lower() or None
        enqueue_after_commit(
            db.session,
            send_sms_confirmation,
            shop_id,
            order.id,
            normalised,
            locale,
            queue="notifications",
            job_id=job_id("sms-confirm", shop_id, normalised.lstrip("+"), int(utcnow().timestamp() // 86400)),
            unique=True,
        )
    if not order.phone:
        order.phone = normalised
    db.session.commit()
    return True
