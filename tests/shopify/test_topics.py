"""The topic -> handler map and shopify.app.toml must say the same thing."""

from __future__ import annotations

import tomllib
from pathlib import Path

from app.config import API_VERSION
from app.topics import COMPLIANCE_HANDLERS, HANDLERS

TOML = tomllib.loads((Path(__file__).parents[2] / "shopify.app.toml").read_text())


def test_subscriptions_equal_the_handler_map():
    subscriptions = TOML["webhooks"]["subscriptions"]
    topics = [t for s in subscriptions for t in s.get("topics", [])]
    compliance = [t for s in subscriptions for t in s.get("compliance_topics", [])]
    assert sorted(topics) == sorted(HANDLERS)
    assert len(topics) == len(set(topics))
    assert sorted(compliance) == sorted(COMPLIANCE_HANDLERS)
    assert sorted(compliance) == ["customers/data_request", "customers/redact", "shop/redact"]
    assert all(s["uri"].endswith("/webhooks") for s in subscriptions)


def test_api_version_is_pinned_once():
    assert TOML["webhooks"]["api_version"] == API_VERSION


def test_app_proxy_points_at_proxy():
    assert TOML["app_proxy"]["url"].endswith("/proxy")
    assert TOML["embedded"] is True
