"""Inside Shopify, an admin form that changes something reaches the app with the session token.

A state change takes the token only from the Authorization header (a token in a URL could come from another
site), so a plain form post from the embedded admin would be refused. The admin's frame posts such forms with
fetch and App Bridge's token. Here a stand-in App Bridge (the test network is closed) gives a real session
token signed with the app's secret, as `shopify.idToken()` does, and Chromium submits the forms."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.helpdesk.models import HelpdeskToken
from tests.browser import CHROMIUM, CHROMIUM_ARGS, artifacts, needs_chromium, serving
from tests.conftest import SHOP
from tests.fakes.shopify import make_id_token
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)
from tests.tracking.test_timeline import order_payload

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test says what to install
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [needs_chromium, pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")]

APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"


def test_a_form_in_the_embedded_admin_posts_with_the_session_token(make_app, fake_shopify, post_webhook):  # noqa: F811
    app = make_app(shopify_admin_origin=fake_shopify.origin)
    assert post_webhook("orders/create", order_payload(utcnow()), via=app.test_client()).status_code == 200
    token = json.dumps(make_id_token(SHOP, lifetime=600))
    stand_in = f"window.shopify = {{idToken: () => Promise.resolve({token}), toast: {{show() {{}}}}}};"
    with serving(app) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.route(
            "**/*",
            lambda route: (
                route.fulfill(status=200, content_type="text/javascript", body=stand_in)
                if route.request.url == APP_BRIDGE
                else route.continue_()
                if route.request.url.startswith(base)
                else route.abort()
            ),
        )
        posts = []
        page.on("request", lambda r: r.method == "POST" and posts.append(r.headers.get("authorization", "")))
        page.goto(f"{base}/app/helpdesk?shop={SHOP}&id_token={make_id_token(SHOP, lifetime=600)}")
        page.click("form[action*='/app/helpdesk/token'] button")
        page.wait_for_selector("input[value^='achd_']", timeout=10_000)
        page.screenshot(path=str(artifacts("admin-forms") / "helpdesk-token-made.png"), full_page=True)
        browser.close()
    assert posts and posts[0].startswith("Bearer ")
    with app.app_context():
        assert db.session.execute(select(HelpdeskToken)).scalar_one().hint
