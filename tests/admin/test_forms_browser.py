"""The admin's forms in a real browser, on the seeded demo with Shopify's CDN refused: the return policy filled in
and saved (a rule added, a condition picked from the lists, a bad value shown beside its field first), products
pinned by searching the catalogue, and the tracking settings saved without losing the FAQ or the contact page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.config import Settings
from app.demo import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.recommendations.models import RecommendationSettings
from app.returns.models import ReturnPolicy
from app.shopify.models import Shop
from app.tracking.models import TrackingSettings
from app.tracking.services import tracking_settings
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts, needs_chromium, serving

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test says what to install
    sync_playwright = None  # type: ignore[assignment]

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("forms-demo")
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{folder / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def browser_page(demo) -> Iterator[tuple[str, object]]:
    if sync_playwright is None:
        pytest.fail("Python Playwright is not installed: .venv/bin/pip install playwright")
    with serving(demo) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route(
                "**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort()
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield base, page
            assert errors == []
        finally:
            browser.close()


def test_the_policy_form_is_filled_in_and_saved(demo, browser_page):
    base, page = browser_page
    folder = artifacts("admin-forms")
    page.goto(f"{base}/app/returns/policy?locale=en")
    page.click("button[value='add_rule']")  # the page comes back with a new, empty rule
    page.wait_for_selector("input[name='rules-1-name']")
    page.fill("input[name='rules-1-name']", "Sale items: credit only")
    page.select_option("select[name='rules-1-cond-0-field']", "product_tags")
    # Only the comparisons that fit tags can be picked.
    assert page.is_disabled("select[name='rules-1-cond-0-op'] option[value='gt']")
    page.select_option("select[name='rules-1-cond-0-op']", "contains_any")
    page.fill("input[name='rules-1-cond-0-value']", "sale, outlet")
    page.check("input[name='rules-1-restrict_resolutions']")
    page.check("input[name='rules-1-allowed_resolutions'][value='store_credit']")
    page.fill("input[name='rules-1-credit_bonus_percent']", "250")  # more than 100: refused
    page.fill("input[name='window_days']", "21")
    page.click("#save-policy")
    page.wait_for_selector("#err-rules-1-credit_bonus_percent:not(:empty)")
    assert page.inner_text("#err-rules-1-credit_bonus_percent") == "Enter a number from 0 to 100."
    assert page.input_value("input[name='rules-1-name']") == "Sale items: credit only"  # kept as typed
    page.screenshot(path=str(folder / "policy-errors-en-1280.png"), full_page=True)
    with demo.app_context():
        assert db.session.execute(select(ReturnPolicy.draft)).scalar_one() is None
    page.fill("input[name='rules-1-credit_bonus_percent']", "25")
    page.click("#save-policy")
    page.wait_for_selector("#simulation")
    with demo.app_context():
        draft = db.session.execute(select(ReturnPolicy.draft)).scalar_one()
    assert draft["window_days"] == 21
    assert draft["rules"][1] == {
        "id": "rule-2",
        "name": "Sale items: credit only",
        "conditions": [{"field": "product_tags", "op": "contains_any", "value": ["sale", "outlet"]}],
        "outcome": {"allowed_resolutions": ["store_credit"], "credit_bonus_percent": "25"},
    }
    page.screenshot(path=str(folder / "policy-saved-en-1280.png"), full_page=True)


def test_products_are_pinned_by_searching_the_catalogue(demo, browser_page):
    base, page = browser_page
    page.goto(f"{base}/app/recommendations?locale=th")
    picker = page.locator("[data-picker='pins_return_status']")
    picker.locator("[data-search]").fill("linen")
    picker.locator("[data-search-go]").click()
    picker.locator("[data-results] li").first.wait_for()
    assert picker.locator("[data-results] li").all_inner_texts()[0].startswith("Linen")
    picker.locator("[data-results] li", has_text="Linen trousers").locator("button").click()
    assert picker.locator(".ac-picked li img").count() == 1  # its picture is shown with its title
    page.click("#recs-settings button[type='submit']")
    page.wait_for_function("document.getElementById('save-result').textContent.length > 0")
    with demo.app_context():
        settings = db.session.execute(select(RecommendationSettings)).scalar_one()
        assert settings.pins["return_status"] == [9_200_008]
        assert settings.pins["tracking_page"] == [9_200_006]  # what was there stays
    page.screenshot(path=str(artifacts("admin-forms") / "recommendations-picked-th-1280.png"), full_page=True)


def test_saving_tracking_settings_keeps_the_faq_and_the_contact_page(demo, browser_page):
    base, page = browser_page
    faq = [
        {"q": "When will it ship?", "a": "Within two days.", "locale": "en"},
        {"q": "ส่งเมื่อไร", "a": "ภายในสองวัน", "locale": "th"},
    ]
    with demo.app_context():
        shop_id = db.session.execute(select(Shop.id).where(Shop.domain == DEMO_SHOP_DOMAIN)).scalar_one()
        settings = tracking_settings(db.session, shop_id)
        settings.faq, settings.contact_url = faq, "https://help.example.com/contact"
        db.session.add(settings)
        db.session.commit()
    page.goto(f"{base}/app/settings?locale=en")
    page.fill("input[name='contact_url']", "javascript:alert(1)")
    page.click("#settings button[type='submit']")
    page.wait_for_selector("[data-error='contact_url']:not(:empty)")
    assert "https://" in page.inner_text("[data-error='contact_url']")
    page.fill("input[name='contact_url']", "https://help.example.com/contact")
    page.fill("input[name='handling_days']", "3")
    page.click("#faq-add")
    page.locator("[data-faq-row]").last.locator("[data-faq='q']").fill("Can I change the address?")
    page.click("#settings button[type='submit']")
    page.wait_for_selector("[data-faq-row] [data-faq-error='a']:not(:empty)")  # half an entry is refused
    page.locator("[data-faq-row]").last.locator("[data-faq='a']").fill("Write to us before it ships.")
    page.click("#settings button[type='submit']")
    page.wait_for_function("document.getElementById('result').textContent === 'Saved.'")
    with demo.app_context():
        db.session.expire_all()
        settings = db.session.execute(select(TrackingSettings)).scalars().first()
        assert settings.handling_days == 3 and settings.contact_url == "https://help.example.com/contact"
        assert settings.faq == [
            *faq,
            {"q": "Can I change the address?", "a": "Write to us before it ships.", "locale": "en"},
        ]
