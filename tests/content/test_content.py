"""Product content is released by the parcel's state: getting started when it is out for delivery or delivered,
care tips N days after delivery (a controllable clock), matched per product, variant, product type or collection;
each piece once per order, as one product_content message, in the shopper's language, never to an opted-out
address; and the delivered tracking page shows it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.content.models import ContentRelease
from app.content.rules import EntryRule, ItemFacts, due_releases, matches
from app.content.services import release_due_content
from app.db import utcnow
from app.extensions import db
from app.notifications.models import Notification
from app.notifications.preferences import record_opt_out
from app.orders.models import Fulfillment, Order
from app.shopify.shops import shop_id_for_domain
from app.storefront.links import make_track_token
from tests.conftest import OTHER_SHOP
from tests.content.conftest import (
    LINE_ITEMS,
    SHOPPER,
    TEE,
    TEE_VARIANT,
    TOTE,
    TOTES,
    add_entry,
    scan,
    ship,
    subjects,
)
from tests.tracking.test_timeline import order_payload

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _content_notifications(app) -> list[Notification]:
    with app.app_context():
        rows = (
            db.session.execute(
                select(Notification).where(Notification.trigger == "product_content").order_by(Notification.id)
            )
            .scalars()
            .all()
        )
        db.session.expunge_all()
        return rows


def _releases(app) -> list[ContentRelease]:
    with app.app_context():
        rows = db.session.execute(select(ContentRelease).order_by(ContentRelease.id)).scalars().all()
        db.session.expunge_all()
        return rows


def test_scopes_match_product_variant_type_and_collection():
    tee = ItemFacts(TEE, TEE_VARIANT, "Shirts", frozenset())
    tote = ItemFacts(TOTE, 8002, "Bags", frozenset({TOTES}))
    assert matches(EntryRule(1, "care", "product", str(TEE)), tee)
    assert not matches(EntryRule(1, "care", "product", str(TEE)), tote)
    assert matches(EntryRule(2, "care", "variant", str(TEE_VARIANT)), tee)
    assert not matches(EntryRule(2, "care", "variant", str(TEE)), tee)  # a product id is not a variant id
    assert matches(EntryRule(3, "care", "product_type", "  shirts "), tee)
    assert not matches(EntryRule(3, "care", "product_type", ""), ItemFacts(TEE, None, None))
    assert matches(EntryRule(4, "care", "collection", str(TOTES)), tote)
    assert not matches(EntryRule(4, "care", "collection", str(TOTES)), tee)
    assert not matches(EntryRule(5, "care", "collection", "not-a-number"), tote)


def test_timing_getting_started_on_arrival_care_days_after_delivery():
    now = utcnow()
    rules = [EntryRule(1, "getting_started", "product", str(TEE)), EntryRule(2, "care", "product", str(TEE), 5)]
    items = [ItemFacts(TEE)]
    assert due_releases(rules, items, "in_transit", now) == []
    assert due_releases(rules, items, "out_for_delivery", now) == [(rules[0], now)]
    assert due_releases(rules, items, "delivered", now) == [(rules[0], now), (rules[1], now + timedelta(days=5))]


def test_getting_started_when_out_for_delivery_care_tips_days_later_once_each(
    content_app, shop_id, deliver, work, smtp
):
    add_entry(content_app, shop_id, "getting_started", "product", TEE, "Wear your tee")
    add_entry(content_app, shop_id, "getting_started", "collection", TOTES, "Your tote")
    add_entry(content_app, shop_id, "care", "product_type", "shirts", "Caring for shirts", delay_days=5)
    add_entry(content_app, shop_id, "getting_started", "product", 9999, "Something not in the order")
    add_entry(content_app, shop_id, "getting_started", "variant", TEE_VARIANT, "Your size", is_active=False)
    ship(deliver)
    work()
    assert _releases(content_app) == []  # in transit: nothing yet

    scan(deliver, 501, "out_for_delivery", 3)
    work()
    assert sorted(s for s in subjects(smtp) if "tee" in s.lower() or "tote" in s.lower()) == [
        "Wear your tee",
        "Your tote",
    ]

    scan(deliver, 501, "delivered", 1)
    scan(deliver, 501, "delivered", 1)  # the same scan again
    work()
    releases = _releases(content_app)
    assert [r.status for r in releases] == ["released", "released", "scheduled"]
    care = releases[-1]
    with content_app.app_context():
        delivered_at = db.session.execute(select(Fulfillment.delivered_at)).scalar()
    assert abs((care.due_at - delivered_at) - timedelta(days=5)) < timedelta(minutes=1)

    with content_app.app_context():
        assert release_due_content(utcnow() + timedelta(days=4)) == 0  # not yet
        assert release_due_content(utcnow() + timedelta(days=5, hours=1)) == 1
        assert release_due_content(utcnow() + timedelta(days=6)) == 0  # never twice
    work()
    sent = _content_notifications(content_app)
    assert [(n.status, n.channel) for n in sent] == [("sent", "email")] * 3, [(n.status, n.reason) for n in sent]
    assert len({n.dedupe_key for n in sent}) == 3
    assert "Caring for shirts" in subjects(smtp)
    body = next(m for m in smtp.mailbox.messages if m["Subject"] == "Caring for shirts").get_body(("plain",))
    assert "Caring for shirts: the text." in body.get_content()
    assert "Something not in the order" not in subjects(smtp) and "Your size" not in subjects(smtp)


def test_one_message_per_order_and_piece_of_content_across_parcels(content_app, shop_id, deliver, work, smtp):
    add_entry(content_app, shop_id, "getting_started", "product", TEE, "Wear your tee")
    ship(deliver, fid=501, items=((11, 1),))
    ship(deliver, fid=502, items=((11, 1),), order=False)
    scan(deliver, 501, "delivered", 2)
    scan(deliver, 502, "out_for_delivery", 1)
    scan(deliver, 502, "delivered", 0.5)
    work()
    assert len(_releases(content_app)) == 1
    assert [n.status for n in _content_notifications(content_app)] == ["sent"]
    assert subjects(smtp).count("Wear your tee") == 1


def test_the_shoppers_language_and_english_when_no_thai_was_written(content_app, shop_id, deliver, work, smtp):
    add_entry(content_app, shop_id, "getting_started", "product", TEE, "Wear your tee", "วิธีสวมเสื้อยืด")
    add_entry(content_app, shop_id, "getting_started", "product", TOTE, "Your tote")
    ship(deliver, locale="th")
    scan(deliver, 501, "delivered", 1)
    work()
    assert "วิธีสวมเสื้อยืด" in subjects(smtp) and "Your tote" in subjects(smtp)
    thai = next(m for m in smtp.mailbox.messages if m["Subject"] == "วิธีสวมเสื้อยืด").get_body(("plain",))
    assert "วิธีสวมเสื้อยืด: ข้อความ" in thai.get_content()


def test_an_opted_out_shopper_gets_no_content_message(content_app, shop_id, deliver, work, smtp):
    add_entry(content_app, shop_id, "getting_started", "product", TEE, "Wear your tee")
    with content_app.app_context():
        record_opt_out(db.session, shop_id, "email", SHOPPER, "test")
        db.session.commit()
    ship(deliver)
    scan(deliver, 501, "delivered", 1)
    work()
    (message,) = _content_notifications(content_app)
    assert message.status == "suppressed" and message.reason == "email opted out"
    assert "Wear your tee" not in subjects(smtp)
    assert len(_releases(content_app)) == 1  # still released: the tracking page shows it


def test_no_marketing_consent_is_needed_and_no_cards_ride_along(content_app, shop_id, deliver, work, smtp):
    add_entry(
        content_app, shop_id, "getting_started", "product", TEE, "Wear your tee", video_url="https://videos.example/tee"
    )
    ship(deliver)
    scan(deliver, 501, "delivered", 1)
    work()
    (message,) = _content_notifications(content_app)
    assert message.status == "sent"
    mail = next(m for m in smtp.mailbox.messages if m["Subject"] == "Wear your tee")
    assert "https://videos.example/tee" in mail.get_body(("plain",)).get_content()


def test_content_shares_the_shoppers_marketing_cap_and_quiet_hours(content_app, shop_id, deliver, work, smtp):
    """One policy for every message (issue 18, item 3): content counts toward the shopper's cap across channels
    (at most one a day here) and waits out the night, each held message kept with its reason."""
    from app.notifications.models import NotificationSettings

    with content_app.app_context():
        settings = db.session.execute(
            select(NotificationSettings).where(NotificationSettings.shop_id == shop_id)
        ).scalar_one()
        settings.marketing_per_day, settings.marketing_per_week = 1, 3
        db.session.commit()
    add_entry(content_app, shop_id, "getting_started", "product", TEE, "Wear your tee")
    add_entry(content_app, shop_id, "getting_started", "collection", TOTES, "Your tote")
    ship(deliver)
    scan(deliver, 501, "delivered", 1)
    work()
    first, second = _content_notifications(content_app)
    assert (first.status, second.status) == ("sent", "deferred"), [(n.status, n.reason) for n in (first, second)]
    assert second.reason and second.scheduled_for > utcnow()
    assert len([s for s in subjects(smtp) if s in ("Wear your tee", "Your tote")]) == 1

    with content_app.app_context():
        settings = db.session.execute(
            select(NotificationSettings).where(NotificationSettings.shop_id == shop_id)
        ).scalar_one()
        hour = datetime.now(ZoneInfo("Asia/Bangkok")).hour  # the shop's night is made to be now
        settings.marketing_per_day = 10
        settings.quiet_hours_start, settings.quiet_hours_end = hour, (hour + 2) % 24
        db.session.commit()
    add_entry(content_app, shop_id, "getting_started", "product_type", "shirts", "Shirts 101")
    ship(deliver, fid=502, items=((11, 1),), order=False)
    scan(deliver, 502, "delivered", 1)
    work()
    held = [n for n in _content_notifications(content_app) if n.status == "deferred" and n.reason == "quiet hours"]
    assert held, [(n.status, n.reason) for n in _content_notifications(content_app)]


def test_the_delivered_tracking_page_shows_the_released_content(content_app, shop_id, deliver, work):
    add_entry(
        content_app,
        shop_id,
        "getting_started",
        "product",
        TEE,
        "Wear your tee",
        "วิธีสวมเสื้อยืด",
        video_url="https://videos.example/tee",
    )
    add_entry(content_app, shop_id, "care", "product", TEE, "Wash it cold", delay_days=7)
    ship(deliver)
    scan(deliver, 501, "out_for_delivery", 2)
    work()
    client = content_app.test_client()
    with content_app.app_context():
        path = f"/l/track/{make_track_token(shop_id, db.session.execute(select(Order.id)).scalar())}"
    assert "#1001" in client.get(path).get_data(as_text=True)
    assert "Wear your tee" not in client.get(path).get_data(as_text=True)  # not delivered yet
    scan(deliver, 501, "delivered", 1)
    work()
    page = client.get(path + "?locale=en").get_data(as_text=True)
    assert "Wear your tee" in page and 'href="https://videos.example/tee"' in page
    assert "Wash it cold" not in page  # the care tip is not due yet
    thai = client.get(path + "?locale=th").get_data(as_text=True)
    assert "วิธีสวมเสื้อยืด" in thai
    with content_app.app_context():
        release_due_content(utcnow() + timedelta(days=8))
    assert "Wash it cold" in client.get(path + "?locale=en").get_data(as_text=True)


def test_the_due_releases_are_found_by_the_status_and_due_time_index(content_app, shop_id):
    from sqlalchemy import text

    with content_app.app_context():
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = db.session.execute(
            text(
                "EXPLAIN SELECT id FROM content_releases WHERE status = 'scheduled' AND due_at <= now() "
                "ORDER BY due_at LIMIT 500"
            )
        ).scalars()
        assert "ix_content_releases_status_due_at" in "\n".join(plan)
        db.session.rollback()


def test_questions_and_answers_are_due_once_the_parcel_ships():
    now = utcnow()
    faq = EntryRule(7, "faq", "product", str(TEE))
    items = [ItemFacts(TEE)]
    assert due_releases([faq], items, "label_created", now) == []
    for state in ("shipped", "in_transit", "out_for_delivery", "delivered"):
        assert due_releases([faq], items, state, now) == [(faq, now)]
    assert due_releases([faq], [ItemFacts(TOTE)], "in_transit", now) == []


def test_questions_and_answers_show_on_the_tracking_page_from_shipping_and_are_never_sent(
    content_app, shop_id, deliver, work, smtp
):
    add_entry(content_app, shop_id, "faq", "product", TEE, "Will it <b>shrink</b>?", "จะหดไหม")
    add_entry(content_app, shop_id, "faq", "product", 9999, "A question about something else")
    with content_app.app_context():
        other = shop_id_for_domain(db.session, OTHER_SHOP)
        db.session.commit()
    add_entry(content_app, other, "faq", "product", TEE, "Another shop's question")
    deliver("orders/create", order_payload(utcnow() - timedelta(days=1), line_items=LINE_ITEMS))
    work()
    client = content_app.test_client()
    with content_app.app_context():
        path = f"/l/track/{make_track_token(shop_id, db.session.execute(select(Order.id)).scalar())}"
    assert "shrink" not in client.get(path).get_data(as_text=True)  # not shipped yet

    ship(deliver, order=False)
    work()
    page = client.get(path + "?locale=en").get_data(as_text=True)
    assert "<summary>Will it &lt;b&gt;shrink&lt;/b&gt;?</summary>" in page
    assert "Will it &lt;b&gt;shrink&lt;/b&gt;?: the text." in page
    assert "A question about something else" not in page and "Another shop's question" not in page
    assert "จะหดไหม" in client.get(path + "?locale=th").get_data(as_text=True)
    scan(deliver, 501, "delivered", 1)
    work()
    assert "<summary>Will it &lt;b&gt;shrink&lt;/b&gt;?</summary>" in client.get(path).get_data(as_text=True)
    assert [r.status for r in _releases(content_app)] == ["released"]
    assert _content_notifications(content_app) == []  # a question and answer is never a message
    assert not any("shrink" in s for s in subjects(smtp))
