"""From domain events to merchant alerts, and telling the merchant: by email and a signed webhook, at once or in
a daily digest.

An alert is one row per problem event (unique on the event's dedupe key), so a redelivered or re-dispatched event
never alerts twice; delivery marks `emailed_at` / `webhook_sent_at`, and a retry skips what is already done.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, exists, func, or_, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from app.alerts.models import KINDS, AlertSettings, MerchantAlert
from app.db import insert_unless_present, utcnow
from app.events import DomainEvent, record_event
from app.extensions import db
from app.i18n import format_moment, t, zone
from app.jobs import enqueue_after_commit, job_id, with_app_context
from app.notifications.channels import OutgoingMessage, PermanentSendError, TransientSendError, get_channel
from app.orders.models import Fulfillment, Order
from app.outbound import OutboundFailure, post_signed_json
from app.shopify.models import Shop
from app.shopify.tokens import decrypt_token, encrypt_token
from app.validation import email_address, web_url

log = logging.getLogger(__name__)

# The status changes that are a problem with a parcel (app/orders/status.py's PROBLEM_STATES, less "delayed",
# which comes as its own event when the estimate passes).
_PROBLEM_STATES = {
    "exception": "exception",
    "attempted_delivery": "attempted_delivery",
    "returned_to_sender": "returned_to_sender",
}
_RAISED_BY = {
    "shipment.delayed": "delayed",
    "shipment.stalled": "stalled",
    "order.fulfillment_overdue": "overdue",
    # the merchant's own event webhook or Klaviyo stopped taking events and was switched off
    "integrations.destination_disabled": "integration_off",
    # an unhappy survey answer (app/surveys): the shop follows up with the shopper
    "survey.detractor": "detractor",
}
_CLEARED_BY = {
    "shipment.delay_cleared": ("delayed",),
    "shipment.stall_cleared": ("stalled",),
    "order.fulfillment_overdue_cleared": ("overdue",),
    # the merchant marked the parcel lost or sent a replacement: they know, so its problems leave the queue
    "shipment.marked_lost": ("exception", "attempted_delivery", "returned_to_sender", "delayed", "stalled"),
    "shipment.marked_reshipped": ("exception", "attempted_delivery", "returned_to_sender", "delayed", "stalled"),
    "survey.detractor_handled": ("detractor",),
}
# Recorded when the merchant marks an alert handled, so the feature that raised it can follow (a detractor's hold).
ALERT_HANDLED = "alert.handled"


def alert_kind(event: DomainEvent) -> str | None:
    """The alert an event raises, if any."""
    if event.kind == "shipment.status_changed":
        return _PROBLEM_STATES.get((event.data or {}).get("to") or "")
    return _RAISED_BY.get(event.kind)


def cleared_kinds(event: DomainEvent) -> tuple[str, ...]:
    """The open alerts of the event's parcel (or order) that the event shows are over."""
    if event.kind == "shipment.status_changed":
        # The parcel moved on from a problem: that problem is over (a failed attempt that became a return to the
        # sender is one problem now, not two). A stall ends with its own event (`shipment.stall_cleared`). Only a
        # change away from a problem can close anything, so the common change costs no statement here.
        data = event.data or {}
        previous = _PROBLEM_STATES.get(data.get("from") or "")
        return (previous,) if previous and previous != data.get("to") else ()
    return _CLEARED_BY.get(event.kind, ())


def alert_settings(session: Session, shop_id: int) -> AlertSettings:
    found = session.execute(select(AlertSettings).where(AlertSettings.shop_id == shop_id)).scalar_one_or_none()
    return found if found is not None else AlertSettings(shop_id=shop_id, mode="instant", locale="en")


def wants(settings: AlertSettings, kind: str) -> bool:
    return settings.mode != "off" and (settings.kinds is None or kind in settings.kinds)


def can_tell(settings: AlertSettings) -> bool:
    """Whether the shop set up a way to be told at all."""
    return bool(settings.notify_to or settings.webhook_url)


def _detail(session: Session, event: DomainEvent) -> dict[str, Any]:
    if event.shopify_order_id is None:
        data = event.data or {}
        return {"note": " · ".join(str(data[k]) for k in ("destination", "reason") if data.get(k)) or None}
    order = session.execute(
        select(Order.name).where(Order.shop_id == event.shop_id, Order.shopify_order_id == event.shopify_order_id)
    ).scalar()
    detail: dict[str, Any] = {"order_name": order}
    if event.kind == "survey.detractor" and isinstance((event.data or {}).get("answer"), str):
        detail["answer"] = event.data["answer"][:40]  # the score only: the event's email stays out of the alert
    if event.shopify_fulfillment_id:
        parcel = session.execute(
            select(Fulfillment.carrier_name, Fulfillment.tracking_number, Fulfillment.tracking_url).where(
                Fulfillment.shop_id == event.shop_id,
                Fulfillment.shopify_fulfillment_id == event.shopify_fulfillment_id,
            )
        ).first()
        if parcel is not None:
            detail.update(carrier=parcel[0], tracking_number=parcel[1], tracking_url=web_url(parcel[2]))
    return detail


