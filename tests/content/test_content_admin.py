"""The content library in the admin: a form (English and Thai, a video link checked like every URL), each problem
answered 422 beside its field with what was typed kept; editing and deleting; importing from a product metafield
through the Admin GraphQL API (the local fake), again without duplicates, and nothing changed when Shopify fails."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.content.models import ContentEntry
from app.extensions import db
from tests.conftest import SHOP
from tests.content.conftest import TEE, TOTE
from tests.fakes.shopify import make_id_token

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

FORM = {
    "kind": "care",
    "scope": "product_type",
    "scope_value": "Shirts",
    "delay_days": "10",
    "title_en": "Wash it cold",
    "body_en": "Cold water, inside out.",
    "title_th": "ซักน้ำเย็น",
    "body_th": "ซักด้วยน้ำเย็น กลับด้านใน",
    "video_url": "https://videos.example/care",
}


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {make_id_token(SHOP)}"}


def _entries(app) -> list[ContentEntry]:
    with app.app_context():
        rows = db.session.execute(select(ContentEntry).order_by(ContentEntry.id)).scalars().all()
        db.session.expunge_all()
        return rows


def test_a_form_saves_english_and_thai_and_the_page_lists_it(content_app, shop_id):
    client = content_app.test_client()
    saved = client.post("/app/content", data=FORM, headers=_headers())
    assert saved.status_code == 302
    (entry,) = _entries(content_app)
    assert (entry.kind, entry.scope, entry.scope_value, entry.delay_days) == ("care", "product_type", "Shirts", 10)
    assert entry.texts == {
        "en": {"title": "Wash it cold", "body": "Cold water, inside out."},
        "th": {"title": "ซักน้ำเย็น", "body": "ซักด้วยน้ำเย็น กลับด้านใน"},
    }
    page = client.get("/app/content?locale=th", headers=_headers()).get_data(as_text=True)
    assert "ซักน้ำเย็น" in page and "10 วันหลังส่งถึง" in page
    edited = client.post(f"/app/content/{entry.id}", data={**FORM, "title_en": "Wash it colder"}, headers=_headers())
    assert edited.status_code == 302 and _entries(content_app)[0].texts["en"]["title"] == "Wash it colder"
    assert client.post(f"/app/content/{entry.id}/delete", headers=_headers()).status_code == 302
    assert _entries(content_app) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"video_url": "javascript:alert(1)"}, "video_url"),
        ({"video_url": "ftp://videos.example/x"}, "video_url"),
        ({"scope": "product", "scope_value": "the tee"}, "scope_value"),
        ({"delay_days": "-3"}, "delay_days"),
        ({"kind": "newsletter"}, "kind"),
        ({"title_th": "", "body_th": "ข้อความไม่มีหัวข้อ"}, "title_th"),
        ({"title_en": "", "body_en": "", "title_th": "", "body_th": ""}, "title_en"),
    ],
)
def test_a_problem_is_answered_beside_its_field_and_what_was_typed_is_kept(content_app, shop_id, change, field):
    response = content_app.test_client().post("/app/content", data={**FORM, **change}, headers=_headers())
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'data-error="{field}"' in page
    assert "Cold water, inside out." in page or field == "title_en"
    assert _entries(content_app) == []
    as_json = content_app.test_client().post("/app/content", json={**FORM, **change}, headers=_headers())
    assert as_json.status_code == 422 and field in as_json.get_json()["errors"]


def _products(fake_shopify) -> None:
    fake_shopify.shop(SHOP).products = {
        f"gid://shopify/Product/{TEE}": {
            "id": f"gid://shopify/Product/{TEE}",
            "title": "Cotton tee",
            "metafields": {
                "descriptors.care_guide": {"type": "multi_line_text_field", "value": "Wash cold.\nDry flat."}
            },
        },
        f"gid://shopify/Product/{TOTE}": {
            "id": f"gid://shopify/Product/{TOTE}",
            "title": "Canvas tote",
            "metafields": {
                "descriptors.care_guide": {
                    "type": "rich_text_field",
                    "value": json.dumps(
                        {
                            "type": "root",
                            "children": [
                                {"type": "paragraph", "children": [{"type": "text", "value": "Spot clean only."}]}
                            ],
                        }
                    ),
                }
            },
        },
        "gid://shopify/Product/7003": {"id": "gid://shopify/Product/7003", "title": "Gift card", "metafields": {}},
    }


def test_care_guides_import_from_the_standard_metafield_once(content_app, shop_id, fake_shopify):
    _products(fake_shopify)
    client = content_app.test_client()
    answer = client.post(
        "/app/content/import", json={"metafield": "descriptors.care_guide", "delay_days": 14}, headers=_headers()
    )
    assert answer.status_code == 200 and answer.get_json() == {"imported": 2}
    entries = _entries(content_app)
    assert {(e.scope, e.scope_value, e.kind, e.delay_days, e.source) for e in entries} == {
        ("product", str(TEE), "care", 14, "metafield:descriptors.care_guide"),
        ("product", str(TOTE), "care", 14, "metafield:descriptors.care_guide"),
    }
    assert {e.texts["en"]["body"] for e in entries} == {"Wash cold.\nDry flat.", "Spot clean only."}
    query = next(r for r in fake_shopify.graphql_requests(SHOP) if "products" in r.json["query"])
    assert query.json["variables"]["namespace"] == "descriptors" and query.json["variables"]["key"] == "care_guide"
    fake_shopify.shop(SHOP).products[f"gid://shopify/Product/{TEE}"]["metafields"]["descriptors.care_guide"][
        "value"
    ] = "New"
    assert (
        client.post("/app/content/import", data={"metafield": "descriptors.care_guide"}, headers=_headers()).status_code
        == 302
    )
    entries = _entries(content_app)
    assert len(entries) == 2 and "New" in {e.texts["en"]["body"] for e in entries}


def test_an_import_shopify_cannot_answer_changes_nothing(content_app, shop_id, fake_shopify):
    _products(fake_shopify)
    for _ in range(3):  # a query is retried twice after a gateway error
        fake_shopify.script(SHOP, 503)
    answer = content_app.test_client().post("/app/content/import", json={}, headers=_headers())
    assert answer.status_code == 502 and answer.get_json()["error"]
    assert _entries(content_app) == []
    bad = content_app.test_client().post("/app/content/import", json={"metafield": "no dot here"}, headers=_headers())
    assert bad.status_code == 422 and "metafield" in bad.get_json()["errors"]
