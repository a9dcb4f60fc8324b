"""Values from outside (Shopify's webhooks, merchants' settings, shoppers' forms, SMS and LINE providers)
checked where they enter: web addresses.

Pure functions, no Flask or database: the core, the kits and every feature use them alike. Each returns the
clean value or None ("not usable"), so a caller decides whether that is a 422, a field left empty, or a
message that fails for good.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

MAX_URL = 2000


def web_url(value: Any, *, https_only: bool = False) -> str | None:
    """The value when it is an absolute http(s) URL with a host, else None.

    Refused: other schemes (`javascript:`, `data:`, `vbscript:`, relative and protocol-relative URLs),
    whitespace or control characters anywhere (browsers strip them, so `java\\tscript:` would run), a
    missing or malformed host, and anything longer than MAX_URL. Only surrounding spaces are trimmed.
    `https_only` refuses plain http too (a logo on an https page, a merchant's own page).
    """
    if not isinstance(value, str):
        return None
    candidate = value.strip(" ")
    if not candidate or len(candidate) > MAX_URL:
        return None
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in candidate):
        return None
    try:
        parts = urlsplit(candidate)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return None
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme.lower() not in schemes or not host or "\\" in candidate:
        return None
    return candidate


def http_url(value: Any) -> str:
    """Jinja filter `http_url`: the URL when `web_url` accepts it, else "" (so `{% if x|http_url %}` drops the
    link). Applied wherever a stored URL is written into an href or src, for rows stored before URLs were
    checked where they enter."""
    return web_url(value) or ""
