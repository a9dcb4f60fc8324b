"""What the HTTP channels share: fitting text to a provider's limit, trusting only safe API URLs,
and reading a provider's JSON answer."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import httpx

_TRAILING_URL = re.compile(r"\s*https?://\S+\s*\Z")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, units: int) -> str:
    out: list[str] = []
    used = 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > units:
            break
        out.append(char)
        used += width
    return "".join(out)


def fit_text(text: str, limit: int) -> str:
    """The text shortened to `limit` UTF-16 code units (how Twilio and LINE count) with an ellipsis,
    keeping a trailing link whole."""
    text = text.strip()
    if _utf16_len(text) <= limit:
        return text
    match = _TRAILING_URL.search(text)
    tail = match.group(0).strip() if match else ""
    head = text[: match.start()] if match else text
    room = limit - _utf16_len(tail) - (2 if tail else 1)  # the ellipsis, and a space before the link
    if room < 1:
        return _cut(text, limit - 1) + "…"
    shortened = _cut(head, room).rstrip() + "…"
    return f"{shortened} {tail}" if tail else shortened


def is_safe_api_url(url: str) -> bool:
    """True for an https URL, or plain http on loopback (a local fake): credentials travel in headers."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def response_json(response: httpx.Response) -> dict[str, Any]:
    """A provider's JSON object answer, or {} when the body is not one (a proxy's HTML error page)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
