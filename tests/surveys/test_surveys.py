"""A parcel followed from its delivered scan to the survey message (after the shop's delay), a one-tap score through
the signed link, the follow-up page, a detractor alert and the hold it puts on marketing; forged, replayed and dead
links refused with nothing recorded; never before delivery, never twice; an opt-out of updates stops it."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from app.alerts.models import MerchantAlert
from app.db import utcnow
from app.events import DomainEvent
from app.extensions import db
from app.notifications.models import Notification
from app.notifications.policy import consent_allows
from app.notifications.preferences import record_opt_in, record_opt_out
from app.orders.models import Order
from app.orders.privacy import CustomerRef
from app.storefront.links import make_track_token
from app.surveys.links import FOLLOW, SCORE, make_token
from app.surveys.models import SurveySettings
from app.surveys.privacy import erase_customer_surveys, export_customer_surveys
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token
from tests.surveys.conftest import (
    OWNER,
    SHOPPER,
    ask_after,
    links_in,
    ship,
    survey_mails,
    surveys,
)
from tests.tracking.test_timeline import ORDER_ID

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _events(app, kind: str) -> list[DomainEvent]:
    with app.app_context():
        rows = db.session.execute(select(DomainEvent).where(DomainEvent.kind == kind)).scalars().all()
        db.session.expunge_all()
        return rows


def _score_link(message, score: int) -> str:
    """The message's link for one score (the links come in scale order: 1..5 for CSAT)."""
    links = [link for link in links_in(message) if not link.startswith("/l/s/a/")]
    return links[score - 1]


def _answer(client, link: str, **form):
    """A shopper's tap: the link opens the answer page with its score chosen; "Send" posts it (the page's
    form, with whatever else it carries). Returns the POST's answer (303 to the follow-up page)."""
    page = client.get(link)
    assert page.status_code == 200 and "checked" in page.get_data(as_text=True)
    action = page.get_data(as_text=True).split('method="post" action="', 1)[1].split('"', 1)[0]
    return client.post(action.replace("&amp;", "&"), data=form)


def test_a_delivered_parcel_is_asked_after_the_delay_and_one_tap_records_the_score(
    alert_app, deliver, work, smtp, shop_told
):
    ship(deliver)
    work()
    (survey,) = surveys(alert_app)
    assert survey.status == "scheduled" and survey.shopify_fulfillment_id == 501
    assert survey.carrier and survey.destination_country == "TH" and survey.destination_province == "TH-10"
    assert survey_mails(smtp) == []  # delivered an hour ago: the shop waits two days

    assert ask_after(alert_app, 1) == 0
    assert ask_after(alert_app, 2.1) == 1
    work()
    (mail,) = survey_mails(smtp)
    assert mail["Subject"] == "How did we do with #1001?"
    text = mail.get_body(("plain",)).get_content()
    assert "How did the delivery of your order go?" in text
    links = [link for link in links_in(mail) if not link.startswith("/l/s/a/")]
    assert len(links) == 5  # one signed link per score

    client = alert_app.test_client()
    # A mail scanner opening every link of the message records nothing: a GET only shows the page.
    for link in links_in(mail):
        assert client.get(link).status_code == 200
    (survey,) = surveys(alert_app)
    assert survey.csat_score is None and survey.answered_at is None and survey.status == "sent"
    shown = client.get(_score_link(mail, 5)).get_data(as_text=True)
    assert 'value="5" class="ac-praise" checked' in shown and "Send my answer" in shown and "Fast delivery" in shown
    tapped = _answer(client, _score_link(mail, 5))
    assert tapped.status_code == 303 and "/l/s/f/" in tapped.headers["Location"]
    follow_up = client.get(tapped.headers["Location"])
    page = follow_up.get_data(as_text=True)
    assert follow_up.status_code == 200 and "Thanks for your answer!" in page and "Fast delivery" in page
    assert "Arrived damaged" not in page  # a happy shopper is asked what went well
    saved = client.post(
        tapped.headers["Location"], data={"reasons": ["fast", "damaged", "nonsense"], "comment": "Lovely\x07 box"}
    )
    assert saved.status_code == 200 and "we passed it on" in saved.get_data(as_text=True)
    (survey,) = surveys(alert_app)
    assert survey.csat_score == 5 and survey.reasons == ["fast"] and survey.comment == "Lovely box"
    assert survey.answered_via == "message" and survey.status == "answered"

    # A second tap changes the score of the same survey; nothing is added.
    assert _answer(client, _score_link(mail, 4)).status_code == 303
    (survey,) = surveys(alert_app)
    assert survey.csat_score == 4 and survey.reasons == ["fast"]
    thai = client.get(tapped.headers["Location"].split("?")[0] + "?locale=th").get_data(as_text=True)
    assert "ขอบคุณสำหรับคำตอบ" in thai and "ส่งเร็ว" in thai
    assert _events(alert_app, "survey.detractor") == []


