"""Attacks on the survey pages: the admin's (/app/surveys, /app/api/surveys/settings, /app/surveys/<id>/handled)
and the shopper's signed links (/l/s/...)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.events import DomainEvent
from app.extensions import db
from app.shopify.models import Shop
from app.surveys.links import FOLLOW, SCORE, make_token
from app.surveys.models import Survey, SurveySettings
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _survey_of(domain: str, **values) -> Survey:
    shop = db.session.execute(select(Shop).where(Shop.domain == domain)).scalar_one_or_none()
    if shop is None:
        shop = Shop(domain=domain, is_installed=True)
        db.session.add(shop)
        db.session.flush()
    survey = Survey(
        shop_id=shop.id,
        public_id=f"pub-{domain[:5]}",
        shopify_order_id=4242,
        order_name="#9001",
        question="csat",
        locale="en",
        status="sent",
        due_at=utcnow() - timedelta(days=1),
        asked_at=utcnow(),
        detractor_cycle=0,
        **values,
    )
    db.session.add(survey)
    db.session.commit()
    return survey


def test_another_shops_survey_cannot_be_seen_or_handled(fake_app, install_shop):
    install_shop()
    other = _survey_of(OTHER_SHOP, csat_score=1, answered_at=utcnow(), detractor_at=utcnow(), comment="secret words")
    client = fake_app.test_client()
    headers = {"Authorization": f"Bearer {make_id_token(SHOP)}", "Accept": "application/json"}
    response = client.post(f"/app/surveys/{other.id}/handled", headers=headers)
    assert response.status_code == 404 and b"9001" not in response.data
    db.session.expire_all()
    assert db.session.get(Survey, other.id).detractor_handled_at is None
    page = client.get(f"/app/surveys?shop={SHOP}&id_token={make_id_token(SHOP)}").get_data(as_text=True)
    assert "secret words" not in page and "#9001" not in page and f"/app/surveys/{other.id}/handled" not in page
    assert db.session.execute(select(DomainEvent).where(DomainEvent.kind.like("survey.%"))).first() is None


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/app/surveys"), ("post", "/app/surveys/1/handled"), ("post", "/app/api/surveys/settings")],
)
def test_no_or_forged_session_token_is_refused(fake_app, install_shop, method, path):
    install_shop()
    client = fake_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        response = getattr(client, method)(path, query_string={"shop": SHOP}, headers=headers)
        assert response.status_code in (302, 401), (path, headers, response.status_code)
    assert db.session.execute(select(SurveySettings)).first() is None


def test_settings_change_only_with_the_session_token_in_the_header(fake_app, install_shop):
    install_shop()
    client = fake_app.test_client()
    # The token in the query string opens pages, but a state change needs it in the Authorization header.
    response = client.post(
        f"/app/api/surveys/settings?shop={SHOP}&id_token={make_id_token(SHOP)}", data={"question": "nps"}
    )
    assert response.status_code in (302, 401)
    assert db.session.execute(select(SurveySettings)).first() is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"question": "everything"}',
        b'{"delay_days": -1}',
        b'{"delay_days": "two"}',
        b'{"channels": []}',
        b'{"channels": ["fax"]}',
        b'{"channels": "email"}',
    ],
)
def test_malformed_settings_are_a_4xx_with_a_reason(fake_app, install_shop, body):
    install_shop()
    response = fake_app.test_client().post(
        "/app/api/surveys/settings",
        data=body,
        headers={"Authorization": f"Bearer {make_id_token(SHOP)}", "Content-Type": "application/json"},
    )
    if body == b'{"channels": "email"}':
        assert response.status_code == 200  # one channel named on its own is a list of one
        return
    assert response.status_code in (400, 422) and (response.json.get("errors") or response.json.get("error"))


def test_survey_links_do_not_cross_shops_or_purposes_and_are_never_framed(fake_app, install_shop):
    install_shop()
    mine = _survey_of(SHOP)
    client = fake_app.test_client()
    # A link names only a survey's random public id: guessing another one, or reusing a follow-up token as a
    # score, is refused, and nothing is recorded.
    for token in (
        make_token("pub-other", SCORE, "csat", 1),
        make_token(mine.public_id, FOLLOW, "csat", 1),
        make_token(mine.public_id, SCORE, "csat", True),
        "not-a-token",
    ):
        assert client.get(f"/l/s/{token}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Survey, mine.id).answered_at is None
    link = f"/l/s/{make_token(mine.public_id, SCORE, 'csat', 4)}"
    shown = client.get(link)
    assert shown.status_code == 200
    assert shown.headers["X-Frame-Options"] == "DENY" and shown.headers["Cache-Control"] == "no-store"
    assert shown.headers["Referrer-Policy"] == "no-referrer"
    # A scanner that opens (or HEADs) the link records nothing; a malformed score is a 400 and records nothing.
    assert client.head(link).status_code == 200
    for bad in ("9", "0", "x", "4.5", "-1"):
        assert client.post(link, data={"score": bad}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Survey, mine.id).answered_at is None
    tapped = client.post(link, data={"score": "4"})
    assert tapped.status_code == 303
    # The follow-up page escapes what the shopper wrote.
    follow = tapped.headers["Location"].replace("http://localhost", "")
    follow = follow[follow.index("/l/s/f/") :]
    client.post(follow, data={"comment": "<script>alert(1)</script>"})
    page = client.get(follow).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_a_redacted_shops_links_are_dead(fake_app, install_shop):
    install_shop()
    mine = _survey_of(SHOP)
    shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
    shop.redacted_at = utcnow()
    db.session.commit()
    link = f"/l/s/{make_token(mine.public_id, SCORE, 'csat', 4)}"
    assert fake_app.test_client().get(link).status_code == 404
    assert fake_app.test_client().post(link, data={"score": "4"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Survey, mine.id).answered_at is None
