"""Values from outside (Shopify's webhooks, merchants' settings, shoppers' forms, SMS and LINE providers)
checked where they enter: web addresses, email addresses, and text bound for a message header.

Pure functions, no Flask or database: the core, the kits and every feature use them alike. Each returns the
clean value or None ("not usable"), so a caller decides whether that is a 422, a field left empty, or a
message that fails for good.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

MAX_URL = 2000
MAX_EMAIL = 320  # RFC 3696 erratum 1690: 64 + 1 + 255


def has_control_characters(text: str) -> bool:
    """True when the text holds a control character (C0, DEL, C1) or a Unicode line or paragraph separator:
    anything that could end a header line or smuggle one in."""
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


# In ASCII, whitespace and control characters are exactly these; other text is checked character by character.
_UNSAFE_ASCII = re.compile(r"[\x00-\x20\x7f]")


def _has_space_or_control(text: str) -> bool:
    return any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in text)


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
    if _UNSAFE_ASCII.search(candidate) if candidate.isascii() else _has_space_or_control(candidate):
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


def email_address(value: Any) -> str | None:
    """The address, trimmed, when it is one address in the syntax mail servers accept, else None.

    Checked with the maintained `email-validator` package (syntax only: no DNS lookup, which would make a
    webhook depend on the network). Display names, comments, quoted local parts and IP-literal domains are
    refused: a bare address is all a shopper's or merchant's field may hold, and nothing in it can break out
    of a header. `.test` domains are accepted (RFC 2606: Shopify's samples and our fixtures use them); the
    other special-use names (`localhost`, `.invalid`, `.local`) are not.
    """
    if not isinstance(value, str):
        return None
    candidate = value.strip()
    if not candidate or len(candidate) > MAX_EMAIL or has_control_characters(candidate):
        return None
    try:
        validate_email(
            candidate,
            check_deliverability=False,
            test_environment=True,
            allow_display_name=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
        )
    except EmailNotValidError:
        return None
    return candidate


def http_url(value: Any) -> str:
    """Jinja filter `http_url`: the URL when `web_url` accepts it, else "" (so `{% if x|http_url %}` drops the
    link). Applied wherever a stored URL is written into an href or src, for rows stored before URLs were
    checked where they enter."""
    return web_url(value) or ""
