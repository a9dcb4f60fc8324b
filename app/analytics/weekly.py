"""The weekly summary email (opt-in): last week's headline figures (Monday to Sunday, the shop's days) against the
week before, sent on Monday morning in the shop's time zone, read from the rollups like the dashboard."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from app.analytics import queries
from app.analytics.models import AnalyticsSettings
from app.analytics.report import Formatter
from app.db import utcnow
from app.extensions import db
from app.i18n import t, zone
from app.jobs import with_app_context
from app.notifications.channels import OutgoingMessage, PermanentSendError, TransientSendError, get_channel
from app.shopify.models import Shop
from app.validation import email_address

log = logging.getLogger(__name__)

# (figure, how it is shown): the lines of the email, in this order
HEADLINES = (
    ("orders", "num"),
    ("tracking_lookups", "num"),
    ("contacts_avoided", "num1"),
    ("money_saved", "money"),
    ("on_time_rate", "pct"),
    ("p50_days", "days"),
    ("estimate_hit_rate", "pct"),
    ("return_rate", "pct"),
    ("nps", "num"),
    ("rec_revenue", "money"),
    ("flow_revenue", "money"),
)


def _show(f: Formatter, value, kind: str) -> str:
    if kind == "money":
        return f.money(value)
    if kind == "pct":
        return f.pct(value)
    if kind == "days":
        return f.days(value)
    return f.num(value, 1 if kind == "num1" else 0)


def summary_message(shop: Shop, settings: AnalyticsSettings, now: datetime) -> OutgoingMessage:
    """Last week's figures against the week before, as one plain-text email in the merchant's language."""
    locale = settings.weekly_summary_locale or "en"
    today = now.astimezone(zone(shop.iana_timezone)).date()
    last = today - timedelta(days=today.weekday() + 1)  # last Sunday
    first = last - timedelta(days=6)
    share, cost = Decimal(settings.contact_share), Decimal(settings.cost_per_contact)
    current = queries.headline(queries.read_period(db.session, shop.id, first, last), share, cost)
    before = queries.headline(
        queries.read_period(db.session, shop.id, first - timedelta(days=7), first - timedelta(days=1)), share, cost
    )
    f = Formatter(locale, shop.currency or "USD")
    lines = [
        t(
            locale,
            "analytics.weekly.line",
            label=t(locale, f"analytics.figure.{key}"),
            value=_show(f, current[key], kind),
            previous=_show(f, before[key], kind),
            change=f.change(current[key], before[key]),
        )
        for key, kind in HEADLINES
    ]
    url = f"https://{shop.domain}/admin/apps/{current_app.config['SETTINGS'].shopify_api_key}/app/analytics"
    text = "\n".join(
        [t(locale, "analytics.weekly.intro", shop=shop.name or shop.domain), "", *(f"- {x}" for x in lines), "", url]
    )
    return OutgoingMessage(
        notification_id=0,
        shop_domain=shop.domain,
        channel="email",
        recipient=settings.weekly_summary_to or "",
        subject=t(locale, "analytics.weekly.subject", first=f.day(first, True), last=f.day(last, True)),
        text=text,
        html=None,
        sender_name="Aftercart",
        reply_to=None,
        idempotency_key=f"aftercart-weekly-{shop.id}-{first}",  # the Message-ID: a retried send is the same email
        locale=locale,
    )


@with_app_context
def send_weekly_summaries(now: datetime | None = None) -> int:
    """Periodic (hourly): on Monday from 08:00 in the shop's time zone, each shop that opted in gets last week's
    summary once (the row is locked, and marked with the day in the same transaction as the send). A transient
    failure leaves it unmarked for the next hour; a permanent one is logged and marked, so it is not retried."""
    now = now or utcnow()
    sent = 0
    channel = get_channel("email", current_app.config["SETTINGS"])
    ids = (
        db.session.execute(select(AnalyticsSettings.id).where(AnalyticsSettings.is_weekly_summary_on.is_(True)))
        .scalars()
        .all()
    )
    db.session.rollback()
    for settings_id in ids:
        settings = db.session.execute(
            select(AnalyticsSettings).where(AnalyticsSettings.id == settings_id).with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        shop = db.session.get(Shop, settings.shop_id) if settings else None
        if settings is None or shop is None:
            db.session.rollback()
            continue
        local = now.astimezone(zone(shop.iana_timezone))
        if local.weekday() != 0 or local.hour < 8 or settings.last_weekly_summary_on == local.date():
            db.session.rollback()
            continue
        try:
            if channel is None or not email_address(settings.weekly_summary_to):
                raise PermanentSendError("no email server or no valid address for the weekly summary")
            channel.send(summary_message(shop, settings, now))
            sent += 1
        except TransientSendError:
            log.warning("weekly summary for shop %s not sent; next hour", shop.id)
            db.session.rollback()
            continue
        except PermanentSendError as exc:
            log.warning("weekly summary for shop %s: %s", shop.id, exc)
        settings.last_weekly_summary_on = local.date()
        db.session.commit()
    return sent
