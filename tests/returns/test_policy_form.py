"""The return policy as a form: JSON -> form -> post -> JSON gives exactly what the rules engine reads; every bad
field answers 422 with its reason beside it, in the merchant's language, and saves nothing; rows are added and
removed without saving; the Advanced JSON view shows its problems on the page."""

from __future__ import annotations

import copy
import html
import re

import pytest
from markupsafe import escape
from sqlalchemy import select

from app.demo import DEMO_SHOP_DOMAIN
from app.extensions import db
from app.returns.models import ReturnPolicy
from app.returns.policy_form import (
    apply_action,
    check_form,
    field_for_path,
    form_from_policy,
    form_from_post,
    post_from_form,
)
from app.returns.rules import policy_from_dict
from app.returns.tiers import default_policy

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

RICH = {
    "window_days": 45,
    "resolutions": ["refund", "store_credit"],
    "credit_bonus_percent": "12.5",
    "return_shipping_fee": "60",
    "seller_fault_free_shipping": False,
    "restocking_fee_percent": "5",
    "review": "auto",
    "keep_under_value": None,
    "final_sale_tags": ["final-sale", "clearance"],
    "rules": [
        {
            "id": "no-underwear",
            "name": "Underwear cannot be returned",
            "conditions": [
                {"field": "product_type", "op": "in", "value": ["Underwear", "Swimwear"]},
                {"field": "is_final_sale", "op": "is_false"},
            ],
            "outcome": {"eligible": False, "message": {"en": "Hygiene items stay.", "th": "สินค้าอนามัยคืนไม่ได้"}},
        },
        {
            "id": "big-orders",
            "name": "Big orders: longer window, credit only",
            "enabled": False,
            "conditions": [
                {"field": "order_value", "op": "gte", "value": "5000"},
                {"field": "customer_tags", "op": "contains_any", "value": ["vip", "wholesale"]},
                {"field": "destination_country", "op": "eq", "value": "TH"},
            ],
            "outcome": {
                "window_days": 90,
                "allowed_resolutions": ["store_credit", "keep"],
                "credit_bonus_percent": "15",
                "free_return_shipping": True,
                "restocking_fee_percent": "0",
                "review": "manual",
                "keep_under_value": "300",
            },
        },
    ],
    "tiers": [
        {"code": "member", "name": "Member", "rank": 0, "perks": {}},
        {
            "code": "vip",
            "name": "VIP",
            "rank": 3,
            "min_orders": 10,
            "min_spent": "30000",
            "tags": ["vip"],
            "perks": {
                "window": {"enabled": False, "days": 60},
                "free_return_shipping": {"enabled": True},
                "auto_approve": {"enabled": True},
                "credit_bonus": {"enabled": True, "percent": "7.5"},
            },
        },
    ],
}


def round_trip(raw: dict) -> tuple[dict, dict]:
    form = form_from_policy(raw)
    posted = form_from_post(post_from_form(form))
    assert posted == form  # form -> post -> form keeps every value
    return check_form(posted)


def test_the_default_policy_survives_form_and_back_exactly():
    saved, problems = round_trip(default_policy())
    assert problems == {}
    assert saved == default_policy()


def test_a_policy_using_every_kind_of_field_survives_form_and_back_exactly():
    saved, problems = round_trip(copy.deepcopy(RICH))
    assert problems == {}
    assert saved == RICH
    assert policy_from_dict(saved) == policy_from_dict(RICH)


def test_a_policy_written_by_hand_keeps_its_meaning():
    # Numbers as numbers, a perk switched off, a rule's outcome saying "eligible": the same Policy comes back.
    raw = copy.deepcopy(RICH)
    raw.update(credit_bonus_percent=12.5, window_days="45")
    raw["tiers"][0]["perks"] = {"auto_approve": {"enabled": False}}
    raw["rules"][0]["outcome"]["eligible"] = False
    saved, problems = round_trip(raw)
    assert problems == {}
    assert policy_from_dict(saved) == policy_from_dict(raw)


def test_each_bad_field_is_named_by_its_form_field():
    form = form_from_policy(copy.deepcopy(RICH))
    form.update(window_days="forever", restocking_fee_percent="120", resolutions=["refund", "teleport"])
    form["rules"][0]["name"] = ""
    form["rules"][1]["conditions"][0].update(value="lots")
    form["rules"][1]["conditions"][1].update(op="gt")
    form["rules"][1]["window_days"] = "-3"
    form["tiers"][1].update(code="member", min_orders="many", credit_bonus_percent="200")
    _, problems = check_form(form)
    assert {field: why.key for field, why in problems.items()} == {
        "window_days": "admin.policy.err.whole_number",
        "restocking_fee_percent": "admin.policy.err.number_range",
        "resolutions": "admin.policy.err.resolutions",
        "rules-0-name": "admin.policy.err.required",
        "rules-1-cond-0-value": "admin.policy.err.number",
        "rules-1-cond-1-op": "admin.policy.err.condition_op",
        "rules-1-window_days": "admin.policy.err.whole_number",
        "tiers-0-code": "admin.policy.err.tier_codes_unique",
        "tiers-1-code": "admin.policy.err.tier_codes_unique",
        "tiers-1-min_orders": "admin.policy.err.whole_number",
        "tiers-1-credit_bonus_percent": "admin.policy.err.number_range",
    }


