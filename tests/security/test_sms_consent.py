"""Consent to texts belongs to the phone's owner: the tracking page's "text me updates" only asks them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import ContactPreference
from tests.fakes.twilio import FakeTwilio
from tests.storefront.test_tracking_page import signed_query
from tests.tracking.test_timeline import split_order_deliveries

INBOUND_URL = "https://aftercart.test/hooks/twilio/inbound"
VICTIM = "+66899990000"


@pytest.fixture()
def twilio_app(make_app, post_webhook, redis_conn):
    with FakeTwilio() as twilio:
        app = make_app(extra=twilio.extra())
        with app.app_context():
            client = app.test_client()
            for topic, payload in split_order_deliveries():
                assert post_webhook(topic, payload, via=client).status_code == 200
            _work(app, redis_conn)
            yield app, client, twilio
            db.session.remove()


def _work(app, redis_conn) -> None:
    from rq import Queue, SimpleWorker

    from app.jobs import QUEUES

    with app.app_context():
        SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
        db.session.remove()


def _consent(app) -> bool | None:
    with app.app_context():
        row = db.session.execute(
            select(ContactPreference).where(ContactPreference.channel == "sms", ContactPreference.address == VICTIM)
        ).scalar_one_or_none()
        return None if row is None else row.updates_consent


def test_knowing_an_order_is_not_enough_to_sign_a_stranger_up_for_texts(twilio_app, redis_conn):
    app, client, twilio = twilio_app
    query = signed_query({"order": "1001", "email": "jon@example.com", "locale": "th"})
    for _ in range(3):  # asked again and again: one text a day, not a way to spam the number
        assert client.post("/proxy/api/subscribe?" + query, json={"phone": VICTIM}).status_code == 200
    _work(app, redis_conn)
    assert _consent(app) is False
    texts = [m for m in twilio.messages if m.get("To") == VICTIM]
    assert len(texts) == 1 and "YES" in texts[0]["Body"] and "#1001" in texts[0]["Body"]


def test_the_owners_yes_records_the_consent(twilio_app, redis_conn):
    app, client, twilio = twilio_app
    query = signed_query({"order": "1001", "email": "jon@example.com"})
    assert client.post("/proxy/api/subscribe?" + query, json={"phone": VICTIM}).status_code == 200
    _work(app, redis_conn)
    path, params, headers = twilio.inbound(INBOUND_URL, VICTIM, "YES")
    assert client.post(path, data=params, headers=headers).status_code == 200
    assert _consent(app) is True
