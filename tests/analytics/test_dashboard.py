"""The dashboard as the merchant opens it: figures of the seeded week in English and Thai, tables beneath the
charts, CSV downloads equal to the tables, settings that change the estimate, and a backfill with progress."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html import unescape

import pytest
from sqlalchemy import select

from app.analytics.models import AnalyticsSettings, Backfill, DailyRollup
from app.analytics.rollups import rebuild_days
from app.extensions import db
from app.shopify.models import Shop
from tests.analytics.history import seed_history
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token
from tests.shopify.conftest import fake_app, fake_shopify, install_shop  # noqa: F401  (fixtures)

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
WEEK = {"from": "2026-11-02", "to": "2026-11-09"}


@pytest.fixture()
def seeded(fake_app, install_shop):  # noqa: F811
    install_shop()
    shop_id = seed_history(SHOP)
    rebuild_days(db.session, db.session.get(Shop, shop_id), date(2026, 10, 20), date(2026, 11, 30))
    db.session.commit()
    return fake_app.test_client()


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {make_id_token(SHOP)}"}


def _table(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table id="table-{table_id}">(.*?)</table>', html, re.S).group(1)
    return [
        [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_dashboard_shows_the_weeks_figures_with_charts_and_tables(seeded):
    html = seeded.get("/app/analytics", query_string=WEEK, headers=_headers()).get_data(as_text=True)
    assert "Contacts deflected" in html and "Delivery performance" in html and "Estimate accuracy" in html
    assert html.count("<svg ") >= 6 and '<script type="text/javascript">window.pygal' not in html
    summary = {row[0]: row[1:] for row in _table(html, "delivery-summary")[1:]}
    assert summary["On-time rate"][0] == "33.3%"
    assert summary["Order to delivery, P50"][0] == "4 d" and summary["Order to delivery, P90"][0] == "7 d"
    assert _table(html, "estimates-summary")[1][1] == "25.0%"
    deflection = {row[0]: row[1:] for row in _table(html, "deflection-summary")[1:]}
    assert deflection["Money saved"][0] == "$11.00" and deflection["Contacts avoided"][0] == "2.2"
    assert "20.0%" in html and "$5.00" in html  # the formula, with the settings it used
    assert 'href="/app/analytics/metrics' in html


def test_the_dashboard_in_thai(seeded):
    html = seeded.get("/app/analytics", query_string={**WEEK, "locale": "th"}, headers=_headers()).get_data(
        as_text=True
    )
    assert "ประสิทธิภาพการจัดส่ง" in html and "อัตราตรงเวลา" in html and "พ.ย." in html


def test_every_csv_download_matches_its_table(seeded):
    html = seeded.get("/app/analytics", query_string=WEEK, headers=_headers()).get_data(as_text=True)
    table_ids = re.findall(r'<table id="table-([a-z0-9-]+)">', html)
    assert len(table_ids) >= 15
    for table_id in table_ids:
        response = seeded.get(f"/app/analytics/export/{table_id}.csv", query_string=WEEK, headers=_headers())
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        assert rows == _table(html, table_id), table_id


def test_settings_change_the_estimate_and_bad_values_are_refused(seeded):
    bad = seeded.post(
        "/app/api/analytics/settings",
        json={
            "cost_per_contact": "-1",
            "contact_share_percent": "150",
            "is_weekly_summary_on": True,
            "weekly_summary_to": "nope",
        },
        headers=_headers(),
    )
    assert bad.status_code == 422 and set(bad.json["errors"]) == {
        "cost_per_contact",
        "contact_share_percent",
        "weekly_summary_to",
    }
    good = seeded.post(
        "/app/api/analytics/settings",
        json={"cost_per_contact": "4.50", "contact_share_percent": "25"},
        headers=_headers(),
    )
    assert good.status_code == 200
    html = seeded.get("/app/analytics", query_string=WEEK, headers=_headers()).get_data(as_text=True)
    deflection = {row[0]: row[1:] for row in _table(html, "deflection-summary")[1:]}
    assert deflection["Money saved"][0] == "$12.38" and deflection["Contacts avoided"][0] == "2.8"
    assert db.session.execute(select(AnalyticsSettings)).scalar_one().contact_share == 0.25


def test_a_backfill_builds_the_history_and_reports_progress(fake_app, install_shop, run_jobs):  # noqa: F811
    install_shop()
    seed_history(SHOP)
    client = fake_app.test_client()
    assert client.get("/app/api/analytics/backfill", headers=_headers()).json == {"status": "none"}
    started = client.post("/app/analytics/backfill", headers={**_headers(), "Accept": "application/json"})
    assert started.status_code == 200 and started.json["status"] == "running" and started.json["done"] == 0
    run_jobs()
    progress = client.get("/app/api/analytics/backfill", headers=_headers()).json
    assert progress["status"] == "done" and progress["done"] == progress["total"] and progress["percent"] == 100
    db.session.expire_all()
    backfill = db.session.execute(select(Backfill)).scalar_one()
    assert backfill.first_day == date(2026, 10, 30)  # the shop's first order, in New York
    html = client.get("/app/analytics", query_string=WEEK, headers=_headers()).get_data(as_text=True)
    assert _table(html, "delivery-summary")[1][1] == "4"  # parcels delivered
    assert db.session.execute(select(DailyRollup.id).limit(1)).first() is not None


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-11-09", "to": "2026-11-02"},
        {"from": "yesterday", "to": "x"},
        {"days": "0"},
        {"from": "2020-01-01", "to": "2026-01-01"},
    ],
)
def test_a_bad_range_is_a_400_with_a_reason(seeded, query):
    response = seeded.get("/app/analytics", query_string=query, headers=_headers())
    assert response.status_code == 400 and "YYYY-MM-DD" in response.json["error"]
    response = seeded.get("/app/analytics/export/delivery-carriers.csv", query_string=query, headers=_headers())
    assert response.status_code == 400
