"""The merchant's side: returns list, detail and actions, label uploads, the policy editor with tier perk
toggles, and the simulator's figures checked against a small history computed by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from sqlalchemy import select

from app.demo import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.returns.models import ReturnFile, ReturnPolicy, ReturnRequest
from app.returns.rules import policy_from_dict
from app.returns.services import RequestedLine, create_return_request, policy_row
from app.returns.simulator import simulate
from tests.returns.conftest import LINE_SHIRT, LINE_TOTE

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

PUBLISHED = {
    "window_days": 30,
    "resolutions": ["refund", "store_credit", "exchange_variant", "exchange_product"],
    "credit_bonus_percent": "10",
    "return_shipping_fee": "60",
    "review": "manual",
    "rules": [],
    "tiers": [],
}
DRAFT = {
    **PUBLISHED,
    "window_days": 45,
    "resolutions": ["store_credit", "exchange_variant", "exchange_product"],
    "credit_bonus_percent": "20",
    "tiers": [
        {"code": "everyone", "name": "Everyone", "rank": 0, "perks": {"free_return_shipping": {"enabled": True}}}
    ],
}


@pytest.fixture()
def shop_domain() -> str:
    return DEMO_SHOP_DOMAIN


def _set_published(shop_id: int, raw: dict) -> None:
    row = policy_row(db.session, shop_id)
    row.published = raw
    db.session.commit()


def test_simulator_matches_a_hand_computed_history(delivered_order, shop_id):
    order_a = delivered_order(days_ago=10, order_id=7_700_000_002_001, number=2001)
    order_b = delivered_order(days_ago=40, order_id=7_700_000_002_002, number=2002)
    delivered_order(days_ago=20, order_id=7_700_000_002_003, number=2003)
    _set_published(shop_id, dict(PUBLISHED, window_days=60))  # the policy the requests were made under
    r1 = create_return_request(
        db.session, order_a, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    r2 = create_return_request(
        db.session, order_b, [RequestedLine(LINE_SHIRT, 1)], reason_code="too_small", resolution="store_credit"
    )
    db.session.commit()

    result = simulate(db.session, shop_id, policy_from_dict(PUBLISHED), policy_from_dict(DRAFT))
    assert (result.requests, result.orders) == (2, 3)
    # Published (30 days): R1 (10 days) is a refund; R2 (40 days) is outside the window.
    assert result.published.eligible_requests == 1
    assert result.published.credit_bonus_cost == Decimal("0.00")
    assert result.published.free_shipping_cost == Decimal("0.00")
    assert result.published.kept_share == Decimal("0.00")
    assert result.published.returnable_orders == 2  # A and C; B is 40 days old
    # Draft (45 days, no refunds, 20% bonus, free shipping for everyone): R1's refund becomes credit
    # (20% of 590 = 118), R2 becomes eligible (20% of 690 = 138); shipping waived twice (2 x 60).
    assert result.draft.eligible_requests == 2
    assert result.draft.credit_bonus_cost == Decimal("256.00")
    assert result.draft.free_shipping_cost == Decimal("120.00")
    assert result.draft.kept_share == Decimal("100.00")
    assert result.draft.returnable_orders == 3
    assert (result.became_eligible, result.became_ineligible) == ([r2.id], [])
    assert r1.id not in result.became_eligible


def test_returns_list_detail_and_actions(fake_app, delivered_order, work):
    order = delivered_order(days_ago=5)
    created = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    work()
    client = fake_app.test_client()
    listing = client.get("/app/returns?status=requested")
    assert listing.status_code == 200 and f'data-return="{created.id}"' in listing.text
    assert f'data-return="{created.id}"' not in client.get("/app/returns?status=resolved").text
    detail = client.get(f"/app/returns/{created.id}")
    # The pending Shopify operation, by its readable name (not the code "create").
    assert detail.status_code == 200 and "Approve" in detail.text and "Create the return in Shopify" in detail.text
    bad = client.post(f"/app/returns/{created.id}/decline", data={"reason": "NOPE"})
    assert bad.status_code == 302 and "error=" in bad.headers["Location"]
    assert client.post(f"/app/returns/{created.id}/received", json={}).status_code == 409
    assert client.post(f"/app/returns/{created.id}/approve").status_code == 302
    work()
    db.session.expire_all()
    request = db.session.get(ReturnRequest, created.id)
    assert request.status == "awaiting_shipment" and request.steps[1].actor == "merchant:demo-owner"
    assert client.post(f"/app/returns/{created.id + 999}/approve").status_code == 404


def test_label_upload_is_checked_for_type_and_size(fake_app, delivered_order):
    order = delivered_order(days_ago=5)
    created = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    client = fake_app.test_client()
    url = f"/app/returns/{created.id}/label"
    fake_pdf = {"label": (BytesIO(b"<html>not a pdf</html>"), "label.pdf", "application/pdf")}
    assert client.post(url, data=fake_pdf, content_type="multipart/form-data").status_code == 415
    assert client.post(url, data={}, content_type="multipart/form-data").status_code == 400
    pdf = {"label": (BytesIO(b"%PDF-1.7\n%label"), "label.pdf", "application/pdf")}
    assert client.post(url, data=pdf, content_type="multipart/form-data").status_code == 302
    stored = db.session.execute(select(ReturnFile)).scalar_one()
    assert stored.kind == "label" and stored.content_type == "application/pdf"


def test_policy_editor_validates_toggles_simulates_and_publishes(fake_app, delivered_order, shop_id):
    delivered_order(days_ago=5)
    client = fake_app.test_client()
    assert client.get("/app/returns/policy").status_code == 200
    refused = client.post("/app/returns/api/policy/draft", json={"window_days": "forever", "resolutions": ["teleport"]})
    assert refused.status_code == 422 and set(refused.json["fields"]) == {"window_days", "resolutions"}
    assert client.get("/app/returns/api/policy/simulation").status_code == 409
    # Switch Silver's free return shipping on: only the draft changes.
    assert client.post("/app/returns/policy/tiers/silver/free_return_shipping").status_code == 302
    db.session.expire_all()
    row = db.session.execute(select(ReturnPolicy).where(ReturnPolicy.shop_id == shop_id)).scalar_one()
    silver = next(t for t in row.draft["tiers"] if t["code"] == "silver")
    assert silver["perks"]["free_return_shipping"]["enabled"] is True
    assert not next(t for t in row.published["tiers"] if t["code"] == "silver")["perks"].get("free_return_shipping")
    simulation = client.get("/app/returns/api/policy/simulation")
    assert simulation.status_code == 200 and simulation.json["orders"] == 1
    page = client.get("/app/returns/policy")
    assert "What the draft would have done" in page.text
    assert client.post("/app/returns/policy/publish").status_code == 302
    db.session.expire_all()
    row = db.session.execute(select(ReturnPolicy).where(ReturnPolicy.shop_id == shop_id)).scalar_one()
    assert row.draft is None
    assert next(t for t in row.published["tiers"] if t["code"] == "silver")["perks"]["free_return_shipping"]["enabled"]
    assert row.published_at is not None and row.published_at > row.updated_at - timedelta(seconds=5)
