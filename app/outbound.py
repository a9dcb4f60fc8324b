"""Requests the app makes to addresses a merchant typed (alert webhooks, event webhooks): signed JSON, to the
public internet only, with a short timeout. Callers turn `OutboundFailure` into their own retry or give-up."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.validation import web_url

SIGNATURE_HEADER = "X-Aftercart-Signature"
TIMESTAMP_HEADER = "X-Aftercart-Timestamp"
TIMEOUT = 5.0


@dataclass
class OutboundFailure(Exception):
    """One line on why, and whether trying again later can help (an outage) or not (a 4xx, a private address)."""

    reason: str
    permanent: bool

    def __str__(self) -> str:
        return self.reason


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + HMAC-SHA256 of "<timestamp>.<body>": the timestamp is signed so a captured request cannot be
    replayed later as new (receivers should refuse timestamps more than five minutes old)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def public_host(url: str) -> bool:
    """Whether every address the URL's host resolves to is on the public internet (never this machine or the
    private network behind it)."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(address.split("%")[0]).is_global for address in addresses)


def post_signed_json(
    url: str | None,
    secret: str | None,
    payload: dict[str, Any],
    *,
    user_agent: str,
    allow_private: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST `payload` as JSON signed with `secret`; raises OutboundFailure (permanent or not)."""
    checked = web_url(url)
    if not checked or not secret:
        raise OutboundFailure("no webhook URL or secret", permanent=True)
    if not allow_private and not public_host(checked):
        raise OutboundFailure("the webhook URL points to a private or local address", permanent=True)
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    sent_headers = {
        "Content-Type": "application/json",
        "User-Agent": user_agent,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        **(headers or {}),
    }
    try:
        response = httpx.post(checked, content=body, headers=sent_headers, timeout=TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise OutboundFailure(f"webhook unreachable: {type(exc).__name__}", permanent=False) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise OutboundFailure(f"webhook answered {response.status_code}", permanent=False)
    if response.status_code >= 300:
        raise OutboundFailure(f"webhook answered {response.status_code}", permanent=True)
    return response
