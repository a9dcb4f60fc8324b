"""A merchant template never costs more than a small, fixed budget of time and memory, whatever its branches:
over it, that message falls back to the default template and the reason is on record for the merchant."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from app.notifications.rendering import SAMPLE_CONTEXT, render_message, validate_template

DOUBLING = (
    "{% set ns = namespace(x='ab') %}{% for i in range(26) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x|length }}"
)
# One loop tag (the static limit allows two), but the macro recurses: 100 ** 5 iterations.
MACROS = "{% macro m(d) %}{% for i in range(100) %}{{ m(d - 1) if d else i }}{% endfor %}{% endmacro %}"
HIDDEN = "Hi{% if order_name != '#1001' %}" + MACROS + "{{ m(4)|length }}{% endif %}"


@pytest.mark.parametrize(
    "body",
    [
        DOUBLING,
        "{{ '%500000000s'|format('x') }}",
        "{{ first_name|center(500000000) }}",
        "{{ first_name|indent(500000000, true) }}",
    ],
)
def test_a_template_over_budget_is_refused_by_validation(body):
    began = time.monotonic()
    tracemalloc.start()
    try:
        errors = validate_template("Order {{ order_name }}", body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "body" in errors
    assert time.monotonic() - began < 5
    assert peak < 5_000_000, f"this process allocated {peak} bytes for a merchant's template"


def test_work_hidden_from_the_sample_order_is_cut_off_in_a_real_send(app):
    # Validation renders the sample order (#1001), so the costly branch passes it...
    assert validate_template("Order {{ order_name }}", HIDDEN) == {}
    context = dict(SAMPLE_CONTEXT, order_name="#2002")
    with app.app_context():
        began = time.monotonic()
        rendered = render_message(
            "shipped", "email", "en", context, override={"subject": "Order {{ order_name }}", "body": HIDDEN}
        )
        elapsed = time.monotonic() - began
    # ...but a real order's send stops at the budget and falls back to the default, saying why.
    assert rendered.used_default and "BudgetExceeded" in (rendered.template_error or "")
    assert rendered.subject == "Your order #2002 is on its way"
    assert elapsed < 5


def test_a_merchant_template_within_budget_still_renders(app):
    with app.app_context():
        rendered = render_message(
            "shipped", "sms", "en", SAMPLE_CONTEXT, override={"short": "{{ order_name }} is on its way"}
        )
    assert not rendered.used_default and rendered.text == "#1001 is on its way"
