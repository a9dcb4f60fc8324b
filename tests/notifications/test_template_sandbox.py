"""Merchant templates run in a bounded sandbox: no Python internals, no runaway CPU or memory."""

from __future__ import annotations

import tracemalloc

import pytest

from app.notifications.rendering import SAMPLE_CONTEXT, render_string, validate_template


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 10**9 }}",
        "{{ 'x' * 100000 }}",
        "{{ 2 ** 100000 }}",
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        "{% for a in items %}{% for b in items %}{% for c in items %}x{% endfor %}{% endfor %}{% endfor %}",
        "{{ '{:>1000000000}'.format(1) }}",
        "{{ first_name.ljust(10**8) }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ order_name.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
)
def test_hostile_templates_are_refused_before_doing_the_work(source):
    # Refused up front, not after building a huge value: memory stays small (a wall-clock bound would be flaky).
    tracemalloc.start()
    try:
        errors = validate_template("Subject", source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "body" in errors, source
    assert "rendered text longer" not in errors["body"]
    assert peak < 5_000_000, f"{source} allocated {peak} bytes before being refused"


def test_ordinary_templates_still_work():
    source = (
        "Hi {{ first_name | upper }}, {{ order_name }} ships{% if estimate %} {{ estimate }}{% endif %}."
        "{% for item in items %} - {{ item }}{% endfor %} {{ '-' * 10 }} {{ 2 ** 3 }}"
    )
    assert validate_template("Order {{ order_name }}", source) == {}
    assert render_string(source, SAMPLE_CONTEXT).startswith("Hi SOMCHAI, #1001 ships Thu 26")