def plan_alert(event: DomainEvent) -> None:
    """Event subscriber: raise an alert for a problem (once per event), or close the alerts an event clears."""
    session = db.session
    kind = alert_kind(event)
    cleared = cleared_kinds(event)
    if cleared:
        scope = (
            MerchantAlert.shopify_fulfillment_id == event.shopify_fulfillment_id
            if event.shopify_fulfillment_id
            else MerchantAlert.shopify_order_id == event.shopify_order_id
        )
        session.execute(
            update(MerchantAlert)
            .where(
                MerchantAlert.shop_id == event.shop_id,
                scope,
                MerchantAlert.kind.in_(cleared),
                MerchantAlert.resolved_at.is_(None),
            )
            .values(resolved_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    if kind is None:
        return
    alert_id = insert_unless_present(
        session,
        MerchantAlert.__table__,
        {
            "shop_id": event.shop_id,
            "dedupe_key": event.dedupe_key[:255],
            "kind": kind,
            "shopify_order_id": event.shopify_order_id,
            "shopify_fulfillment_id": event.shopify_fulfillment_id,
            "domain_event_id": event.id,
            "detail": _detail(session, event),
            "created_at": event.happened_at or utcnow(),  # since when the parcel has had the problem
        },
        ["shop_id", "dedupe_key"],
    )
    settings = alert_settings(session, event.shop_id)
    if alert_id is not None and settings.mode == "instant" and wants(settings, kind) and can_tell(settings):
        enqueue_after_commit(
            session, deliver_alert, alert_id, queue="notifications", job_id=job_id("alert", alert_id), unique=True
        )


def shop_was_told(session: Session, shop_id: int, shopify_fulfillment_id: int) -> bool:
    """Whether an alert about this parcel really reached the merchant (by email or webhook)."""
    return bool(
        session.execute(
            select(
                exists().where(
                    MerchantAlert.shop_id == shop_id,
                    MerchantAlert.shopify_fulfillment_id == shopify_fulfillment_id,
                    or_(MerchantAlert.emailed_at.is_not(None), MerchantAlert.webhook_sent_at.is_not(None)),
                )
            )
        ).scalar()
    )


# --- telling the merchant ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    emailed: bool
    webhook: bool
    error: str | None = None


def webhook_secret(settings: AlertSettings) -> str | None:
    return decrypt_token(settings.webhook_secret_encrypted) if settings.webhook_secret_encrypted else None


def new_webhook_secret(settings: AlertSettings) -> str:
    """A fresh signing secret (shown to the merchant to verify our requests), stored encrypted."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    settings.webhook_secret_encrypted = encrypt_token(secret)
    return secret


def post_webhook(settings: AlertSettings, payload: dict[str, Any]) -> None:
    """POST the signed JSON body; raises TransientSendError (retry) or PermanentSendError (give up)."""
    allow_private = current_app.config["SETTINGS"].extra.get("ALERT_WEBHOOK_ALLOW_PRIVATE") == "1"
    try:
        post_signed_json(
            settings.webhook_url,
            webhook_secret(settings),
            payload,
            user_agent="Aftercart-Alerts/1",
            allow_private=allow_private,
        )
    except OutboundFailure as failure:
        raise (PermanentSendError if failure.permanent else TransientSendError)(failure.reason) from failure


def _alert_line(alert: MerchantAlert, locale: str) -> str:
    detail = alert.detail or {}
    parts = [t(locale, f"alerts.kind.{alert.kind}"), detail.get("answer") or "", detail.get("order_name") or ""]
    if detail.get("carrier") or detail.get("tracking_number"):
        parts.append(" ".join(filter(None, (detail.get("carrier"), detail.get("tracking_number")))))
    parts.append(detail.get("note") or "")
    return " · ".join(part for part in parts if part)


def _alert_json(alert: MerchantAlert, shop: Shop) -> dict[str, Any]:
    detail = alert.detail or {}
    return {
        "id": alert.id,
        "kind": alert.kind,
        "shop": shop.domain,
        "order": detail.get("order_name"),
        "carrier": detail.get("carrier"),
        "tracking_number": detail.get("tracking_number"),
        "tracking_url": detail.get("tracking_url"),
        "answer": detail.get("answer"),
        "created_at": alert.created_at.isoformat(),
        "admin_url": _admin_url(shop),
    }


def _admin_url(shop: Shop) -> str:
    return f"https://{shop.domain}/admin/apps/{current_app.config['SETTINGS'].shopify_api_key}/app/attention"


def _email(shop: Shop, settings: AlertSettings, key: str, subject: str, lines: list[str]) -> OutgoingMessage:
    locale = settings.locale or "en"
    text = "\n".join([t(locale, "alerts.email.intro"), "", *(f"- {line}" for line in lines), "", _admin_url(shop)])
    return OutgoingMessage(
        notification_id=0,
        shop_domain=shop.domain,
        channel="email",
        recipient=settings.notify_to or "",
        subject=subject,
        text=text,
        html=None,
        sender_name="Aftercart",
        reply_to=None,
        idempotency_key=f"aftercart-{key}",  # the Message-ID: a retried alert email is the same message
        locale=locale,
    )


def _send_email(message: OutgoingMessage) -> None:
    channel = get_channel("email", current_app.config["SETTINGS"])
    if channel is None:
        raise PermanentSendError("no email server is configured")
    if not email_address(message.recipient):
        raise PermanentSendError("the alert address is not a valid email address")
    channel.send(message)


@with_app_context
def deliver_alert(alert_id: int) -> str:
    """Job: tell the merchant about one alert, by email and webhook; each at most once (marked when done).

    Raises TransientSendError for RQ to retry; a permanent failure is kept on the row in one line."""
    alert = db.session.execute(
        select(MerchantAlert).where(MerchantAlert.id == alert_id).with_for_update()
    ).scalar_one_or_none()
    if alert is None or alert.handled_at is not None or alert.resolved_at is not None:
        db.session.rollback()
        return "nothing to tell"
    shop = db.session.get(Shop, alert.shop_id)
    settings = alert_settings(db.session, alert.shop_id)
    locale = settings.locale or "en"
    try:
        if settings.notify_to and alert.emailed_at is None:
            subject = t(locale, "alerts.email.subject_one", what=_alert_line(alert, locale))
            _send_email(_email(shop, settings, f"alert-{alert.id}", subject, [_alert_line(alert, locale)]))
            alert.emailed_at = utcnow()
            db.session.commit()  # told: a webhook failure below must not send the email again
            alert = db.session.execute(
                select(MerchantAlert).where(MerchantAlert.id == alert_id).with_for_update()
            ).scalar_one()
        if settings.webhook_url and alert.webhook_sent_at is None:
            post_webhook(settings, {"type": "alert", "alerts": [_alert_json(alert, shop)]})
            alert.webhook_sent_at = utcnow()
    except PermanentSendError as exc:
        alert.delivery_error = str(exc)[:255]
    db.session.commit()
    return "told"


@with_app_context
def send_digests(now: datetime | None = None) -> int:
    """Periodic: one digest a day per shop that asked for digests, after 08:00 in the shop's time zone."""
    now = now or utcnow()
    sent = 0
    rows = db.session.execute(select(AlertSettings, Shop).join(Shop, Shop.id == AlertSettings.shop_id)).all()
    for settings, shop in rows:
        if settings.mode != "digest" or not can_tell(settings):
            continue
        local = now.astimezone(zone(shop.iana_timezone))
        if local.hour < 8 or (settings.last_digest_at and now - settings.last_digest_at < timedelta(hours=20)):
            continue
        if send_digest(shop, settings, now):
            sent += 1
    return sent


def send_digest(shop: Shop, settings: AlertSettings, now: datetime) -> bool:
    """The day's open, untold alerts of one shop in one email and one webhook call; marks them told."""
    alerts = (
        db.session.execute(
            select(MerchantAlert)
            .where(
                MerchantAlert.shop_id == shop.id,
                MerchantAlert.emailed_at.is_(None),
                MerchantAlert.webhook_sent_at.is_(None),
                MerchantAlert.handled_at.is_(None),
                MerchantAlert.resolved_at.is_(None),
            )
            .order_by(MerchantAlert.created_at)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    alerts = [alert for alert in alerts if wants(settings, alert.kind)]
    settings.last_digest_at = now
    if not alerts:
        db.session.commit()
        return False
    locale = settings.locale or "en"
    tz = zone(shop.iana_timezone)
    lines = [f"{_alert_line(a, locale)} ({format_moment(a.created_at, locale, tz)})" for a in alerts]
    try:
        if settings.notify_to:
            subject = t(locale, "alerts.email.subject_digest", count=len(alerts))
            _send_email(_email(shop, settings, f"digest-{shop.id}-{now:%Y%m%d}", subject, lines))
            for alert in alerts:
                alert.emailed_at = now
        if settings.webhook_url:
            post_webhook(settings, {"type": "digest", "alerts": [_alert_json(a, shop) for a in alerts]})
            for alert in alerts:
                alert.webhook_sent_at = now
    except (PermanentSendError, TransientSendError) as exc:
        for alert in alerts:
            alert.delivery_error = str(exc)[:255]
    db.session.commit()
    return True


def send_test(shop: Shop, settings: AlertSettings) -> Delivery:
    """ "Send me a test": one made-up alert by each way the shop set up, now; says what worked."""
    locale = settings.locale or "en"
    emailed = webhook = False
    errors = []
    sample = t(locale, "alerts.test.line")
    if settings.notify_to:
        try:
            subject = t(locale, "alerts.email.subject_test")
            _send_email(_email(shop, settings, f"test-{shop.id}-{secrets.token_hex(6)}", subject, [sample]))
            emailed = True
        except (PermanentSendError, TransientSendError) as exc:
            errors.append(str(exc))
    if settings.webhook_url:
        try:
            post_webhook(settings, {"type": "test", "alerts": [], "shop": shop.domain})
            webhook = True
        except (PermanentSendError, TransientSendError) as exc:
            errors.append(str(exc))
    return Delivery(emailed=emailed, webhook=webhook, error="; ".join(errors)[:255] or None)


QUEUE_PAGE_SIZE = 50


@dataclass(frozen=True)
class QueuePage:
    alerts: list[MerchantAlert]
    total: int  # open alerts of this kind in all, not only on this page
    next_cursor: str | None  # "<created iso>|<id>" of the last row, when more follow


def open_alerts(
    session: Session, shop_id: int, kind: str | None = None, after: str | None = None, limit: int = QUEUE_PAGE_SIZE
) -> QueuePage:
    """The attention queue: open alerts, oldest first (the longest-waiting parcel is the most urgent), a page at
    a time after `after` (keyset: the last page costs what the first does)."""
    condition = and_(
        MerchantAlert.shop_id == shop_id, MerchantAlert.resolved_at.is_(None), MerchantAlert.handled_at.is_(None)
    )
    if kind in KINDS:
        condition = and_(condition, MerchantAlert.kind == kind)
    query = select(MerchantAlert).where(condition)
    start = _queue_cursor(after)
    if start is not None:
        query = query.where(tuple_(MerchantAlert.created_at, MerchantAlert.id) > tuple_(*start))
    rows = list(
        session.execute(query.order_by(MerchantAlert.created_at, MerchantAlert.id).limit(limit + 1)).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    total = session.execute(select(func.count()).select_from(MerchantAlert).where(condition)).scalar_one()
    last = rows[-1] if more and rows else None
    return QueuePage(rows, total, f"{_micros(last.created_at)}.{last.id}" if last is not None else None)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment.replace(tzinfo=moment.tzinfo or UTC) - _EPOCH) // timedelta(microseconds=1)


def _queue_cursor(cursor: str | None) -> tuple[BindParameter, BindParameter] | None:
    """The bounds of "<created, in microseconds since 1970>.<id>"; None (the first page) for anything else."""
    micros, _, row_id = (cursor or "").partition(".")
    if not (micros.isdigit() and row_id.isdigit() and len(micros) <= 16 and len(row_id) <= 18):
        return None
    created = _EPOCH + timedelta(microseconds=int(micros))
    return bindparam(None, created, type_=MerchantAlert.created_at.type), bindparam(None, int(row_id))


def mark_handled(session: Session, shop_id: int, alert_id: int, who: str) -> MerchantAlert | None:
    """The merchant dealt with it: off the queue, with who and when kept. None when not the shop's alert."""
    alert = session.execute(
        select(MerchantAlert).where(MerchantAlert.id == alert_id, MerchantAlert.shop_id == shop_id)
    ).scalar_one_or_none()
    if alert is not None and alert.handled_at is None:
        alert.handled_at = utcnow()
        alert.handled_by = who[:255]
        record_event(
            session,
            shop_id,
            ALERT_HANDLED,
            f"alert:{alert.id}:handled",
            shopify_order_id=alert.shopify_order_id,
            shopify_fulfillment_id=alert.shopify_fulfillment_id,
            data={"alert_id": alert.id, "kind": alert.kind, "dedupe_key": alert.dedupe_key, "handled_by": who[:255]},
        )
    return alert
