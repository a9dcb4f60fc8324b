"""With the database down, every audience's pages answer a friendly 503 that says when to retry."""

from __future__ import annotations

import pytest

from app.config import DEMO_SHOP_DOMAIN
from app.storefront.links import make_track_token
from tests.conftest import free_port
from tests.storefront.test_tracking_page import signed_query


@pytest.fixture()
def down(make_app):
    return make_app(database_url=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing", demo_login=True)


def test_pages_answer_503_with_retry_after_when_the_database_is_down(down):
    with down.app_context():
        link = f"/l/track/{make_track_token(1, 1)}"
    client = down.test_client()
    requests = {
        "tracking page": ("/proxy/track?" + signed_query({"order": "1001", "email": "a@b.co", "locale": "th"}), "th"),
        "tracking JSON": ("/proxy/api/track?" + signed_query({"order": "1001", "email": "a@b.co"}), "en"),
        "returns portal": ("/proxy/returns?" + signed_query({"order": "1001", "email": "a@b.co"}), "en"),
        "signed link": (link, "en"),
        "admin": (f"/app?shop={DEMO_SHOP_DOMAIN}", "en"),
    }
    for name, (path, locale) in requests.items():
        response = client.get(path)
        assert response.status_code == 503, name
        assert response.headers["Retry-After"] == "30", name
        text = response.get_data(as_text=True)
        assert ("ขณะนี้ระบบ" in text) if locale == "th" else ("try again in a minute" in text), name
    assert (
        client.get("/proxy/api/track?" + signed_query({"order": "1", "email": "a@b.co"})).json["error"] == "unavailable"
    )
