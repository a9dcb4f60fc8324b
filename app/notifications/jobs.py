"""RQ entry points of notifications that are not a planned message (those are services.send_notification)."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.i18n import t
from app.jobs import with_app_context
from app.notifications.channels import OutgoingMessage, get_channel
from app.orders.models import Order
from app.shopify.models import Shop

log = logging.getLogger(__name__)


@with_app_context
def send_sms_confirmation(shop_id: int, order_id: int, phone: str, locale: str) -> str:
    """Ask the owner of `phone` to reply YES before any update is texted to it (job id `sms-confirm-<shop>-
    <number>-<day>`: one a day). Transient provider errors raise for RQ's retries; no SMS account: nothing."""
    channel = get_channel("sms", current_app.config["SETTINGS"])
    if channel is None:
        log.warning("SMS confirmation for shop %s not sent: no SMS account is set up", shop_id)
        return "not configured"
    found = db.session.execute(
        select(Shop.domain, Shop.name, Order.name)
        .join(Order, Order.shop_id == Shop.id)
        .where(Shop.id == shop_id, Order.id == order_id)
    ).first()
    db.session.rollback()
    if found is None:
        return "gone"
    domain, shop_name, order_name = found
    text = t(locale, "sms.confirm_updates", shop=shop_name or domain, order=order_name)
    result = channel.send(
        OutgoingMessage(
            notification_id=0,
            shop_domain=domain,
            channel="sms",
            recipient=phone,
            subject=None,
            text=text,
            html=None,
            sender_name=None,
            reply_to=None,
            idempotency_key=f"sms-confirm-{shop_id}-{phone}",
            locale=locale,
        )
    )
    return result.provider_message_id or "sent"
