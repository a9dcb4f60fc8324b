"""Attacks on the flows pages (/app/flows, /app/flows/<kind>, /app/flows/<kind>/switch): no or a forged session
token (401 or the login redirect, nothing stored), the token only in the query string for a change, malformed
edits (4xx with a reason, nothing stored), an unknown flow (404), a merchant template that reaches for Python's
insides (refused), and one shop's edit never touching another's flows."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.flows.models import Flow
from app.shopify.models import Shop
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _step(**changes):
    step = {
        "wait_days": 3,
        "channel": "email",
        "texts": {"en": {"subject": "Hi", "body": "Hello {{ first_name }}"}, "th": {"subject": "สวัสดี", "body": "สวัสดี"}},
    }
    step.update(changes)
    return step


def _edit(**changes):
    return {"starts_on": "delivered", "segment": {}, "steps": [_step()], **changes}


def _headers(domain: str = SHOP) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_id_token(domain)}", "Accept": "application/json"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/app/flows"),
        ("get", "/app/flows/winback"),
        ("post", "/app/flows/winback"),
        ("post", "/app/flows/winback/switch"),
    ],
)
def test_no_or_forged_session_token_is_refused(fake_app, install_shop, method, path):
    install_shop()
    client = fake_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        response = getattr(client, method)(path, query_string={"shop": SHOP}, headers=headers, json=_edit())
        assert response.status_code in (302, 401), (path, headers, response.status_code)
    assert db.session.execute(select(Flow)).first() is None


def test_a_change_needs_the_token_in_the_header(fake_app, install_shop):
    install_shop()
    client = fake_app.test_client()
    response = client.post(
        f"/app/flows/winback/switch?shop={SHOP}&id_token={make_id_token(SHOP)}", data={"enabled": "1"}
    )
    assert response.status_code in (302, 401)
    assert db.session.execute(select(Flow)).first() is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps(_edit(starts_on="whenever")).encode(),
        json.dumps(_edit(steps=[])).encode(),
        json.dumps(_edit(steps=[_step()] * 6)).encode(),
        json.dumps(_edit(steps=[_step(wait_days=-1)])).encode(),
        json.dumps(_edit(steps=[_step(wait_days="soon")])).encode(),
        json.dumps(_edit(steps=[_step(wait_days=10), _step(wait_days=2)])).encode(),
        json.dumps(_edit(steps=[_step(channel="fax")])).encode(),
        json.dumps(_edit(steps=[_step(texts={"en": {"subject": "", "body": "x"}})])).encode(),
        json.dumps(_edit(segment={"min_orders": "many"})).encode(),
        json.dumps(_edit(segment={"min_orders": 5, "max_orders": 2})).encode(),
        json.dumps(_edit(segment={"locales": ["fr"]})).encode(),
        json.dumps(_edit(segment={"products": ["abc"]})).encode(),
        json.dumps(_edit(segment={"min_spent": "NaN"})).encode(),
        json.dumps(_edit(segment="everyone")).encode(),
        json.dumps(
            _edit(
                steps=[
                    _step(
                        texts={
                            "en": {"subject": "x", "body": "{{ ''.__class__.__mro__ }}"},
                            "th": {"subject": "x", "body": "x"},
                        }
                    )
                ]
            )
        ).encode(),
    ],
)
def test_malformed_edits_are_a_4xx_with_a_reason_and_change_nothing(fake_app, install_shop, body):
    install_shop()
    response = fake_app.test_client().post(
        "/app/flows/winback", data=body, headers={**_headers(), "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.status_code
    assert response.json.get("errors") or response.json.get("error")
    assert db.session.execute(select(Flow)).first() is None


@pytest.mark.parametrize("body", [{}, {"enabled": "maybe"}, {"enabled": 2}])
def test_a_switch_without_on_or_off_is_refused(fake_app, install_shop, body):
    install_shop()
    response = fake_app.test_client().post("/app/flows/winback/switch", json=body, headers=_headers())
    assert response.status_code == 422 and response.json["errors"]["enabled"]
    assert db.session.execute(select(Flow)).first() is None


def test_an_unknown_flow_is_404(fake_app, install_shop):
    install_shop()
    client = fake_app.test_client()
    assert client.get(f"/app/flows/../../admin?shop={SHOP}&id_token={make_id_token(SHOP)}").status_code == 404
    assert client.post("/app/flows/everything", json=_edit(), headers=_headers()).status_code == 404
    assert client.post("/app/flows/everything/switch", json={"enabled": True}, headers=_headers()).status_code == 404


def test_one_shops_edit_never_touches_anothers_flows(fake_app, install_shop):
    install_shop()
    other = Shop(domain=OTHER_SHOP, is_installed=True)
    db.session.add(other)
    db.session.flush()
    db.session.add(
        Flow(
            shop_id=other.id,
            kind="winback",
            is_enabled=True,
            starts_on="order_placed",
            segment={},
            steps=[_step(wait_days=90)],
        )
    )
    db.session.commit()
    client = fake_app.test_client()
    assert client.post("/app/flows/winback", json=_edit(), headers=_headers()).status_code == 200
    assert client.post("/app/flows/winback/switch", json={"enabled": False}, headers=_headers()).status_code == 200
    db.session.expire_all()
    theirs = db.session.execute(select(Flow).where(Flow.shop_id == other.id)).scalar_one()
    assert theirs.is_enabled and theirs.steps[0]["wait_days"] == 90 and theirs.starts_on == "order_placed"
    page = client.get(f"/app/flows?shop={SHOP}&id_token={make_id_token(SHOP)}").get_data(as_text=True)
    assert "90 days" not in page
