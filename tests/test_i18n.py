"""Two languages from day one: every message in English and Thai, in gettext catalogs that Babel manages."""

from __future__ import annotations

import string
from datetime import date
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.i18n import LOCALES, TRANSLATIONS, format_day_range, negotiate_locale, read_catalog, t
from app.orders.status import Status

ROOT = Path(__file__).resolve().parents[1]
# What `make translations` passes to `pybabel extract` (keep the two in step).
KEYWORDS = {"t": (2,), "N_": None, "_": None}
METHODS = [("app/**.py", "python"), ("templates/**.html", "jinja2")]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _messages(locale: str) -> dict[str, str]:
    return {m.id: m.string for m in read_catalog(locale) if m.id}


def test_no_message_is_missing_empty_or_fuzzy_in_either_language():
    english = _messages("en")
    for locale in LOCALES:
        catalog = read_catalog(locale)
        assert not catalog.fuzzy, f"{locale}: the catalog header is fuzzy"
        problems = [
            f"{m.id}: {'fuzzy' if m.fuzzy else 'empty'}" for m in catalog if m.id and (m.fuzzy or not m.string.strip())
        ]
        assert problems == [], locale
        assert set(_messages(locale)) == set(english), f"{locale} has other messages than English"


def test_catalogs_have_the_same_placeholders_and_thai_is_translated():
    english, thai = _messages("en"), _messages("th")
    for key, text in english.items():
        assert _fields(text) == _fields(thai[key]), key
        assert thai[key] != text, f"{key} is not translated"


def test_the_catalogs_hold_exactly_the_keys_the_code_uses():
    extracted = {
        message[2] for message in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS) if isinstance(message[2], str)
    }
    assert extracted, "extraction found nothing: the keyword setup is wrong"
    catalog = set(_messages("en"))
    assert extracted - catalog == set(), "used in the code but in no catalog"
    assert catalog - extracted == set(), "in the catalogs but nowhere in the code (declare run-time keys with N_)"
    with open(TRANSLATIONS / "messages.pot", "rb") as fh:
        template = {m.id for m in read_po(fh) if m.id}
    assert template == extracted, "app/translations/messages.pot is out of date: run `make translations`"


def test_every_status_has_a_label_and_an_explanation_in_both_languages():
    for status in Status:
        for locale in ("en", "th"):
            assert t(locale, f"status.{status}") != f"status.{status}"
            assert t(locale, f"status.{status}.explain") != f"status.{status}.explain"


def test_a_missing_thai_message_falls_back_to_english_and_an_unknown_locale_to_english():
    assert t("th", "status.delivered") != t("en", "status.delivered")
    assert t("fr", "status.delivered") == t("en", "status.delivered")
    assert t("th", "track.order", name="#1001").endswith("#1001")


def test_locale_negotiation():
    assert negotiate_locale("th-TH") == "th"
    assert negotiate_locale(None, "fr", "en_US") == "en"
    assert negotiate_locale("de") == "en"


def test_estimate_is_shown_as_a_range():
    assert format_day_range(date(2026, 11, 26), date(2026, 11, 28), "en") == "Thu 26 – Sat 28 Nov"
    assert format_day_range(date(2026, 11, 30), date(2026, 12, 2), "en") == "Mon 30 Nov – Wed 2 Dec"
    assert format_day_range(date(2026, 11, 26), date(2026, 11, 28), "th") == "พฤ. 26 – ส. 28 พ.ย."
