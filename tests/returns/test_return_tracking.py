"""A parcel on its way back is tracked like an outbound one: carrier scans polled (the local Thailand Post API),
shown to the shopper and the merchant, and the carrier's "delivered" marks the return received, once."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.returns.models import ReturnRequest, ReturnScan
from app.returns.services import RequestedLine, add_tracking, approve_return, create_return_request
from app.returns.storefront import make_return_token
from app.returns.tracking import poll_return_batch, poll_return_parcels
from tests.fakes.thailand_post import FakeThailandPost
from tests.returns.conftest import LINE_TOTE
from tests.storefront.test_tracking_page import signed_query

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

PARCEL = "EF582568151TH"  # a Thailand Post (UPU S10) number with a valid check digit


def _scan(status: str, description: str, when: str, location: str) -> dict:
    return {
        "barcode": PARCEL,
        "status": status,
        "status_description": description,
        "status_date": when,
        "location": location,
    }


@pytest.fixture()
def thailand_post(fake_app):
    with FakeThailandPost() as fake:
        settings = fake_app.config["SETTINGS"]
        fake_app.config["SETTINGS"] = replace(
            settings, extra={"CARRIER_THAILAND_POST_TOKEN": fake.API_TOKEN, "CARRIER_THAILAND_POST_URL": fake.url}
        )
        try:
            yield fake
        finally:
            fake_app.config["SETTINGS"] = settings


def test_return_parcel_scans_are_polled_shown_and_delivery_marks_it_received(
    fake_app, delivered_order, work, thailand_post
):
    order = delivered_order(days_ago=5)
    request = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    work()
    approve_return(db.session, request, "merchant:1")
    add_tracking(db.session, request, "shopper", "Thailand Post", PARCEL)
    db.session.commit()
    work()
    assert (request.status, request.carrier_code) == ("in_transit", "thailand_post")

    thailand_post.items[PARCEL] = [
        _scan("103", "Accepted", "16/11/2569 11:00:00+07:00", "Chiang Mai"),
        _scan("201", "In transit", "17/11/2569 08:00:00+07:00", "Lak Si"),
    ]
    assert poll_return_parcels() == {"thailand_post": 1}
    work()
    assert [s.location for s in db.session.execute(select(ReturnScan)).scalars()] == ["Chiang Mai", "Lak Si"]
    assert poll_return_batch("thailand_post", [request.id]) == 0  # the same scans again: nothing new
    db.session.expire_all()
    assert db.session.get(ReturnRequest, request.id).status == "in_transit"

    thailand_post.items[PARCEL].append(_scan("501", "Delivered", "18/11/2569 15:30:00+07:00", "Bang Rak"))
    assert poll_return_batch("thailand_post", [request.id]) == 1
    db.session.expire_all()
    received = db.session.get(ReturnRequest, request.id)
    assert received.status == "received"
    assert [(s.status, s.actor) for s in received.steps][-1] == ("received", "carrier:thailand_post")
    assert poll_return_parcels() == {"thailand_post": 0}  # received parcels are no longer polled

    token = make_return_token(received.shop_id, received.id)
    page = fake_app.test_client().get("/proxy/returns/status?" + signed_query({"return": token}))
    assert page.status_code == 200
    assert page.text.index('data-scan="delivered"') < page.text.index('data-scan="in_transit"')  # newest first
    assert "Bang Rak" in page.text and "Chiang Mai" in page.text
