"""Attacks on the thank-you question's admin page (/app/thank-you): no or forged session token refused and
nothing stored, an over-long question refused with a reason, markup written as text, and one shop's answers
never shown to another."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extension_api.models import ThankYouAnswer, ThankYouSettings
from app.extensions import db
from app.shopify.models import Shop
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
XSS = '<img src=x onerror="alert(1)">'


def _headers(token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or make_id_token(SHOP)}", "Accept": "application/json"}


@pytest.mark.parametrize("token", [None, "forged"])
def test_saving_without_a_genuine_token_is_refused_and_stores_nothing(fake_app, install_shop, token):
    install_shop()
    client = fake_app.test_client()
    headers = {} if token is None else _headers(make_id_token(SHOP, secret="not-the-app-secret-0123456789abcdef"))
    response = client.post("/app/api/thank-you/settings", data={"question_en": "Hi?"}, headers=headers)
    assert response.status_code == 401
    assert db.session.execute(select(ThankYouSettings)).first() is None


def test_an_over_long_question_is_refused_with_a_reason(fake_app, install_shop):
    install_shop()
    client = fake_app.test_client()
    response = client.post(
        "/app/api/thank-you/settings", data={"ask_question": "1", "question_en": "x" * 301}, headers=_headers()
    )
    assert response.status_code == 422 and response.get_json()["errors"]["question_en"]
    assert db.session.execute(select(ThankYouSettings)).first() is None


def test_markup_is_text_and_another_shops_answers_stay_out(fake_app, install_shop):
    shop_id = install_shop()
    other = Shop(domain=OTHER_SHOP, is_installed=True)
    db.session.add(other)
    db.session.flush()
    db.session.add_all(
        [
            ThankYouAnswer(shop_id=shop_id, shopify_order_id=1, question="Q", answer="From " + XSS),
            ThankYouAnswer(shop_id=other.id, shopify_order_id=2, question="Q", answer="the other shop's secret"),
        ]
    )
    db.session.commit()
    client = fake_app.test_client()
    saved = client.post(
        "/app/api/thank-you/settings", data={"ask_question": "1", "question_en": XSS}, headers=_headers()
    )
    assert saved.status_code == 200
    page = client.get("/app/thank-you", headers={"Authorization": f"Bearer {make_id_token(SHOP)}"}).get_data(
        as_text=True
    )
    assert XSS not in page and "&lt;img src=x" in page
    assert "the other shop" not in page
