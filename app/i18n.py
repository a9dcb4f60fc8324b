"""Text shown to people, in English and Thai, from gettext catalogs; and locale/time-zone aware formatting.

The catalogs are `app/translations/<locale>/LC_MESSAGES/messages.po`, managed with Babel (`make translations`
extracts and updates them; `make install` compiles them to .mo). Message ids are symbolic keys
(`status.delivered`): the English catalog holds the English text, so the wording changes without touching the
code, and translators work from en.po as the source (each Thai entry carries the English as a comment).
Placeholders are `{name}` (str.format). `t(locale, key)` is for code that knows the shopper's language (a job
sending a message); `_(key)` in templates and request code uses the request's locale (Flask-Babel).
tests/test_i18n.py fails on a message missing, empty or fuzzy in either language.
"""

from __future__ import annotations

import functools
import logging
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import Translations
from flask import Flask, has_request_context, request

log = logging.getLogger(__name__)

LOCALES = ("en", "th")
DEFAULT_LOCALE = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def N_(key: str) -> str:  # noqa: N802 - gettext's conventional name for "mark for extraction"
    """Mark a key built at run time (`f"status.{state}"`) so extraction sees it; returns it unchanged."""
    return key


@functools.cache
def translations(locale: str) -> Translations:
    """The compiled catalog of `locale` (loaded once per process)."""
    folder = TRANSLATIONS / locale / "LC_MESSAGES"
    mo, po = folder / "messages.mo", folder / "messages.po"
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with open(mo, "rb") as fh:
            return Translations(fh)
    # Not compiled (a plain `pip install`, or a .po edited since): compile it in memory, as `make install` would.
    log.info("i18n: %s is not compiled; compiling %s in memory", mo, po)
    buffer = BytesIO()
    write_mo(buffer, read_catalog(locale))
    buffer.seek(0)
    return Translations(buffer)


@functools.cache
def read_catalog(locale: str) -> Catalog:
    """The `.po` catalog of `locale` as Babel reads it (messages with their flags and comments). Read-only."""
    with open(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh, locale=locale)


def annotate_with_english(locale: str) -> int:
    """Write the English text beside each message of `locale`'s .po (a translator comment, which `pybabel
    update` keeps), so translators see the source text, not only the key. Returns the messages annotated."""
    english = {m.id: m.string for m in read_catalog(DEFAULT_LOCALE) if m.id}
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    with open(path, "rb") as fh:
        catalog = read_po(fh, locale=locale)
    count = 0
    for message in catalog:
        if message.id in english:
            message.user_comments = [f"English: {english[message.id]}"]
            count += 1
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=120, sort_output=True)
    read_catalog.cache_clear()
    return count


def init_app(app: Flask) -> None:
    """Flask-Babel picks the request's locale (`?locale=`, then the browser's); templates get `_`."""
    from flask_babel import Babel

    Babel(app, locale_selector=request_locale, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals["_"] = _


_LOCALE_KEY = "aftercart.locale"


def request_locale() -> str:
    if not has_request_context():
        return DEFAULT_LOCALE
    # Kept in the request's environ: every `_()` asks, and a page of 50 rows asks thousands of times (werkzeug
    # raises and catches an HTTPException for each `args.get` of a missing key).
    environ = request.environ
    locale = environ.get(_LOCALE_KEY)
    if locale is None:
        locale = environ[_LOCALE_KEY] = negotiate_locale(request.args.get("locale"), request.accept_languages.best)
    return locale


def _(key: str, **values: object) -> str:
    """The text of `key` in the request's locale (English outside a request)."""
    return t(request_locale(), key, **values)


def negotiate_locale(*candidates: str | None) -> str:
    """The first supported locale among the candidates (`th-TH`, `en_US`, ...), else English."""
    for candidate in candidates:
        if not candidate:
            continue
        base = candidate.replace("_", "-").split("-")[0].strip().lower()
        if base in LOCALES:
            return base
    return DEFAULT_LOCALE


def t(locale: str, key: str, **values: object) -> str:
    """The text of `key` in `locale` (English when that locale lacks it), with `values` filled in."""
    text = translations(locale if locale in LOCALES else DEFAULT_LOCALE).gettext(key)
    if text == key and locale != DEFAULT_LOCALE:
        text = translations(DEFAULT_LOCALE).gettext(key)
    return text.format(**values) if values else text


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def format_day(value: date, locale: str) -> str:
    return format_date(value, "EEE d MMM", locale=locale)


def format_moment(value: datetime, locale: str, tz: ZoneInfo) -> str:
    return format_datetime(value.astimezone(tz), "EEE d MMM, HH:mm", locale=locale)


def format_day_range(start: date, end: date, locale: str) -> str:
    """ "Thu 12 – Sat 14 Nov": a range, never a false precise date (one day only if the source says so)."""
    if start == end:
        return format_day(start, locale)
    if start.month == end.month and start.year == end.year:
        return f"{format_date(start, 'EEE d', locale=locale)} – {format_day(end, locale)}"
    return f"{format_day(start, locale)} – {format_day(end, locale)}"