def test_a_low_score_alerts_the_merchant_and_holds_marketing_until_it_is_handled(
    alert_app, deliver, work, smtp, shop_told
):
    ship(deliver)
    work()
    with alert_app.app_context():
        record_opt_in(db.session, shop_told, "email", SHOPPER, "checkout", marketing=True)
        db.session.commit()
    ask_after(alert_app, 2.1)
    work()
    (mail,) = survey_mails(smtp)
    client = alert_app.test_client()
    follow = _answer(client, _score_link(mail, 1)).headers["Location"]
    page = client.get(follow).get_data(as_text=True)
    assert "Arrived damaged" in page and "Arrived late" in page  # what went wrong, for a low score
    client.post(follow, data={"reasons": ["damaged"], "comment": "Crushed box"})
    work()

    (event,) = _events(alert_app, "survey.detractor")
    assert {"email", "shopify_customer_id", "shopify_order_id"} <= set(event.data)
    assert event.data["email"] == SHOPPER and event.data["shopify_order_id"] == ORDER_ID
    with alert_app.app_context():
        alert = db.session.execute(select(MerchantAlert).where(MerchantAlert.kind == "detractor")).scalar_one()
        assert alert.detail["answer"] == "CSAT 1/5" and alert.detail["order_name"] == "#1001"
        assert alert.emailed_at is not None
        assert consent_allows(db.session, shop_told, "email", SHOPPER, marketing=True).startswith("marketing held")
        assert consent_allows(db.session, shop_told, "email", SHOPPER) is None  # updates still reach them
        alert_id = alert.id
    told = [m for m in smtp.mailbox.messages if m["To"] == OWNER]
    assert len(told) == 1 and "Unhappy survey answer" in told[0]["Subject"] and "CSAT 1/5" in told[0]["Subject"]

    token = make_id_token(SHOP)
    attention = client.get(f"/app/attention?shop={SHOP}&id_token={token}").get_data(as_text=True)
    assert "Unhappy survey answer" in attention and "CSAT 1/5" in attention
    surveys_page = client.get(f"/app/surveys?shop={SHOP}&id_token={token}").get_data(as_text=True)
    assert "Crushed box" in surveys_page and "Arrived damaged" in surveys_page

    handled = client.post(
        f"/app/attention/{alert_id}/handled",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert handled.status_code == 200
    work()
    (released,) = _events(alert_app, "survey.detractor_handled")
    assert released.data["shopify_order_id"] == ORDER_ID and released.data["email"] == SHOPPER
    (survey,) = surveys(alert_app)
    assert survey.detractor_handled_at is not None and survey.detractor_handled_by == handled.json["handled_by"]
    with alert_app.app_context():
        assert consent_allows(db.session, shop_told, "email", SHOPPER, marketing=True) is None


def test_handling_the_detractor_on_the_survey_page_clears_the_attention_item(alert_app, deliver, work, smtp, shop_told):
    ship(deliver)
    work()
    ask_after(alert_app, 2.1)
    work()
    (mail,) = survey_mails(smtp)
    client = alert_app.test_client()
    _answer(client, _score_link(mail, 2))
    work()
    (survey,) = surveys(alert_app)
    token = make_id_token(SHOP)
    done = client.post(
        f"/app/surveys/{survey.id}/handled", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    assert done.status_code == 200 and done.json["handled_at"]
    work()
    with alert_app.app_context():
        alert = db.session.execute(select(MerchantAlert).where(MerchantAlert.kind == "detractor")).scalar_one()
        assert alert.resolved_at is not None
    assert len(_events(alert_app, "survey.detractor_handled")) == 1


def test_forged_replayed_and_dead_links_are_refused_and_record_nothing(alert_app, deliver, work, smtp, shop_told):
    ship(deliver)
    work()
    ask_after(alert_app, 2.1)
    work()
    (mail,) = survey_mails(smtp)
    (survey,) = surveys(alert_app)
    client = alert_app.test_client()
    good = _score_link(mail, 1)
    token = good.rsplit("/", 1)[1]
    with alert_app.app_context():
        secret = alert_app.config["SETTINGS"].secret_key

        class LongAgo(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - 61 * 24 * 3600

        old = URLSafeTimedSerializer(secret, salt="aftercart.survey-link.v1", signer=LongAgo)
        replayed = old.dumps([survey.public_id, SCORE, "csat", 1])  # a genuine link, 61 days old
        wrong_purpose = make_token(survey.public_id, FOLLOW, "csat", 1)
        off_scale = make_token(survey.public_id, SCORE, "csat", 9)
        not_asked = make_token(survey.public_id, SCORE, "nps", 0)
        other_survey = make_token("no-such-survey", SCORE, "csat", 1)
    forged = URLSafeTimedSerializer("guessed-secret", salt="aftercart.survey-link.v1").dumps(
        [survey.public_id, SCORE, "csat", 1]
    )
    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        forged,
        replayed,
        wrong_purpose,
        off_scale,
        not_asked,
        other_survey,
    ):
        assert client.get(f"/l/s/{bad}").status_code == 404, bad
        assert client.post(f"/l/s/{bad}", data={"score": "1"}).status_code == 404, bad
        assert client.get(f"/l/s/f/{bad}").status_code == 404
        assert client.post(f"/l/s/a/{bad}", data={"score": "1"}).status_code == 404
    (survey,) = surveys(alert_app)
    assert survey.csat_score is None and survey.answered_at is None and survey.status == "sent"
    assert _events(alert_app, "survey.detractor") == []

    # The shopper is erased: every link of their survey dies with the answer's tie to them.
    assert client.post(good, data={"score": "9"}).status_code == 400  # off the scale: nothing recorded
    assert surveys(alert_app)[0].answered_at is None
    assert _answer(client, good).status_code == 303
    with alert_app.app_context():
        customer = CustomerRef(email=SHOPPER, shopify_order_ids=[ORDER_ID])
        exported = export_customer_surveys(db.session, shop_told, customer)
        assert exported["survey_answers"][0]["csat_score"] == 1
        assert erase_customer_surveys(db.session, shop_told, customer) == 1
        db.session.commit()
    assert client.get(_score_link(mail, 5)).status_code == 404
    (survey,) = surveys(alert_app)
    assert survey.csat_score == 1
    work()
    for event in _events(alert_app, "survey.detractor"):
        assert event.data["email"] is None


def test_no_survey_before_delivery_and_never_twice(alert_app, deliver, work, smtp, shop_told, post_webhook):
    ship(deliver, delivered=False)
    work()
    assert ask_after(alert_app, 30) == 0
    work()
    assert surveys(alert_app) == [] and survey_mails(smtp) == []

    deliver("fulfillment_events/create", _delivered_scan())
    deliver("fulfillment_events/create", _delivered_scan())  # redelivered
    work()
    assert ask_after(alert_app, 2.1) == 1
    assert ask_after(alert_app, 3) == 0  # asked already
    work()
    assert len(surveys(alert_app)) == 1 and len(survey_mails(smtp)) == 1


def _delivered_scan():
    from tests.tracking.test_timeline import event_payload

    return event_payload(2, 501, "delivered", utcnow() - timedelta(hours=1))


def test_an_opt_out_of_updates_stops_the_survey(alert_app, deliver, work, smtp, shop_told):
    ship(deliver)
    work()
    with alert_app.app_context():
        record_opt_out(db.session, shop_told, "email", SHOPPER, source="unsubscribe-link")
        db.session.commit()
    ask_after(alert_app, 2.1)
    work()
    assert survey_mails(smtp) == []
    with alert_app.app_context():
        (message,) = db.session.execute(select(Notification).where(Notification.trigger == "delivery_survey")).scalars()
        assert message.status == "suppressed" and message.reason == "email opted out"


def test_the_shop_switched_off_asks_nobody(alert_app, deliver, work, smtp, shop_told):
    with alert_app.app_context():
        db.session.add(SurveySettings(shop_id=shop_told, is_enabled=False, question="csat", delay_days=2))
        db.session.commit()
    ship(deliver)
    work()
    assert surveys(alert_app) == []


def test_the_delivered_tracking_page_asks_the_same_question(alert_app, deliver, work, smtp, shop_told):
    with alert_app.app_context():
        db.session.add(SurveySettings(shop_id=shop_told, is_enabled=True, question="both", delay_days=2))
        db.session.commit()
    ship(deliver)
    work()
    with alert_app.app_context():
        order_id = db.session.execute(select(Order.id)).scalar_one()
        track = f"/l/track/{make_track_token(shop_told, order_id)}"
    client = alert_app.test_client()
    page = client.get(track).get_data(as_text=True)
    assert "How did the delivery of your order go?" in page and 'name="score"' in page
    action = _survey_action(page)
    answered = client.post(action.replace("http://localhost", ""), data={"score": "3"})
    assert answered.status_code == 303
    follow = answered.headers["Location"]
    page = client.get(follow).get_data(as_text=True)
    assert "How likely are you to recommend" in page  # the shop asks both: NPS on the follow-up page
    client.post(follow, data={"nps": "10", "reasons": ["tracking"]})
    (survey,) = surveys(alert_app)
    assert (survey.csat_score, survey.nps_score, survey.answered_via) == (3, 10, "tracking_page")
    assert survey.reasons == ["tracking"]
    again = client.get(track).get_data(as_text=True)
    assert 'aria-pressed="true">3<' in again and "Thanks! You gave 3." in again
    assert client.post(action.replace("http://localhost", ""), data={"score": "11"}).status_code == 400

    # Asked later by message? It was answered already: the shop does not ask again.
    ask_after(alert_app, 2.1)
    work()
    assert survey_mails(smtp) == []


def _survey_action(page: str) -> str:
    section = page.split('id="ac-survey"', 1)[1]
    action = section.split('action="', 1)[1].split('"', 1)[0]
    return action[action.index("/l/s/a/") :].replace("&amp;", "&")


def test_the_admin_page_shows_figures_and_saves_settings(alert_app, deliver, work, smtp, shop_told):
    ship(deliver)
    work()
    ask_after(alert_app, 2.1)
    work()
    client = alert_app.test_client()
    token = make_id_token(SHOP)
    page = client.get(f"/app/surveys?shop={SHOP}&id_token={token}").get_data(as_text=True)
    assert "Delivery surveys" in page and "0 answered of 1 asked" in page and "#1001" in page
    thai = client.get(f"/app/surveys?shop={SHOP}&id_token={token}&locale=th").get_data(as_text=True)
    assert "แบบสำรวจหลังจัดส่ง" in thai and "รอคำตอบ" in thai
    (mail,) = survey_mails(smtp)
    _answer(client, _score_link(mail, 4))
    page = client.get(f"/app/surveys?shop={SHOP}&id_token={token}").get_data(as_text=True)
    assert "1 answered of 1 asked" in page and "4.00" in page

    headers = {"Authorization": f"Bearer {token}"}
    saved = client.post(
        "/app/api/surveys/settings", json={"question": "nps", "delay_days": 3, "channels": ["email"]}, headers=headers
    )
    assert saved.status_code == 200 and saved.json["settings"]["question"] == "nps"
    bad = client.post("/app/api/surveys/settings", json={"delay_days": 99}, headers=headers)
    assert bad.status_code == 422 and bad.json["errors"]["delay_days"]
    with alert_app.app_context():
        settings = db.session.execute(select(SurveySettings)).scalar_one()
        assert (settings.question, settings.delay_days, settings.channels) == ("nps", 3, ["email"])


def test_the_answer_pages_send_records_the_score_with_its_reasons_at_once(alert_app, deliver, work, smtp, shop_told):
    ship(deliver)
    work()
    ask_after(alert_app, 2.1)
    work()
    (mail,) = survey_mails(smtp)
    client = alert_app.test_client()
    page = client.get(_score_link(mail, 2)).get_data(as_text=True)
    assert 'value="2" class="ac-problem" checked' in page and "Arrived late" in page  # a low score: what went wrong
    sent = _answer(client, _score_link(mail, 2), score="2", reasons=["late", "fast"], comment="Four days late")
    assert sent.status_code == 303
    (survey,) = surveys(alert_app)
    assert (survey.csat_score, survey.reasons, survey.comment) == (2, ["late"], "Four days late")
    work()
    assert len(_events(alert_app, "survey.detractor")) == 1
    # The shopper changed their mind on the page before sending: the score sent is the one kept.
    assert _answer(client, _score_link(mail, 2), score="5").status_code == 303
    assert surveys(alert_app)[0].csat_score == 5


def test_the_answer_page_has_one_send_and_the_chips_of_any_score_chosen(alert_app, deliver, work, smtp, shop_told):
    ship(deliver)
    work()
    ask_after(alert_app, 2.1)
    work()
    (mail,) = survey_mails(smtp)
    client = alert_app.test_client()
    page = client.get(_score_link(mail, 5)).get_data(as_text=True)
    # one button sends the score, the reasons and the comment together (there were two, "Send my answer" and "Send")
    assert page.count('type="submit"') == 1
    assert 'value="5" class="ac-praise" checked' in page and 'value="2" class="ac-problem"' in page
    # the chips of a happy score first; those of a low one are there too, shown by CSS once a low score is chosen
    assert page.index("Fast delivery") < page.index("Arrived late")
    assert ".ac-answer:has(.ac-problem:checked) .ac-reasons-praise{display:none}" in page
    # the shopper lowers the score on the page and says why: all of it is kept, in one send
    sent = _answer(client, _score_link(mail, 5), score="2", reasons=["late", "fast"], comment="Late after all")
    assert sent.status_code == 303
    (survey,) = surveys(alert_app)
    assert (survey.csat_score, survey.reasons, survey.comment) == (2, ["late"], "Late after all")


def test_a_detractor_holds_the_review_request_until_the_merchant_handles_it(alert_app, deliver, work, smtp, shop_told):
    """The whole chain on real parts: delivered scan -> survey message -> a low score through the signed link ->
    the detractor alert -> the parcel's review request held for it -> handled in the attention list -> asked."""
    from app.reviews.models import ReviewRequest
    from app.reviews.services import send_due_review_requests
    from tests.tracking.test_timeline import event_payload, fulfillment_payload, order_payload

    start = utcnow() - timedelta(days=1)
    items = [
        {"id": 11, "title": "Cotton tee", "quantity": 2, "price": "390.00", "product_id": 7001},
        {"id": 12, "title": "Canvas tote", "quantity": 1, "price": "590.00", "product_id": 7002},
    ]
    deliver("orders/create", order_payload(start, line_items=items))
    deliver("fulfillments/create", fulfillment_payload(501, [(11, 2), (12, 1)], start, start, "SHP5012345678"))
    deliver("fulfillment_events/create", event_payload(1, 501, "in_transit", start + timedelta(hours=2)))
    deliver("fulfillment_events/create", event_payload(2, 501, "delivered", utcnow() - timedelta(hours=1)))
    work()
    ask_after(alert_app, 2.1)
    work()
    (mail,) = survey_mails(smtp)
    client = alert_app.test_client()
    assert _answer(client, _score_link(mail, 1), reasons=["damaged"]).status_code == 303
    work()
    with alert_app.app_context():
        alert = db.session.execute(select(MerchantAlert).where(MerchantAlert.kind == "detractor")).scalar_one()
        alert_id = alert.id
        assert send_due_review_requests(utcnow() + timedelta(days=8)) == 0
        request = db.session.execute(select(ReviewRequest)).scalar_one()
        assert (request.status, request.reason) == ("held", "detractor not yet handled")
    work()

    def review_mails() -> list:
        return [m for m in smtp.mailbox.messages if m["To"] == SHOPPER and "How do you like" in str(m["Subject"])]

    assert review_mails() == []

    token = make_id_token(SHOP)
    handled = client.post(
        f"/app/attention/{alert_id}/handled",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert handled.status_code == 200
    work()
    with alert_app.app_context():
        assert send_due_review_requests(utcnow() + timedelta(days=8, minutes=15)) == 1
        request = db.session.execute(select(ReviewRequest)).scalar_one()
        assert request.status == "sent" and {p["product_id"] for p in request.products} == {7001, 7002}
    work()
    (asked,) = review_mails()
    assert "Cotton tee" in asked.get_body(("plain",)).get_content()