def test_engine_paths_map_to_the_fields_that_show_them():
    assert field_for_path("rules.2.conditions.0.op") == "rules-2-cond-0-op"
    assert field_for_path("rules.1.outcome.credit_bonus_percent") == "rules-1-credit_bonus_percent"
    assert field_for_path("rules.1.outcome.message") == "rules-1-message_en"
    assert field_for_path("tiers.0.perks.window.days") == "tiers-0-window_days"
    assert field_for_path("tiers.3") == "tiers-3-code"
    assert field_for_path("window_days") == "window_days"


def test_row_buttons_add_and_remove_rows():
    form = form_from_policy(copy.deepcopy(RICH))
    assert apply_action(form, "add_rule") and form["rules"][-1]["id"] == "rule-3"
    assert apply_action(form, "add_condition-2") and len(form["rules"][2]["conditions"]) == 2
    assert apply_action(form, "remove_condition-1-2") and len(form["rules"][1]["conditions"]) == 2
    assert apply_action(form, "remove_rule-0") and form["rules"][0]["id"] == "big-orders"
    assert apply_action(form, "add_tier") and form["tiers"][-1]["rank"] == "4"
    assert apply_action(form, "remove_tier-0") and [t["code"] for t in form["tiers"]] == ["vip", ""]
    assert not apply_action(form, "save") and not apply_action(form, "remove_rule-99x")
    assert apply_action(form, "remove_rule-99") and len(form["rules"]) == 2  # no such row: nothing removed


# --- over HTTP ---------------------------------------------------------------------------------------------


@pytest.fixture()
def shop_domain() -> str:
    return DEMO_SHOP_DOMAIN  # the demo owner's login signs the admin in


def _policy(shop_id: int) -> ReturnPolicy:
    db.session.expire_all()
    return db.session.execute(select(ReturnPolicy).where(ReturnPolicy.shop_id == shop_id)).scalar_one()


def _error_beside(page: str, field: str) -> str:
    found = re.search(rf'<span class="field-error" id="err-{re.escape(field)}"[^>]*>([^<]*)</span>', page)
    assert found, field
    return html.unescape(found.group(1))


def test_a_bad_form_answers_422_with_each_reason_beside_its_field_and_saves_nothing(fake_app, shop_id):
    client = fake_app.test_client()
    assert client.get("/app/returns/policy").status_code == 200
    post = post_from_form(form_from_policy(default_policy()))
    post.update({"window_days": ["forever"], "rules-0-cond-0-value": [""], "tiers-1-min_spent": ["lots<b>"]})
    response = client.post("/app/returns/policy", data=post)
    assert response.status_code == 422
    page = response.text
    assert _error_beside(page, "window_days") == "Enter a whole number from 0 to 3650."
    assert _error_beside(page, "rules-0-cond-0-value") == "Fill this in."
    assert _error_beside(page, "tiers-1-min_spent") == "Enter a number of at least 0."
    assert 'name="window_days" value="forever" aria-invalid="true"' in page  # what was typed stays
    assert 'value="lots&lt;b&gt;"' in page and "lots<b>" not in page
    assert "3 fields need a change" in page
    assert _policy(shop_id).draft is None
    thai = client.post("/app/returns/policy?locale=th", data=post)
    assert thai.status_code == 422 and _error_beside(thai.text, "window_days") == "โปรดใส่จำนวนเต็มตั้งแต่ 0 ถึง 3650"


def test_a_good_form_saves_the_draft_the_engine_reads(fake_app, shop_id):
    client = fake_app.test_client()
    post = post_from_form(form_from_policy(copy.deepcopy(RICH)))
    response = client.post("/app/returns/policy", data=post)
    assert response.status_code == 302 and "saved=1" in response.headers["Location"]
    row = _policy(shop_id)
    assert row.draft == RICH and row.published == default_policy()
    page = client.get("/app/returns/policy").text
    assert 'value="Underwear cannot be returned"' in page and "What the draft would have done" in page


def test_row_buttons_change_the_page_not_the_policy(fake_app, shop_id):
    client = fake_app.test_client()
    post = post_from_form(form_from_policy(default_policy()))
    post["window_days"] = ["21"]
    response = client.post("/app/returns/policy", data={**post, "action": "add_rule"})
    assert response.status_code == 200
    assert 'name="rules-1-id" value="rule-2"' in response.text and 'name="window_days" value="21"' in response.text
    removed = client.post("/app/returns/policy", data={**post, "action": "remove_tier-2"})
    assert removed.status_code == 200 and 'data-tier="gold"' not in removed.text
    assert _policy(shop_id).draft is None


def test_the_advanced_json_view_shows_its_problems_on_the_page(fake_app, shop_id):
    client = fake_app.test_client()
    typed = '{"window_days": "forever", "review": "<script>x</script>"}'
    response = client.post("/app/returns/api/policy/draft", data={"policy": typed})
    assert response.status_code == 422
    assert '<details id="advanced" open>' in response.text
    assert "Enter a whole number from 0 to 3650." in response.text and "Choose automatic or manual" in response.text
    assert str(escape(typed)) in response.text and "<script>x</script>" not in response.text
    broken = client.post("/app/returns/api/policy/draft", data={"policy": '{"window_days": 30,,}'})
    assert broken.status_code == 422 and "line 1, column 20" in broken.text
    assert _policy(shop_id).draft is None
    saved = client.post("/app/returns/api/policy/draft", data={"policy": '{"window_days": 40}'})
    assert saved.status_code == 302 and _policy(shop_id).draft == {"window_days": 40}
