"""Attacks on the analytics pages (/app/analytics, its CSV downloads, the metrics page, settings, backfill): no or a
forged session token, malformed input, and another shop's figures."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.analytics.models import AnalyticsSettings, Backfill
from app.analytics.rollups import rebuild_days
from app.extensions import db
from app.shopify.models import Shop
from tests.analytics.history import seed_history
from tests.conftest import OTHER_SHOP, SHOP
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
WEEK = {"from": "2026-11-02", "to": "2026-11-09"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/app/analytics"),
        ("get", "/app/analytics/export/delivery-carriers.csv"),
        ("get", "/app/analytics/metrics"),
        ("get", "/app/api/analytics/backfill"),
        ("post", "/app/api/analytics/settings"),
        ("post", "/app/analytics/backfill"),
    ],
)
def test_no_or_forged_session_token_is_refused(fake_app, install_shop, method, path):
    install_shop()
    client = fake_app.test_client()
    forged = make_id_token(SHOP, secret="not-the-app-secret")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        response = getattr(client, method)(
            path, query_string={"shop": SHOP}, data={"cost_per_contact": "1"}, headers=headers
        )
        assert response.status_code in (302, 401), (path, headers, response.status_code)
    assert db.session.execute(select(AnalyticsSettings)).first() is None
    assert db.session.execute(select(Backfill)).first() is None


def test_settings_change_only_with_the_session_token_in_the_header(fake_app, install_shop):
    install_shop()
    response = fake_app.test_client().post(
        f"/app/api/analytics/settings?shop={SHOP}&id_token={make_id_token(SHOP)}",
        data={"cost_per_contact": "9", "contact_share_percent": "50"},
    )
    assert response.status_code in (302, 401)
    assert db.session.execute(select(AnalyticsSettings)).first() is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"cost_per_contact": "five"}',
        b'{"cost_per_contact": "1", "contact_share_percent": "-3"}',
        b'{"cost_per_contact": "1", "contact_share_percent": "5", "weekly_summary_locale": "fr"}',
        b'{"cost_per_contact": "1", "contact_share_percent": "5", "weekly_summary_to": "a@b.test\\r\\nBcc: x@y.test"}',
    ],
)
def test_malformed_settings_are_a_4xx_with_a_reason(fake_app, install_shop, body):
    install_shop()
    response = fake_app.test_client().post(
        "/app/api/analytics/settings",
        data=body,
        headers={"Authorization": f"Bearer {make_id_token(SHOP)}", "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422) and (response.json.get("errors") or response.json.get("error"))
    assert db.session.execute(select(AnalyticsSettings)).first() is None


def test_another_shops_figures_never_show(fake_app, install_shop):
    install_shop()
    other_id = seed_history(OTHER_SHOP)
    rebuild_days(db.session, db.session.get(Shop, other_id), date(2026, 10, 20), date(2026, 11, 30))
    db.session.commit()
    client = fake_app.test_client()
    headers = {"Authorization": f"Bearer {make_id_token(SHOP)}"}
    page = client.get("/app/analytics", query_string=WEEK, headers=headers).get_data(as_text=True)
    assert "Tee A" not in page and "$11.00" not in page and "<td>ups<" not in page and "<td>usps<" not in page
    csv_text = client.get("/app/analytics/export/returns-products.csv", query_string=WEEK, headers=headers).get_data(
        as_text=True
    )
    assert "Tee" not in csv_text
    assert client.get("/app/analytics/export/no-such-table.csv", headers=headers).status_code == 404
    assert client.get("/app/api/analytics/backfill", headers=headers).json == {"status": "none"}
