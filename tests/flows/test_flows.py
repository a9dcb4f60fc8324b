"""Each flow end to end on the real webhook path with the scheduler's clock in the test's hands: enrolled on the
real event, each step sent when its wait from that event has passed (never before), through the notifications
pipeline into the delivery log and the shopper's mailbox, and `flow.step_sent` recorded; the exits (the next
order, a return opened, a delivery problem, an unhappy survey answer, an opt-out); marketing consent per channel;
the one frequency policy (the per-shopper marketing cap across channels holds marketing and never an update;
quiet hours hold marketing email too); replenishment timed from the shop's own repeat purchases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.events import DomainEvent, record_event
from app.extensions import db
from app.flows.models import ProductRepeatInterval
from app.notifications.models import ContactPreference, Notification
from app.notifications.preferences import record_opt_out
from app.notifications.services import create_notification, send_notification
from app.orders.models import Order
from tests.flows.conftest import (
    PRODUCT,
    SHOPPER,
    enrolments,
    flow_messages,
    mails_to,
    place,
    run_scheduler,
    set_limits,
    ship_and_deliver,
    switch_on,
)
from tests.tracking.test_timeline import ORDER_ID

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SECOND_ORDER = ORDER_ID + 1
SUNGLASSES = [{"id": 11, "product_id": PRODUCT, "title": "Aviator sunglasses", "quantity": 1, "price": "990.00"}]


def _events(app, kind: str) -> list[DomainEvent]:
    with app.app_context():
        rows = db.session.execute(select(DomainEvent).where(DomainEvent.kind == kind)).scalars().all()
        db.session.expunge_all()
        return rows


def test_post_delivery_care_sends_each_step_after_its_wait_from_the_delivery(alert_app, shop_id, deliver, work, smtp):
    switch_on(alert_app, shop_id, "post_delivery", waits=(3, 10))
    place(deliver)
    work()
    delivered = utcnow() - timedelta(hours=1)
    ship_and_deliver(deliver, delivered)
    work()
    [enrolment] = enrolments(alert_app)
    assert enrolment.status == "active" and enrolment.shopify_order_id == ORDER_ID
    assert abs(enrolment.next_due_at - (delivered + timedelta(days=3))) < timedelta(seconds=2)

    assert run_scheduler(alert_app, work, delivered + timedelta(days=2, hours=23)) == 0
    assert flow_messages(alert_app) == [] and mails_to(smtp, "step") == []

    assert run_scheduler(alert_app, work, delivered + timedelta(days=3, minutes=1)) == 1
    [first] = flow_messages(alert_app)
    assert (first.status, first.channel, first.recipient, first.subject) == (
        "sent",
        "email",
        SHOPPER,
        "post_delivery step 1",
    )
    [mail] = mails_to(smtp, "post_delivery step 1")
    assert "step 1." in mail.get_body(("plain",)).get_content()
    [event] = _events(alert_app, "flow.step_sent")
    assert (event.data["flow"], event.data["step"], event.data["channel"]) == ("post_delivery", 1, "email")

    assert run_scheduler(alert_app, work, delivered + timedelta(days=3, hours=2)) == 0  # step 2 waits 10 days
    assert run_scheduler(alert_app, work, delivered + timedelta(days=10, minutes=1)) == 1
    assert [m.subject for m in flow_messages(alert_app)] == ["post_delivery step 1", "post_delivery step 2"]
    [enrolment] = enrolments(alert_app)
    assert (enrolment.status, enrolment.steps_sent, enrolment.next_due_at) == ("completed", 2, None)
    assert run_scheduler(alert_app, work, delivered + timedelta(days=40)) == 0  # nothing twice


def test_first_time_buyers_are_thanked_and_repeat_buyers_are_not(alert_app, shop_id, deliver, work, smtp):
    switch_on(alert_app, shop_id, "first_order_thanks", waits=(1,))
    placed = utcnow() - timedelta(hours=3)
    place(deliver, placed)
    work()
    [enrolment] = enrolments(alert_app)
    assert run_scheduler(alert_app, work, placed + timedelta(days=1, minutes=1)) == 1
    assert len(mails_to(smtp, "first_order_thanks step 1")) == 1
    place(deliver, placed + timedelta(hours=1), id=SECOND_ORDER, name="#1002", order_number=1002)
    work()
    assert len(enrolments(alert_app)) == 1  # the second order is not a first one


def test_win_back_after_days_without_an_order_and_the_next_order_starts_again(alert_app, shop_id, deliver, work, smtp):
    switch_on(alert_app, shop_id, "winback", waits=(60,))
    placed = utcnow() - timedelta(hours=5)
    place(deliver, placed)
    work()
    [first] = enrolments(alert_app)
    assert first.status == "active" and abs(first.next_due_at - (placed + timedelta(days=60))) < timedelta(seconds=2)
    # A new order before the 60 days: the first wait ends there, and the new order starts its own.
    place(deliver, placed + timedelta(hours=1), id=SECOND_ORDER, name="#1002", order_number=1002)
    work()
    first, second = enrolments(alert_app)
    assert (first.status, first.exit_reason) == ("exited", "flows.exit.new_order")
    assert second.status == "active" and second.shopify_order_id == SECOND_ORDER
    assert run_scheduler(alert_app, work, placed + timedelta(days=61, hours=2)) == 1
    assert len(mails_to(smtp, "winback step 1")) == 1


def test_replenishment_is_timed_from_the_shops_own_repeat_purchases(alert_app, shop_id, deliver, work, smtp):
    switch_on(alert_app, shop_id, "replenishment", waits=(30,))
    now = utcnow()
    # Three shoppers bought the sunglasses twice, 20 days apart: the shop's repeat interval is 20 days.
    for n in range(3):
        first_id, second_id = 900 + n * 2, 901 + n * 2
        email = f"repeat{n}@example.com"
        customer = {"id": 5000 + n, "email": email, "first_name": "R"}
        for order_id, days_ago in ((first_id, 45), (second_id, 25)):
            place(
                deliver,
                now - timedelta(days=days_ago),
                id=order_id,
                name=f"#{order_id}",
                order_number=order_id,
                email=email,
                customer=customer,
                line_items=SUNGLASSES,
            )
            work()
    with alert_app.app_context():
        learned = db.session.execute(
            select(ProductRepeatInterval).where(ProductRepeatInterval.product_id == PRODUCT)
        ).scalar_one()
        assert learned.median_days == 20.0 and len(learned.samples) == 3
    # Our shopper's order arrives two days after it was placed: restock 20 - 2 - 3 (lead) = 15 days after delivery.
    placed = now - timedelta(days=2, hours=1)
    place(deliver, placed, line_items=SUNGLASSES)
    work()
    delivered = now - timedelta(hours=1)
    ship_and_deliver(deliver, delivered)
    work()
    [enrolment] = [e for e in enrolments(alert_app) if e.shopify_order_id == ORDER_ID]
    assert enrolment.first_wait_days == pytest.approx(15.0, abs=0.1)
    assert run_scheduler(alert_app, work, delivered + timedelta(days=14)) == 0
    assert run_scheduler(alert_app, work, delivered + timedelta(days=15, hours=1)) == 1
    assert len(mails_to(smtp, "replenishment step 1")) == 1


def _problem(kind: str):
    def open_return(app, deliver):
        with app.app_context():
            record_event(
                db.session, _shop(), "return.status_changed", "return:1:step:1", shopify_order_id=ORDER_ID,
                data={"return_id": 1, "to": "requested"},
            )  # fmt: skip
            db.session.commit()

    def parcel_problem(app, deliver):
        from tests.tracking.test_timeline import event_payload

        deliver("fulfillment_events/create", event_payload(5099, 501, "failure", utcnow() - timedelta(minutes=5)))

    def detractor(app, deliver):
        with app.app_context():
            record_event(
                db.session, _shop(), "survey.detractor", "survey:1:detractor:1", shopify_order_id=ORDER_ID,
                data={"email": SHOPPER, "shopify_customer_id": None, "shopify_order_id": ORDER_ID},
            )  # fmt: skip
            db.session.commit()

    def new_order(app, deliver):
        place(deliver, utcnow() - timedelta(minutes=30), id=SECOND_ORDER, name="#1002", order_number=1002)

    return {
        "return": (open_return, "flows.exit.return_opened"),
        "delivery_problem": (parcel_problem, "flows.exit.delivery_problem"),
        "detractor": (detractor, "flows.exit.detractor"),
        "new_order": (new_order, "flows.exit.new_order"),
    }[kind]


def _shop() -> int:
    from app.shopify.models import Shop
    from tests.conftest import SHOP

    return db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one()


@pytest.mark.parametrize("problem", ["return", "delivery_problem", "detractor", "new_order"])
def test_a_flow_stops_at_the_next_order_a_return_a_delivery_problem_or_an_unhappy_answer(
    alert_app, shop_id, deliver, work, smtp, problem
):
    switch_on(alert_app, shop_id, "post_delivery", waits=(3,))
    place(deliver, utcnow() - timedelta(days=3))
    work()
    delivered = utcnow() - timedelta(hours=1)
    ship_and_deliver(deliver, delivered)
    work()
    assert [e.status for e in enrolments(alert_app)] == ["active"]
    cause, reason = _problem(problem)
    cause(alert_app, deliver)
    work()
    ours = [e for e in enrolments(alert_app) if e.shopify_order_id == ORDER_ID]
    assert [(e.status, e.exit_reason) for e in ours] == [("exited", reason)]
    assert run_scheduler(alert_app, work, delivered + timedelta(days=4)) == 0
    assert flow_messages(alert_app) == [] and mails_to(smtp, "step") == []


def test_an_opt_out_stops_the_flow_before_its_step(alert_app, shop_id, deliver, work, smtp):
    switch_on(alert_app, shop_id, "winback", waits=(60,))
    placed = utcnow() - timedelta(hours=5)
    place(deliver, placed)
    work()
    with alert_app.app_context():
        record_opt_out(db.session, shop_id, "email", SHOPPER, source="unsubscribe")
        db.session.commit()
    assert run_scheduler(alert_app, work, placed + timedelta(days=61)) == 0
    [enrolment] = enrolments(alert_app)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", "flows.exit.no_consent:email opted out")
    assert flow_messages(alert_app) == [] and mails_to(smtp, "step") == []


def test_no_marketing_step_without_marketing_consent_on_its_channel(alert_app, shop_id, deliver, work, smtp):
    """The shopper agreed to marketing email at checkout but not to texts: an SMS step is never sent, whatever
    channel their updates come on; and an email step to a shopper who never agreed is not sent either."""
    switch_on(alert_app, shop_id, "winback", waits=(60,), channel="sms")
    placed = utcnow() - timedelta(hours=5)
    place(deliver, placed, phone="+66812345678")
    work()
    with alert_app.app_context():  # texts for updates, yes; marketing texts, no
        db.session.add(ContactPreference(shop_id=shop_id, channel="sms", address="+66812345678", updates_consent=True))
        db.session.commit()
    assert run_scheduler(alert_app, work, placed + timedelta(days=61)) == 0
    [enrolment] = enrolments(alert_app)
    assert (enrolment.status, enrolment.exit_reason) == ("exited", "flows.exit.no_consent:no marketing consent")

    switch_on(alert_app, shop_id, "first_order_thanks", waits=(1,))
    place(
        deliver, placed, id=SECOND_ORDER, name="#1002", order_number=1002, email="nomarketing@example.com",
        customer={"id": 777, "email": "nomarketing@example.com"}, buyer_accepts_marketing=False,
    )  # fmt: skip
    work()
    assert run_scheduler(alert_app, work, placed + timedelta(days=2)) == 0
    assert (
        flow_messages(alert_app) == []
        and smtp.mailbox.messages == []
        or all("step" not in str(m["Subject"]) for m in smtp.mailbox.messages)
    )
    # The pipeline itself refuses a marketing message without consent, whoever plans it.
    with alert_app.app_context():
        order = db.session.execute(select(Order).where(Order.shopify_order_id == SECOND_ORDER)).scalar_one()
        notification_id = create_notification(
            db.session, shop_id=shop_id, trigger="flow_step", channel="email", dedupe_key="flow:x:step:1:email",
            order=order,
        )  # fmt: skip
        db.session.commit()
        row = db.session.get(Notification, notification_id)
        assert (row.status, row.reason) == ("suppressed", "no marketing consent")


def test_the_marketing_cap_holds_marketing_across_channels_and_never_an_update(alert_app, shop_id, deliver, work, smtp):
    """One marketing message a day per shopper, whatever the channel: a flow's email goes out, a second marketing
    message to the same shopper by SMS is held with the reason (and queued for when a place frees), while the
    order's shipping update by email goes out at once."""
    set_limits(alert_app, shop_id, marketing_per_day=1, marketing_per_week=3)
    switch_on(alert_app, shop_id, "winback", waits=(1,))
    placed = utcnow() - timedelta(days=1, hours=2)
    place(deliver, placed, phone="+66812345678")
    work()
    assert run_scheduler(alert_app, work, utcnow()) == 1
    [sent] = flow_messages(alert_app)
    assert sent.status == "sent"
    with alert_app.app_context():
        db.session.add(
            ContactPreference(
                shop_id=shop_id, channel="sms", address="+66812345678", updates_consent=True, marketing_consent=True
            )
        )
        order = db.session.execute(select(Order).where(Order.shopify_order_id == ORDER_ID)).scalar_one()
        held_id = create_notification(
            db.session, shop_id=shop_id, trigger="flow_step", channel="sms", dedupe_key="flow:other:step:1:sms",
            order=order,
        )  # fmt: skip
        db.session.commit()
        assert send_notification(held_id) == "deferred"
        held = db.session.get(Notification, held_id)
        assert held.reason == "marketing cap: 1 a day per shopper reached"
        assert held.scheduled_for > utcnow() + timedelta(hours=23)
    # A transactional update to the same shopper, the same minute: never capped by marketing.
    ship_and_deliver(deliver, utcnow() - timedelta(minutes=10))
    work()
    with alert_app.app_context():
        updates = db.session.execute(
            select(Notification.trigger, Notification.status).where(
                Notification.trigger.in_(("shipped", "delivered")), Notification.channel == "email"
            )
        ).all()
    assert ("delivered", "sent") in updates


def test_quiet_hours_hold_marketing_email_but_not_updates(alert_app, shop_id, deliver, work, smtp):
    now_hour = utcnow().hour  # quiet from this hour to the next, in UTC
    set_limits(alert_app, shop_id, quiet_hours_start=now_hour, quiet_hours_end=(now_hour + 1) % 24)
    with alert_app.app_context():
        from app.shopify.models import Shop

        db.session.get(Shop, shop_id).iana_timezone = "UTC"
        db.session.commit()
    switch_on(alert_app, shop_id, "winback", waits=(1,))
    place(deliver, utcnow() - timedelta(days=1, hours=2))
    work()
    run_scheduler(alert_app, work, utcnow())
    [held] = flow_messages(alert_app)
    assert (held.status, held.reason) == ("deferred", "quiet hours")
    ship_and_deliver(deliver, utcnow() - timedelta(minutes=10))
    work()
    with alert_app.app_context():
        statuses = (
            db.session.execute(
                select(Notification.status).where(Notification.trigger == "delivered", Notification.channel == "email")
            )
            .scalars()
            .all()
        )
    assert statuses == ["sent"]
