"""Sending one notification: policy again, render, hand to the channel, record the outcome."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, bindparam, case, delete, exists, func, select, update
from sqlalchemy.orm import Session

from app.content import content_message_facts
from app.db import insert_unless_present, utcnow
from app.events import DomainEvent
from app.extensions import db
from app.flows.messages import flow_message_facts
from app.i18n import format_day_range, t, zone
from app.jobs import enqueue, enqueue_after_commit, job_id, job_is_alive, with_app_context
from app.notifications import policy
from app.notifications.channels import (
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
    configured_channels,
    get_channel,
)
from app.notifications.defaults import DEFAULT_CHANNELS
from app.notifications.links import click_url, unsubscribe_url
from app.notifications.models import (
    ContactPreference,
    Notification,
    NotificationSettings,
    NotificationTemplate,
    OrderMessagePause,
)
from app.notifications.preferences import (
    get_preference,
    line_user_for,
    normalise_address,
    normalise_phone,
    record_opt_out,
)
from app.notifications.rendering import render_message
from app.orders.models import Customer, Fulfillment, Order
from app.recommendations import UNREAD, recommendations_for_email
from app.returns.messages import return_message_facts
from app.reviews.messages import review_message_facts
from app.shopify.models import Shop
from app.storefront.links import make_track_token
from app.surveys import survey_message_facts
from app.tracking.branding import tokens_for
from app.tracking.models import TrackingSettings
from app.tracking.services import default_tracking_settings, display_state

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A send that started this recently is taken to be still in progress elsewhere; after that, to have
# crashed (and is retried with the same idempotency key).
IN_FLIGHT = timedelta(seconds=90)
FINAL_STATUSES = ("sent", "delivered", "failed", "suppressed")


def _order_and_shipment(notification: Notification) -> tuple[Order | None, Fulfillment | None]:
    order = db.session.execute(
        select(Order).where(
            Order.shop_id == notification.shop_id, Order.shopify_order_id == notification.shopify_order_id
        )
    ).scalar_one_or_none()
    shipment = None
    if notification.shopify_fulfillment_id:
        shipment = db.session.execute(
            select(Fulfillment).where(
                Fulfillment.shop_id == notification.shop_id,
                Fulfillment.shopify_fulfillment_id == notification.shopify_fulfillment_id,
            )
        ).scalar_one_or_none()
    return order, shipment


def message_context(
    notification: Notification,
    shop: Shop,
    order: Order,
    shipment: Fulfillment | None,
    email_preference: ContactPreference | None | object = UNREAD,
) -> dict[str, Any]:
    """What a message's template gets. `email_preference` is the order email's preference row when the
    caller has read it (it decides whether the message may carry recommendations)."""
    locale = notification.locale
    first_name = order.customer_first_name
    if not first_name and order.shopify_customer_id:
        first_name = db.session.execute(
            select(Customer.first_name).where(
                Customer.shop_id == order.shop_id, Customer.shopify_customer_id == order.shopify_customer_id
            )
        ).scalar()
    track_path = f"/l/track/{make_track_token(shop.id, order.id)}?locale={locale}"
    tracking_url = click_url(shop.id, notification.id, current_app.config["SETTINGS"].shopify_app_url + track_path)
    estimate = None
    status_label = t(locale, f"status.{order.status}")
    items = [f"{i.get('title')} × {i.get('quantity')}" for i in (order.line_items or [])]
    if shipment is not None:
        if shipment.estimate_from and shipment.estimate_to:
            estimate = format_day_range(shipment.estimate_from, shipment.estimate_to, locale)
        status_label = t(locale, f"status.{display_state(shipment).value}")
        items = [f"{i.get('title')} × {i.get('quantity')}" for i in (shipment.line_items or [])] or items
    return_context = _return_context(notification, shop)
    # Never an upsell to someone who needs help: a damaged or wrong item, a problem moment, a parcel in trouble.
    # Nor in a request for an honest review or a reply to one.
    # Nor beside product information the shopper needs (content needs no marketing consent, so carries no cards).
    upsell = (
        not return_context.pop("is_seller_fault", False)
        and not notification.trigger.startswith("review_")
        and notification.trigger not in policy.CONTENT_TRIGGERS
    )
    return {
        **return_context,
        **_survey_context(notification, shop),
        **_content_context(notification, shop),
        "first_name": first_name,
        "shop_name": shop.name or shop.domain.split(".")[0],
        "order_name": order.name,
        "status_label": status_label,
        "estimate": estimate,
        "carrier": (shipment.carrier_name or shipment.tracking_company) if shipment else None,
        "tracking_number": (shipment.tracking_numbers or [None])[0] if shipment else None,
        "items": items,
        "tracking_url": tracking_url,
        # only with marketing consent
        "recommendations": [
            card.as_json()
            for card in recommendations_for_email(
                shop.id, order, locale, email_preference=email_preference, moment=notification.trigger
            )
        ]
        if upsell
        else [],
        **_review_context(notification, shop),  # its items are the products asked about
        **_flow_context(notification, shop),
    }


def _return_context(notification: Notification, shop: Shop) -> dict[str, Any]:
    """For a message about a return: its status page (the email's button), what to do next, why it was
    declined. The return is the one named by the domain event that planned the message."""
    if not notification.trigger.startswith("return_") or notification.domain_event_id is None:
        return {}
    data = db.session.execute(
        select(DomainEvent.data).where(
            DomainEvent.id == notification.domain_event_id, DomainEvent.shop_id == notification.shop_id
        )
    ).scalar()
    return_id = (data or {}).get("return_id")
    if not isinstance(return_id, int):
        return {}
    facts = return_message_facts(db.session, shop.id, return_id, notification.locale)
    path = facts.pop("return_path", None)
    if not path:
        return {}
    url = f"{current_app.config['SETTINGS'].shopify_app_url}{path}?locale={notification.locale}"
    return {**facts, "return_url": click_url(shop.id, notification.id, url)}


def _survey_context(notification: Notification, shop: Shop) -> dict[str, Any]:
    """For a delivery survey: its question and one signed link per score (app/surveys/messages.py), for the
    survey named by the `survey.due` event that planned the message."""
    if notification.trigger != "delivery_survey" or notification.domain_event_id is None:
        return {}
    data = db.session.execute(
        select(DomainEvent.data).where(
            DomainEvent.id == notification.domain_event_id, DomainEvent.shop_id == notification.shop_id
        )
    ).scalar()
    survey_id = (data or {}).get("survey_id")
    if not isinstance(survey_id, int):
        return {}
    shop_name = shop.name or shop.domain.split(".")[0]
    return survey_message_facts(db.session, shop.id, survey_id, notification.locale, shop_name)


def _content_context(notification: Notification, shop: Shop) -> dict[str, Any]:
    """For a product content message: the entry's title, text and video link (app/content/messages.py), for the
    entry named by the `content.released` event that planned the message."""
    if notification.trigger not in policy.CONTENT_TRIGGERS or notification.domain_event_id is None:
        return {}
    data = db.session.execute(
        select(DomainEvent.data).where(
            DomainEvent.id == notification.domain_event_id, DomainEvent.shop_id == notification.shop_id
        )
    ).scalar()
    entry_id = (data or {}).get("entry_id")
    if not isinstance(entry_id, int):
        return {}
    return content_message_facts(db.session, shop.id, entry_id, notification.locale)


def _review_context(notification: Notification, shop: Shop) -> dict[str, Any]:
    """For a review request: the review page (the email's button), the products asked about and the thank-you
    code's sentence; for a private reply to a review: its text. From the domain event that planned the message."""
    if not notification.trigger.startswith("review_") or notification.domain_event_id is None:
        return {}
    data = db.session.execute(
        select(DomainEvent.data).where(
            DomainEvent.id == notification.domain_event_id, DomainEvent.shop_id == notification.shop_id
        )
    ).scalar()
    facts = review_message_facts(db.session, shop.id, data or {}, notification.locale)
    path = facts.pop("review_path", None)
    if path:
        url = f"{current_app.config['SETTINGS'].shopify_app_url}{path}?locale={notification.locale}"
        facts["review_url"] = click_url(shop.id, notification.id, url)
        facts["items"] = facts.pop("review_items", [])
    return facts


def _flow_context(notification: Notification, shop: Shop) -> dict[str, Any]:
    """For a follow-up flow's step: the merchant's own words for it, in the shopper's language (app/flows), as
    the message's override (`flow_override`), from the `flow.step_sent` event that planned the message."""
    if notification.trigger != "flow_step" or notification.domain_event_id is None:
        return {}
    data = db.session.execute(
        select(DomainEvent.data).where(
            DomainEvent.id == notification.domain_event_id, DomainEvent.shop_id == notification.shop_id
        )
    ).scalar()
    return flow_message_facts(db.session, shop.id, data or {}, notification.locale)


# Each send of a marketing or content message reads the shopper's marketing messages of the last week (across
# channels): how many in the last day and week, and the oldest of each, for when a place frees.
_MARKETING_SENT = select(
    func.count().filter(Notification.sent_at >= bindparam("day_since")),
    func.count(),
    func.min(Notification.sent_at).filter(Notification.sent_at >= bindparam("day_since")),
    func.min(Notification.sent_at),
).where(
    Notification.shop_id == bindparam("shop_id"),
    Notification.shopper_key == bindparam("shopper_key"),
    Notification.sent_at >= bindparam("week_since"),
    Notification.status.in_(("sent", "delivered")),
    Notification.id != bindparam("notification_id"),
)


def _marketing_hold(notification: Notification, settings: NotificationSettings, now: datetime):
    """(release, reason) when the shopper's marketing cap is reached; None otherwise. Costs one statement, and
    only for marketing and content messages."""
    if not notification.shopper_key:
        return None
    row = db.session.execute(
        _MARKETING_SENT,
        {
            "shop_id": notification.shop_id,
            "shopper_key": notification.shopper_key,
            "day_since": now - policy.MARKETING_DAY,
            "week_since": now - policy.MARKETING_WEEK,
            "notification_id": notification.id,
        },
    ).one()
    return policy.marketing_release(row[0] or 0, row[1] or 0, row[2], row[3], settings, now)


def _defer(notification: Notification, release: datetime, reason: str) -> str:
    """Hold the message until `release`, kept with the reason, and queue its send for then."""
    notification.status = "deferred"
    notification.scheduled_for = release
    notification.reason = reason
    db.session.commit()
    if current_app.config["SETTINGS"].jobs_inline:
        return "deferred"  # inline (the demo) would run it now, held again; the sweeper sends it when due
    enqueue(
        send_notification,
        notification.id,
        queue="notifications",
        job_id=job_id("notify", notification.id, "at", int(release.timestamp())),
        at=release,
        unique=True,
    )
    return "deferred"


@dataclass(frozen=True)
class SendContext:
    shop: Shop | None
    order: Order | None
    shipment: Fulfillment | None
    settings: NotificationSettings
    look: TrackingSettings
    template: NotificationTemplate | None  # the merchant's own text for this trigger, channel and language
    preference: ContactPreference | None  # the recipient's consent on this channel
    sent_today: int  # storm-guarded messages on this channel for this order in the last 24 hours
    is_paused: bool = False  # the merchant paused automatic messages for this order


# Statements run on every send, built once (values bound per send).
_LOCK_NOTIFICATION = select(Notification).where(Notification.id == bindparam("id")).with_for_update(skip_locked=True)
_notifications = Notification.__table__
# A delivery report may already have arrived (Twilio is fast): never overwrite "delivered"/"failed".
_MARK_SENT = (
    update(_notifications)
    .where(_notifications.c.id == bindparam("notification_id"))
    .values(
        provider_message_id=func.coalesce(_notifications.c.provider_message_id, bindparam("message_id")),
        sent_at=bindparam("at"),
        status=case((_notifications.c.status == "queued", "sent"), else_=_notifications.c.status),
    )
)


@functools.cache
def _send_context_statement() -> Select:
    """The statement `_send_context` runs, built once per process (values are bound per send): building
    and keying a statement of eight entities anew cost about as much as running it. A NULL recipient
    address, shipment or order id matches no row, as it should."""
    shop_id = bindparam("shop_id")
    channel = bindparam("channel")
    order_id = bindparam("shopify_order_id")
    sent = select(func.count()).where(
        Notification.shop_id == shop_id,
        Notification.shopify_order_id == order_id,
        Notification.channel == channel,
        Notification.status.in_(("sent", "delivered")),
        Notification.sent_at >= bindparam("sent_since"),
        Notification.trigger.in_(sorted(policy.STORM_GUARDED_TRIGGERS)),
    )
    return (
        select(
            Shop,
            Order,
            Fulfillment,
            NotificationSettings,
            TrackingSettings,
            NotificationTemplate,
            ContactPreference,
            sent.scalar_subquery().label("sent_today"),
            exists()
            .where(OrderMessagePause.shop_id == shop_id, OrderMessagePause.shopify_order_id == order_id)
            .label("is_paused"),
        )
        .select_from(Shop)
        .outerjoin(Order, and_(Order.shop_id == shop_id, Order.shopify_order_id == order_id))
        .outerjoin(
            Fulfillment,
            and_(Fulfillment.shop_id == shop_id, Fulfillment.shopify_fulfillment_id == bindparam("fulfillment_id")),
        )
        .outerjoin(NotificationSettings, NotificationSettings.shop_id == shop_id)
        .outerjoin(TrackingSettings, TrackingSettings.shop_id == shop_id)
        .outerjoin(
            NotificationTemplate,
            and_(
                NotificationTemplate.shop_id == shop_id,
                NotificationTemplate.trigger == bindparam("trigger"),
                NotificationTemplate.channel == bindparam("template_channel"),
                NotificationTemplate.locale == bindparam("locale"),
            ),
        )
        .outerjoin(
            ContactPreference,
            and_(
                ContactPreference.shop_id == shop_id,
                ContactPreference.channel == channel,
                ContactPreference.address == bindparam("address"),
            ),
        )
        .where(Shop.id == shop_id)
    )


def _send_context(notification: Notification) -> SendContext:
    """Everything a send reads besides the notification, in one statement: the shop, its notification and
    tracking settings, the merchant's template, the order, the shipment, the recipient's consent (each row
    optional) and the count for the frequency cap."""
    shop_id = notification.shop_id
    row = db.session.execute(
        _send_context_statement(),
        {
            "shop_id": shop_id,
            "channel": notification.channel,
            "shopify_order_id": notification.shopify_order_id,
            "fulfillment_id": notification.shopify_fulfillment_id,
            "sent_since": utcnow() - policy.CAP_WINDOW,
            "trigger": notification.trigger,
            "template_channel": "email" if notification.channel == "email" else "text",
            "locale": notification.locale,
            "address": normalise_address(notification.channel, notification.recipient) or None,
        },
    ).first()
    if row is None:
        return SendContext(
            None, None, None, default_notification_settings(shop_id), default_tracking_settings(shop_id), None, None, 0
        )
    shop, order, shipment, settings, look, template, preference, sent_today, is_paused = row
    return SendContext(
        shop,
        order,
        shipment,
        settings if settings is not None else default_notification_settings(shop_id),
        look if look is not None else default_tracking_settings(shop_id),
        template,
        preference,
        sent_today or 0,
        bool(is_paused),
    )


def _override(notification: Notification, template: NotificationTemplate | None) -> dict[str, str | None] | None:
    if template is None:
        return None
    if notification.channel == "email":
        return {"subject": template.subject, "body": template.body}
    return {"short": template.body}


def _finish(notification: Notification, status: str, reason: str | None = None) -> str:
    notification.status = status
    notification.reason = reason
    db.session.commit()
    return status


@with_app_context
def send_notification(notification_id: int, now: datetime | None = None) -> str:
    """Send one notification at most once per dedupe key.

    Idempotency: the row is locked and skipped once final; the channel gets a stable idempotency key
    (email Message-ID, LINE retry key) so a retry after a crash mid-send is recognisable downstream.
    TransientSendError is re-raised for RQ's retries; permanent failures are recorded, never retried.
    `now` is the clock (tests pass the moment they mean; jobs use the current time).
    """
    session = db.session
    notification = session.execute(_LOCK_NOTIFICATION, {"id": notification_id}).scalar_one_or_none()
    if notification is None or notification.status in FINAL_STATUSES:
        session.rollback()
        return "skipped"
    now = now or utcnow()
    if notification.sending_started_at and now - notification.sending_started_at < IN_FLIGHT:
        # Another worker is handing this very message to the provider right now.
        session.rollback()
        return "in flight"
    if notification.attempts >= MAX_ATTEMPTS:
        # Whatever ended the earlier attempts (a crash, an error no channel expected), the limit holds.
        return _finish(notification, "failed", _gave_up(notification.attempts, notification.reason))
    found = _send_context(notification)
    shop, order, shipment, settings = found.shop, found.order, found.shipment, found.settings
    if shop is None or order is None or shop.redacted_at is not None:
        return _finish(notification, "suppressed", "order no longer available")
    if found.is_paused and not is_manual(notification):
        return _finish(notification, "suppressed", PAUSED_REASON)
    marketing = policy.is_marketing(notification.trigger)
    refusal = policy.consent_refusal(
        found.preference,
        notification.channel,
        notification.recipient,
        policy.needs_marketing_consent(notification.trigger),
    )
    if refusal:
        return _finish(notification, "suppressed", refusal)
    stale = policy.is_stale(notification.trigger, shipment, order)
    if stale:
        return _finish(notification, "suppressed", f"stale: {stale}")
    # A marketing message is not news about an event: held by the cap for days, it is still worth sending.
    old_news = None if notification.resend_of_id or marketing else policy.too_old(notification.event_at, now, settings)
    if old_news:
        return _finish(notification, "suppressed", old_news)
    if notification.channel in policy.INTERRUPTING or marketing:
        release = policy.quiet_hours_release(
            now, zone(shop.iana_timezone), settings.quiet_hours_start, settings.quiet_hours_end
        )
        if release is not None:
            return _defer(notification, release, "quiet hours")
    if marketing:
        held = _marketing_hold(notification, settings, now)
        if held is not None:
            return _defer(notification, *held)
    elif (
        notification.shopify_order_id is not None
        and policy.is_storm_guarded(notification.trigger)
        and policy.storm_guard_reached(found.sent_today, settings)
    ):
        return _finish(notification, "suppressed", "daily limit of delay and problem messages for this order reached")
    channel = get_channel(notification.channel, current_app.config["SETTINGS"])
    if channel is None:
        return _finish(notification, "failed", f"{notification.channel} is not configured")

    same_address = notification.channel == "email" and normalise_address("email", order.email) == normalise_address(
        "email", notification.recipient
    )
    context = message_context(notification, shop, order, shipment, found.preference if same_address else UNREAD)
    override = context.pop("flow_override", None) or _override(notification, found.template)
    look = found.look
    tokens = tokens_for(look)
    branding = {
        "accent": tokens.accent,
        "text": tokens.text,
        "background": tokens.background,
        "font_stack": tokens.font_stack,
        "radius": f"{tokens.radius_px}px",
        "logo_url": look.logo_url or "",
    }
    unsubscribe = unsubscribe_url(shop.id, notification.id)
    rendered = render_message(
        notification.trigger,
        notification.channel,
        notification.locale,
        context,
        override,
        branding,
        unsubscribe,
    )
    notification.subject, notification.body_text, notification.body_html = (
        rendered.subject,
        rendered.text,
        rendered.html,
    )
    notification.attempts += 1
    notification.sending_started_at = now
    notification.status = "queued"
    notification.reason = (
        f"merchant template failed, default used ({rendered.template_error})" if rendered.template_error else None
    )
    message = OutgoingMessage(
        notification_id=notification.id,
        shop_domain=shop.domain,
        channel=notification.channel,
        recipient=notification.recipient or "",
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender_name=settings.sender_name or shop.name,
        reply_to=settings.reply_to,
        idempotency_key=f"aftercart-{shop.id}-{notification.id}",
        unsubscribe_url=unsubscribe if notification.channel == "email" else None,
        locale=notification.locale,
    )
    session.commit()  # the content and the attempt are on record before anything leaves
    try:
        result = channel.send(message)
    except TransientSendError as exc:
        notification = session.get(Notification, notification_id)
        notification.reason = f"retrying: {exc}"
        if not exc.maybe_sent:
            notification.sending_started_at = None  # known not sent: the retry may go at once
        if notification.attempts >= MAX_ATTEMPTS:
            return _finish(notification, "failed", _gave_up(notification.attempts, str(exc)))
        session.commit()
        raise
    except PermanentSendError as exc:
        notification = session.get(Notification, notification_id)
        if exc.opted_out and notification.recipient:
            record_opt_out(
                session,
                notification.shop_id,
                notification.channel,
                notification.recipient,
                source=f"{notification.channel}:{exc.code or 'provider'}",
            )
        _finish(notification, "failed", exc.reason)
        _fall_back_to_email(notification, order, settings)
        session.commit()
        return "failed"
    session.execute(
        _MARK_SENT, {"notification_id": notification_id, "message_id": result.provider_message_id, "at": utcnow()}
    )
    session.commit()
    return "sent"


def _gave_up(attempts: int, last_reason: str | None) -> str:
    reason = f"gave up after {attempts} attempts"
    return f"{reason}: {last_reason.removeprefix('retrying: ')}" if last_reason else reason


def _fall_back_to_email(notification: Notification, order: Order, settings) -> None:
    """When SMS or LINE fails for good, say it by email instead (if the merchant wants, and once)."""
    if notification.channel == "email" or not settings.fallback_to_email:
        return
    create_notification(
        db.session,
        shop_id=notification.shop_id,
        trigger=notification.trigger,
        channel="email",
        dedupe_key=notification.dedupe_key.rsplit(":", 1)[0] + ":email",
        order=order,
        shopify_fulfillment_id=notification.shopify_fulfillment_id,
        domain_event_id=notification.domain_event_id,
        event_at=notification.event_at,
        settings=settings,
    )


PAUSED_REASON = "paused by the shop"
MANUAL_PREFIX = "manual:"


def is_manual(notification: Notification) -> bool:
    """A message a merchant sent by hand (a resend, the tracking link): a pause on the order does not hold it."""
    return notification.resend_of_id is not None or notification.dedupe_key.startswith(MANUAL_PREFIX)


def latest_update(session: Session, order: Order) -> Notification | None:
    """The order's most recent automatic message (any channel), the one "resend the latest update" repeats."""
    return session.execute(
        select(Notification)
        .where(
            Notification.shop_id == order.shop_id,
            Notification.shopify_order_id == order.shopify_order_id,
            Notification.resend_of_id.is_(None),
            ~Notification.dedupe_key.startswith(MANUAL_PREFIX),
        )
        .order_by(Notification.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def send_by_hand(
    session: Session, order: Order, channel: str, token: str, *, original: Notification | None = None
) -> Notification | None:
    """Merchant action on the order page: the latest update again (`original`), or the shopper's tracking link,
    on `channel`. `token` is the page's one-time action token: a double click is one message. Returns the row
    (queued, or suppressed with the reason: no address, no consent, opted out), or None when this very click
    was already handled."""
    trigger = original.trigger if original is not None else "tracking_link"
    source = original.id if original is not None else "link"
    notification_id = create_notification(
        session,
        shop_id=order.shop_id,
        trigger=trigger,
        channel=channel,
        dedupe_key=f"{MANUAL_PREFIX}{order.shopify_order_id}:{source}:{channel}:{token[:40]}",
        order=order,
        shopify_fulfillment_id=original.shopify_fulfillment_id if original is not None else None,
        domain_event_id=original.domain_event_id if original is not None else None,
        resend_of_id=original.id if original is not None else None,
        event_at=original.event_at if original is not None else None,
    )
    if notification_id is None:
        return None
    return session.get(Notification, notification_id)


def pause_messages(session: Session, order: Order, who: str) -> bool:
    """Hold back automatic messages for the order until resumed; False when already paused."""
    return (
        insert_unless_present(
            session,
            OrderMessagePause.__table__,
            {
                "shop_id": order.shop_id,
                "shopify_order_id": order.shopify_order_id,
                "paused_by": who[:255],
                "paused_at": utcnow(),
            },
            ["shop_id", "shopify_order_id"],
        )
        is not None
    )


def resume_messages(session: Session, order: Order) -> bool:
    result = session.execute(
        delete(OrderMessagePause).where(
            OrderMessagePause.shop_id == order.shop_id, OrderMessagePause.shopify_order_id == order.shopify_order_id
        )
    )
    return bool(result.rowcount)


def message_pause(session: Session, order: Order) -> OrderMessagePause | None:
    return session.execute(
        select(OrderMessagePause).where(
            OrderMessagePause.shop_id == order.shop_id, OrderMessagePause.shopify_order_id == order.shopify_order_id
        )
    ).scalar_one_or_none()


def resend(shop_id: int, notification_id: int) -> int | None:
    """Merchant action: send the same message again as a new notification (scoped by shop)."""
    original = db.session.execute(
        select(Notification).where(Notification.id == notification_id, Notification.shop_id == shop_id)
    ).scalar_one_or_none()
    if original is None:
        return None
    order, _ = _order_and_shipment(original)
    if order is None:
        return None
    count = db.session.execute(
        select(Notification.id).where(Notification.shop_id == shop_id, Notification.resend_of_id == original.id)
    ).all()
    new_id = create_notification(
        db.session,
        shop_id=shop_id,
        trigger=original.trigger,
        channel=original.channel,
        dedupe_key=f"{original.dedupe_key}:resend:{len(count) + 1}",
        order=order,
        shopify_fulfillment_id=original.shopify_fulfillment_id,
        domain_event_id=original.domain_event_id,
        resend_of_id=original.id,  # the merchant's own decision: the horizon does not hold it back
        event_at=original.event_at,
    )
    db.session.commit()
    return new_id


@with_app_context
def requeue_pending_notifications() -> int:
    """Sweeper: queued notifications whose job is gone (Redis was down, a worker was killed) and
    deferred ones now due are queued again. One that has used its MAX_ATTEMPTS is marked failed instead and
    never sent again (a message that crashes its job every time would otherwise be re-sent every sweep)."""
    now = utcnow()
    rows = db.session.execute(
        select(Notification.id, Notification.status, Notification.scheduled_for, Notification.attempts)
        .where(
            ((Notification.status == "queued") & (Notification.created_at < now - timedelta(seconds=60)))
            | ((Notification.status == "deferred") & (Notification.scheduled_for <= now))
        )
        .limit(5000)
    ).all()
    db.session.rollback()
    count = 0
    exhausted = []
    for notification_id, status, scheduled_for, attempts in rows:
        rq_id = job_id("notify", notification_id)
        if status == "deferred" and scheduled_for is not None:
            rq_id = job_id("notify", notification_id, "at", int(scheduled_for.timestamp()))
            if job_is_alive(rq_id):
                continue
            rq_id = job_id("notify", notification_id, "due", int(scheduled_for.timestamp()))
        if job_is_alive(rq_id):
            continue
        if (attempts or 0) >= MAX_ATTEMPTS:
            exhausted.append(notification_id)
            continue
        enqueue(send_notification, notification_id, queue="notifications", job_id=rq_id, unique=True)
        count += 1
    if exhausted:
        db.session.execute(
            update(Notification)
            .where(
                Notification.id.in_(exhausted),
                Notification.status.in_(("queued", "deferred")),
                Notification.attempts >= MAX_ATTEMPTS,
            )
            .values(status="failed", reason=f"gave up after {MAX_ATTEMPTS} attempts (the last one never finished)")
        )
        db.session.commit()
    return count


def preference_summary(shop_id: int, channel: str, address: str | None) -> dict[str, Any]:
    preference = get_preference(db.session, shop_id, channel, address)
    if preference is None:
        return {"opted_out": False, "updates_consent": False, "marketing_consent": False}
    return {
        "opted_out": preference.is_opted_out,
        "updates_consent": preference.updates_consent,
        "marketing_consent": preference.marketing_consent,
    }


# --- The outbox: one row per planned message, created once, its send queued after commit ---------------------


def notification_settings(session: Session, shop_id: int) -> NotificationSettings:
    found = session.execute(
        select(NotificationSettings).where(NotificationSettings.shop_id == shop_id)
    ).scalar_one_or_none()
    return found if found is not None else default_notification_settings(shop_id)


def default_notification_settings(shop_id: int) -> NotificationSettings:
    return NotificationSettings(
        shop_id=shop_id,
        quiet_hours_start=21,
        quiet_hours_end=8,
        max_per_order_per_day=4,
        fallback_to_email=True,
        message_horizon_hours=policy.DEFAULT_HORIZON_HOURS,
        marketing_per_day=policy.DEFAULT_MARKETING_PER_DAY,
        marketing_per_week=policy.DEFAULT_MARKETING_PER_WEEK,
    )


def channel_enabled(settings: NotificationSettings, trigger: str, channel: str) -> bool:
    """The merchant's choice for this moment and channel; without one, the default, which switches a channel
    on only when its account is set up (no LINE messages planned, then suppressed, for a shop without LINE)."""
    chosen = (settings.triggers or {}).get(trigger, {}).get(channel)
    if chosen is not None:
        return bool(chosen)
    return bool(DEFAULT_CHANNELS.get(trigger, {}).get(channel, False)) and channel in configured_channels()


def recipient_for(session: Session, order: Order, channel: str) -> str | None:
    if channel == "email":
        return (order.email or "").strip().lower() or None
    if channel == "sms":
        return normalise_phone(order.phone)
    if channel == "line":
        link = line_user_for(session, order.shop_id, order.email, order.shopify_customer_id)
        return link.address if link else None
    return None


def locale_for(session: Session, order: Order) -> str:
    from app.i18n import negotiate_locale

    customer_locale = None
    if order.shopify_customer_id:
        customer_locale = session.execute(
            select(Customer.locale).where(
                Customer.shop_id == order.shop_id, Customer.shopify_customer_id == order.shopify_customer_id
            )
        ).scalar()
    return negotiate_locale(order.customer_locale, customer_locale)


def create_notification(
    session: Session,
    *,
    shop_id: int,
    trigger: str,
    channel: str,
    dedupe_key: str,
    order: Order,
    shopify_fulfillment_id: int | None = None,
    domain_event_id: int | None = None,
    resend_of_id: int | None = None,
    locale: str | None = None,
    contact: tuple[str | None, ContactPreference | None] | None = None,
    event_at: datetime | None = None,
    settings: NotificationSettings | None = None,
) -> int | None:
    """Insert the notification once; queue its send after commit unless policy already says no.

    `locale` is the shopper's language and `contact` the recipient and their preference row on this channel,
    when the caller already knows them (`plan_notifications` reads them once per event, not per channel).
    `event_at` is when the news happened: older than the shop's horizon, the row is written suppressed
    (a merchant's resend excepted). `settings` are the shop's notification settings, when already read."""
    marketing = policy.is_marketing(trigger)
    consent = policy.needs_marketing_consent(trigger)
    if contact is None:
        recipient = recipient_for(session, order, channel)
        refusal = policy.consent_allows(session, shop_id, channel, recipient, consent)
    else:
        recipient, preference = contact
        refusal = policy.consent_refusal(preference, channel, recipient, consent)
    if refusal is None and resend_of_id is None and event_at is not None and not marketing:
        settings = settings if settings is not None else notification_settings(session, shop_id)
        refusal = policy.too_old(event_at, utcnow(), settings)
    values: dict[str, Any] = {
        "shop_id": shop_id,
        "dedupe_key": dedupe_key[:255],
        "trigger": trigger,
        "channel": channel,
        "recipient": recipient,
        "locale": locale or locale_for(session, order),
        "shopify_order_id": order.shopify_order_id,
        "shopify_fulfillment_id": shopify_fulfillment_id,
        "domain_event_id": domain_event_id,
        "status": "suppressed" if refusal else "queued",
        "reason": refusal,
        "attempts": 0,
        "resend_of_id": resend_of_id,
        "event_at": event_at,
        "shopper_key": policy.shopper_key(order.email, order.shopify_customer_id) if marketing else None,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    notification_id = insert_unless_present(session, Notification.__table__, values, ["shop_id", "dedupe_key"])
    if notification_id and not refusal:
        enqueue_after_commit(
            session,
            send_notification,
            notification_id,
            queue="notifications",
            job_id=job_id("notify", notification_id),
            new=True,  # the row was inserted just now, so no job for it exists
        )
    return notification_id
