"""GDPR for returns: a data request lists the shopper's returns; customers/redact removes what they wrote and sent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.returns.models import CustomerLoyalty, ReturnFile, ReturnRequest, ReturnStep
from app.returns.services import RequestedLine, Upload, create_return_request
from app.shopify.models import ComplianceRequest
from tests.conftest import load_fixture
from tests.returns.conftest import CUSTOMER_ID, LINE_SHIRT, ORDER_ID, make_vip, post

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
COMMENT = "Torn at the seam. Call me on 081 234 5678"


def _damaged_return(delivered_order) -> ReturnRequest:
    order = delivered_order(days_ago=3)
    request = create_return_request(
        db.session,
        order,
        [RequestedLine(LINE_SHIRT, 1)],
        reason_code="damaged",
        resolution="refund",
        comment=COMMENT,
        photo=Upload("tear.png", "image/png", PNG),
    )
    db.session.commit()
    return request


def _privacy_payload(name: str) -> dict:
    payload = load_fixture(name)
    payload.update(customer={"id": CUSTOMER_ID, "email": "mali@example.com", "phone": None})
    return payload


def test_data_request_lists_the_shoppers_returns(delivered_order, fake_app, work, shop_id, shop_domain):
    make_vip(shop_id)
    _damaged_return(delivered_order)
    payload = dict(_privacy_payload("customers_data_request.json"), shop_domain=shop_domain, orders_requested=[])
    assert post(fake_app, "customers/data_request", payload, shop=shop_domain).status_code == 200
    work()
    report = db.session.execute(
        select(ComplianceRequest.report).where(ComplianceRequest.topic == "customers/data_request")
    ).scalar_one()
    [listed] = report["returns"]
    assert listed["shopify_order_id"] == ORDER_ID and listed["comment"] == COMMENT
    assert listed["items"] == [{"title": "Linen shirt", "variant": "M", "quantity": 1}]
    assert report["loyalty"]["orders_count"] == 9


def test_customer_redact_removes_comments_photos_notes_and_loyalty(
    delivered_order, fake_app, work, shop_id, shop_domain
):
    make_vip(shop_id)
    request = _damaged_return(delivered_order)
    assert db.session.execute(select(ReturnFile.id).where(ReturnFile.kind == "photo")).all()
    payload = dict(_privacy_payload("customers_redact.json"), shop_domain=shop_domain, orders_to_redact=[])
    assert post(fake_app, "customers/redact", payload, shop=shop_domain).status_code == 200
    work()
    db.session.expire_all()
    kept = db.session.get(ReturnRequest, request.id)
    assert kept is not None and kept.comment is None and kept.refund_amount > 0  # the merchant's record stays
    assert db.session.execute(select(ReturnFile.id).where(ReturnFile.kind == "photo")).all() == []
    assert all(note is None for note in db.session.execute(select(ReturnStep.note)).scalars())
    assert db.session.execute(select(CustomerLoyalty.id)).all() == []
    report = db.session.execute(
        select(ComplianceRequest.report).where(ComplianceRequest.topic == "customers/redact")
    ).scalar_one()
    assert report["returns_redacted"] == 1
