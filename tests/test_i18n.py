"""Two languages from day one: every shopper-facing key in English and Thai."""

from __future__ import annotations

import string
from datetime import date

from app.i18n import CATALOG, format_day_range, negotiate_locale, t
from app.orders.status import Status


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_catalogs_have_the_same_keys_and_placeholders():
    assert set(CATALOG["en"]) == set(CATALOG["th"])
    for key, text in CATALOG["en"].items():
        assert _fields(text) == _fields(CATALOG["th"][key]), key
        assert CATALOG["th"][key] != text, f"{key} is not translated"


def test_every_status_has_a_label_and_an_explanation_in_both_languages():
    for status in Status:
        for locale in ("en", "th"):
            assert t(locale, f"status.{status}")
            assert t(locale, f"status.{status}.explain")


def test_locale_negotiation():
    assert negotiate_locale("th-TH") == "th"
    assert negotiate_locale(None, "fr", "en_US") == "en"
    assert negotiate_locale("de") == "en"


def test_estimate_is_shown_as_a_range():
    assert format_day_range(date(2026, 11, 26), date(2026, 11, 28), "en") == "Thu 26 – Sat 28 Nov"
    assert format_day_range(date(2026, 11, 30), date(2026, 12, 2), "en") == "Mon 30 Nov – Wed 2 Dec"
    assert format_day_range(date(2026, 11, 26), date(2026, 11, 28), "th") == "พฤ. 26 – ส. 28 พ.ย."
