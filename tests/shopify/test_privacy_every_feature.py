"""One customer seeded in every feature: the data request assembles every table that the redact erases."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import select

from app.admin.models import OrderActivity
from app.content.models import ContentEntry, ContentRelease
from app.db import utcnow
from app.extension_api.models import ThankYouAnswer
from app.extensions import db
from app.flows.models import Flow, FlowEnrolment
from app.inserts.models import InsertBatch, InsertLinkSync, InsertScan
from app.integrations.models import OutgoingEvent
from app.notifications.models import ContactPreference, Notification
from app.orders.models import Customer, Order
from app.privacy import PRIVACY
from app.recommendations.model_build import customer_key
from app.recommendations.models import OrderBasket, RecommendationClick
from app.returns.models import CustomerLoyalty, ReturnFile, ReturnRequest, ReturnStep
from app.reviews.models import Review, ReviewAsk, ReviewHold, ReviewPhoto, ReviewReply, ReviewRequest
from app.shopify.models import ComplianceRequest, Shop, WebhookEvent
from app.surveys.models import Survey
from tests.conftest import SHOP, load_fixture

CUSTOMER_ID = 4242
EMAIL = "ploy@example.com"
PHONE = "+66812223333"
ORDER_ID = 880001


def _seed(post_webhook, run_jobs) -> int:
    order = load_fixture("orders_create.json")
    order.update(id=ORDER_ID, name="#8801", order_number=8801, email=EMAIL, phone=PHONE, buyer_accepts_marketing=True)
    order.update(cancelled_at=None, cancel_reason=None, financial_status="paid")
    order["customer"] = {"id": CUSTOMER_ID, "email": EMAIL, "first_name": "Ploy", "phone": PHONE}
    assert post_webhook("orders/create", order).status_code == 200
    fulfillment = dict(load_fixture("fulfillments_create.json"), id=990001, order_id=ORDER_ID, status="success")
    assert post_webhook("fulfillments/create", fulfillment).status_code == 200
    run_jobs()
    shop_id = db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one()
    order_row_id = db.session.execute(select(Order.id).where(Order.shopify_order_id == ORDER_ID)).scalar_one()
    # What the returns portal and a recommendation click would have stored for this shopper.
    request = ReturnRequest(
        shop_id=shop_id,
        shopify_order_id=ORDER_ID,
        idempotency_key="privacy-test",
        source="portal",
        currency="THB",
        comment="Please call me on 081 222 3333",
        decline_note="Ploy sent the wrong item",
    )
    db.session.add(request)
    db.session.flush()
    db.session.add_all(
        [
            ReturnStep(
                shop_id=shop_id,
                return_request_id=request.id,
                status="requested",
                actor="shopper",
                note="at home",
                dedupe_key="privacy-test:requested",
            ),
            ReturnFile(
                shop_id=shop_id,
                return_request_id=request.id,
                kind="photo",
                content_type="image/png",
                size=4,
                data=b"\x89PNG",
            ),
            CustomerLoyalty(shop_id=shop_id, shopify_customer_id=CUSTOMER_ID, orders_count=3, amount_spent=Decimal(9)),
            RecommendationClick(
                shop_id=shop_id,
                public_id="privacytestclick",
                placement="email",
                shopify_product_id=1,
                customer_key=customer_key(CUSTOMER_ID, None),
            ),
        ]
    )
    # What the reviews feature and the events for the merchant's tools would have stored for this shopper.
    review_request = db.session.execute(  # the fulfilment above made it, through the real pipeline
        select(ReviewRequest).where(ReviewRequest.shopify_fulfillment_id == 990001)
    ).scalar_one()
    assert review_request.email == EMAIL
    review_request.status = "completed"
    review = Review(
        shop_id=shop_id,
        review_request_id=review_request.id,
        shopify_order_id=ORDER_ID,
        shopify_product_id=1,
        shopify_customer_id=CUSTOMER_ID,
        email=EMAIL,
        author_name="Ploy K.",
        rating=2,
        body="Call me on 081 222 3333",
        status="published",
        photo_count=1,
    )
    db.session.add(review)
    care = ContentEntry(
        shop_id=shop_id, kind="care", scope="product", scope_value="1", texts={"en": {"title": "Care", "body": "x"}}
    )
    db.session.add(care)
    db.session.flush()
    db.session.add_all(
        [
            # which product content went to the shopper's order
            ContentRelease(
                shop_id=shop_id, entry_id=care.id, shopify_order_id=ORDER_ID, status="released", due_at=utcnow()
            ),
            ReviewPhoto(shop_id=shop_id, review_id=review.id, content_type="image/png", size=4, data=b"\x89PNG"),
            ReviewReply(shop_id=shop_id, review_id=review.id, is_public=False, body="Sorry, Ploy"),
            ReviewAsk(
                shop_id=shop_id,
                shopper_key=f"customer:{CUSTOMER_ID}",
                shopify_product_id=1,
                review_request_id=review_request.id,
            ),
            ReviewHold(shop_id=shop_id, shopify_order_id=ORDER_ID, shopify_customer_id=CUSTOMER_ID, email=EMAIL),
            OutgoingEvent(
                shop_id=shop_id,
                destination="webhook",
                event="shipment.delivered",
                dedupe_key="privacy-test",
                email=EMAIL,
                shopify_order_id=ORDER_ID,
                payload={"order": {"email": EMAIL}},
            ),
            # Support's note on the order, the insert's scanned codes and metafield outbox, a print batch,
            # and the shopper's delivery survey answer.
            OrderActivity(shop_id=shop_id, shopify_order_id=ORDER_ID, action="note", note="Ploy called", actor="42"),
            InsertScan(shop_id=shop_id, order_id=order_row_id, code="track", scans=2),
            InsertLinkSync(shop_id=shop_id, order_id=order_row_id),
            InsertBatch(shop_id=shop_id, status="done", total=1, done=1, pdf=b"%PDF Ploy"),
            Survey(
                shop_id=shop_id,
                public_id="privacytestsurvey",
                shopify_order_id=ORDER_ID,
                shopify_customer_id=CUSTOMER_ID,
                order_name="#8801",
                question="csat",
                status="answered",
                due_at=utcnow(),
                csat_score=2,
                comment="Ploy: the box was crushed, call 081 222 3333",
            ),
            # The thank-you page's answer (free text: the shopper's own words).
            ThankYouAnswer(
                shop_id=shop_id,
                shopify_order_id=ORDER_ID,
                shopify_customer_id=CUSTOMER_ID,
                question="How did you hear about us?",
                answer="Ploy's friend Nok",
            ),
        ]
    )
    # The shopper in a follow-up flow.
    flow = Flow(shop_id=shop_id, kind="winback", is_enabled=True, starts_on="order_placed", segment={}, steps=[])
    db.session.add(flow)
    db.session.flush()
    db.session.add(
        FlowEnrolment(
            shop_id=shop_id,
            flow_id=flow.id,
            dedupe_key=f"{flow.id}:order_placed:{ORDER_ID}",
            shopify_order_id=ORDER_ID,
            shopify_customer_id=CUSTOMER_ID,
            email=EMAIL,
            status="active",
            step_index=0,
            steps_sent=0,
            anchored_at=utcnow(),
            next_due_at=utcnow(),
        )
    )
    db.session.commit()
    return shop_id


def _privacy_request(topic: str, post_webhook, run_jobs) -> dict:
    fixture = "customers_data_request.json" if topic == "customers/data_request" else "customers_redact.json"
    payload = dict(load_fixture(fixture), shop_domain=SHOP)
    payload["customer"] = {"id": CUSTOMER_ID, "email": EMAIL, "phone": PHONE}
    payload["orders_requested" if topic == "customers/data_request" else "orders_to_redact"] = [ORDER_ID]
    assert post_webhook(topic, payload).status_code == 200
    run_jobs()
    return (
        db.session.execute(
            select(ComplianceRequest.report)
            .where(ComplianceRequest.topic == topic)
            .order_by(ComplianceRequest.id.desc())
        )
        .scalars()
        .first()
    )


# Per table the registry covers: where the data request shows the customer's row, and how to tell the redact
# erased it. A table added to the registry without a line here fails the first assertion below.
def _exported(report: dict) -> dict[str, bool]:
    [returned] = report["returns"]
    return {
        "orders": [o["email"] for o in report["orders"]] == [EMAIL],
        "customers": [c["email"] for c in report["customer_profiles"]] == [EMAIL],
        "notifications": any(n["recipient"] == EMAIL for n in report["notifications"]),
        "contact_preferences": any(p["address"] == EMAIL for p in report["contact_preferences"]),
        "return_requests": returned["comment"].startswith("Please call") and returned["decline_note"] is not None,
        "return_steps": [n["note"] for n in returned["notes"]] == ["at home"],
        "return_files": [p["content_type"] for p in returned["photos"]] == ["image/png"],
        "customer_loyalty": report["loyalty"]["orders_count"] == 3,
        "rec_order_baskets": [b["shopify_order_id"] for b in report["recommendation_baskets"]] == [ORDER_ID],
        "rec_clicks": [c["placement"] for c in report["recommendation_clicks"]] == ["email"],
        "webhook_events": {d["topic"] for d in report["webhook_deliveries"]} >= {"orders/create"},
        "compliance_requests": report["earlier_data_requests"] == [],
        "reviews": [r["text"] for r in report["reviews"]] == ["Call me on 081 222 3333"],
        "review_photos": [r["photos"] for r in report["reviews"]] == [1],
        "review_replies": True,  # a private reply is the merchant's words to the shopper, erased below
        "review_requests": [r["status"] for r in report["review_requests"]] == ["completed"],
        "review_asks": True,  # which products were asked about: the requests above say it
        "review_holds": True,  # a survey answer's hold: the survey's own export shows the answer
        "outgoing_events": [e["event"] for e in report["events_sent_to_the_shops_tools"]] == ["shipment.delivered"],
        "order_activity": [a["note"] for a in report["order_activity"]] == ["Ploy called"],
        "insert_scans": [s["code"] for s in report["insert_scans"]] == ["track"],
        "insert_link_syncs": True,  # which order's metafield waits to be written: the orders above say it
        "insert_batches": True,  # a print job of the whole shop, not about one shopper
        "surveys": [s["comment"] for s in report["survey_answers"]] == ["Ploy: the box was crushed, call 081 222 3333"],
        "thank_you_answers": [a["answer"] for a in report["thank_you_answers"]] == ["Ploy's friend Nok"],
        "content_releases": [r["content"] for r in report["product_content_released"]] == ["care"],
        "flow_enrolments": [(e["flow"], e["status"]) for e in report["flow_enrolments"]] == [("winback", "active")],
    }


def _erased(shop_id: int) -> dict[str, bool]:
    def rows(*columns, where):
        return db.session.execute(select(*columns).where(where)).all()

    [request] = rows(ReturnRequest.comment, ReturnRequest.decline_note, where=ReturnRequest.shop_id == shop_id)
    return {
        "orders": rows(Order.email, Order.phone, Order.shopify_customer_id, where=Order.shopify_order_id == ORDER_ID)
        == [(None, None, None)],
        "customers": rows(Customer.id, where=Customer.shopify_customer_id == CUSTOMER_ID) == [],
        "notifications": rows(Notification.id, where=Notification.recipient == EMAIL) == []
        and rows(Notification.id, where=Notification.shopify_order_id == ORDER_ID) != [],
        "contact_preferences": rows(ContactPreference.id, where=ContactPreference.shop_id == shop_id) == [],
        "return_requests": tuple(request) == (None, None),
        "return_steps": {n for (n,) in rows(ReturnStep.note, where=ReturnStep.shop_id == shop_id)} == {None},
        "return_files": rows(ReturnFile.id, where=ReturnFile.shop_id == shop_id) == [],
        "customer_loyalty": rows(CustomerLoyalty.id, where=CustomerLoyalty.shop_id == shop_id) == [],
        "rec_order_baskets": rows(OrderBasket.customer_key, where=OrderBasket.shop_id == shop_id) == [(None,)],
        "rec_clicks": rows(RecommendationClick.customer_key, where=RecommendationClick.shop_id == shop_id) == [(None,)],
        "webhook_events": all(
            payload is None or EMAIL not in payload
            for (payload,) in rows(WebhookEvent.payload, where=WebhookEvent.shop_id == shop_id)
        ),
        "compliance_requests": all(
            report is None or EMAIL not in json.dumps(report)
            for (report,) in rows(ComplianceRequest.report, where=ComplianceRequest.topic == "customers/data_request")
        ),
        # The review held a phone number: it goes, although published.
        "reviews": rows(Review.id, where=Review.shop_id == shop_id) == [],
        "review_photos": rows(ReviewPhoto.id, where=ReviewPhoto.shop_id == shop_id) == [],
        "review_replies": rows(ReviewReply.id, where=ReviewReply.shop_id == shop_id) == [],
        "review_requests": rows(ReviewRequest.id, where=ReviewRequest.shop_id == shop_id) == [],
        "review_asks": rows(ReviewAsk.id, where=ReviewAsk.shop_id == shop_id) == [],
        "review_holds": rows(ReviewHold.id, where=ReviewHold.shop_id == shop_id) == [],
        "outgoing_events": rows(OutgoingEvent.id, where=OutgoingEvent.shop_id == shop_id) == [],
        "order_activity": rows(OrderActivity.note, where=OrderActivity.shop_id == shop_id) == [(None,)],
        "insert_scans": rows(InsertScan.id, where=InsertScan.shop_id == shop_id) == [],
        "insert_link_syncs": rows(InsertLinkSync.id, where=InsertLinkSync.shop_id == shop_id) == [],
        "insert_batches": rows(InsertBatch.id, where=InsertBatch.shop_id == shop_id) == [],
        "surveys": rows(Survey.comment, Survey.shopify_customer_id, where=Survey.shop_id == shop_id) == [(None, None)],
        "thank_you_answers": rows(ThankYouAnswer.id, where=ThankYouAnswer.shop_id == shop_id) == [],
        "content_releases": rows(ContentRelease.id, where=ContentRelease.shop_id == shop_id) == []
        and rows(ContentEntry.id, where=ContentEntry.shop_id == shop_id) != [],  # the merchant's text stays
        "flow_enrolments": rows(FlowEnrolment.id, where=FlowEnrolment.shop_id == shop_id) == [],
    }


def test_data_request_assembles_every_table_the_redact_erases(ctx, post_webhook, run_jobs):
    shop_id = _seed(post_webhook, run_jobs)
    covered = {table for entry in PRIVACY for table in entry.tables}
    report = _privacy_request("customers/data_request", post_webhook, run_jobs)
    exported = _exported(report)
    assert set(exported) == covered
    assert {table for table, ok in exported.items() if not ok} == set()

    redacted = _privacy_request("customers/redact", post_webhook, run_jobs)
    assert {f"{entry.name}_redacted" for entry in PRIVACY} | {"failed_jobs_forgotten"} == set(redacted)
    db.session.expire_all()
    erased = _erased(shop_id)
    assert set(erased) == covered
    assert {table for table, ok in erased.items() if not ok} == set()
