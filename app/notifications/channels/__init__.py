"""Channels behind one registry: each module registers one way of reaching a shopper.

Adding WhatsApp is one new module here with a class decorated by @register.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from flask import current_app


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: int
    shop_domain: str
    channel: str
    recipient: str  # an email address, an E.164 phone number, a LINE user id
    subject: str | None
    text: str
    html: str | None
    sender_name: str | None
    reply_to: str | None
    # Stable per notification: the Message-ID of an email, LINE's X-Line-Retry-Key; a retry reuses it.
    idempotency_key: str
    unsubscribe_url: str | None = None
    locale: str = "en"


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str | None = None


class TransientSendError(RuntimeError):
    """Worth retrying later (network, timeout, 5xx, rate limit).

    `maybe_sent` marks the ambiguous case (a timeout after the request left): the retry then waits
    out the in-flight window rather than going at once.
    """

    def __init__(self, reason: str, *, maybe_sent: bool = False):
        super().__init__(reason)
        self.maybe_sent = maybe_sent


class PermanentSendError(RuntimeError):
    """Will never succeed as is (bad address, unsubscribed at the provider). Not retried.

    `opted_out` says the provider reports the recipient opted out (e.g. Twilio error 21610), so the
    address is marked opted out and never tried again on that channel.
    """

    def __init__(self, reason: str, *, opted_out: bool = False, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.opted_out = opted_out
        self.code = code


class Channel(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> SendResult: ...


class ChannelFactory(Protocol):
    name: str

    @classmethod
    def from_settings(cls, settings: object) -> Channel | None:
        """The configured channel, or None when its credentials are not set."""
        ...


_REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"channel {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


@functools.cache  # once per process: scanning the package on every send cost as much as rendering the message
def _load() -> None:
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def channel_names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def get_channel(name: str, settings: object) -> Channel | None:
    """The configured channel `name`, or None when unknown or not configured."""
    _load()
    cls = _REGISTRY.get(name)
    return cls.from_settings(settings) if cls else None


def configured_channels() -> frozenset[str]:
    """The channels whose accounts are set up in the running app's settings (read once per app).

    Email always counts: it is every shop's baseline channel, and a missing SMTP server is the operator's to
    fix (the admin says "not set up"), not a reason to stop recording the messages shoppers are owed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    names = app.extensions.get("aftercart.configured_channels")
    if names is None:
        settings = app.config["SETTINGS"]
        names = app.extensions["aftercart.configured_channels"] = frozenset(
            name for name in channel_names() if name == "email" or get_channel(name, settings) is not None
        )
    return names


def configured(extra: Mapping[str, str], *names: str) -> bool:
    return all(extra.get(n) for n in names)
