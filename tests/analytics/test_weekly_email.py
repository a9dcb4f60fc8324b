"""The weekly summary email, through a real SMTP server: sent on Monday from 08:00 in the shop's time zone to
the shops that opted in, once, with last week's figures against the week before, in the merchant's language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.analytics.models import AnalyticsSettings
from app.analytics.rollups import rebuild_days
from app.analytics.weekly import send_weekly_summaries
from app.extensions import db
from app.shopify.models import Shop
from tests.analytics.history import seed_history, utc
from tests.notifications.conftest import mail_app, smtp  # noqa: F401  (fixtures)


def _seed(app, locale="en", opted_in=True):
    with app.app_context():
        shop_id = seed_history()
        rebuild_days(db.session, db.session.get(Shop, shop_id), date(2026, 10, 20), date(2026, 11, 30))
        db.session.add(
            AnalyticsSettings(
                shop_id=shop_id,
                cost_per_contact=Decimal("5"),
                contact_share=Decimal("0.2"),
                is_weekly_summary_on=opted_in,
                weekly_summary_to="owner@stats.test",
                weekly_summary_locale=locale,
            )
        )
        db.session.commit()


def test_monday_morning_brings_last_weeks_figures_once(mail_app, smtp):  # noqa: F811
    _seed(mail_app)
    with mail_app.app_context():
        # Monday 16 Nov, 07:30 in New York: too early
        assert send_weekly_summaries(utc(11, 16, 12, 30)) == 0
        # 08:30: last week is Mon 9 - Sun 15 Nov, against Mon 2 - Sun 8 Nov (the seeded week)
        assert send_weekly_summaries(utc(11, 16, 13, 30)) == 1
        assert send_weekly_summaries(utc(11, 16, 15)) == 0  # once a week
    assert len(smtp.mailbox.messages) == 1
    mail = smtp.mailbox.messages[0]
    assert mail["To"] == "owner@stats.test" and "9 Nov 2026" in str(mail["Subject"])
    body = mail.get_body(("plain",)).get_content()
    assert "- Orders: 0 (was 4, -100.0%)" in body  # no order was placed 9-15 Nov
    assert "- Money saved: $0.00 (was $11.00, -100.0%)" in body
    assert "/app/analytics" in body


def test_thai_and_opted_out(mail_app, smtp):  # noqa: F811
    _seed(mail_app, locale="th")
    with mail_app.app_context():
        assert send_weekly_summaries(utc(11, 9, 14)) == 1  # Monday 9 Nov: the seeded week itself
        settings = db.session.query(AnalyticsSettings).one()
        settings.is_weekly_summary_on = False
        db.session.commit()
        assert send_weekly_summaries(utc(11, 16, 14)) == 0
    body = smtp.mailbox.messages[0].get_body(("plain",)).get_content()
    assert "คำสั่งซื้อ: 4" in body and "พ.ย." in str(smtp.mailbox.messages[0]["Subject"])
