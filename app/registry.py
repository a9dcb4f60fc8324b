"""What the wiring hands the core at start: the only way the core reaches a feature.

The wiring files at the top of the package (`app/topics.py`, `app/subscribers.py`, `app/privacy.py`,
`app/blueprints.py`) list what each feature offers; `create_app` puts those lists in one `Registry` on the
app, and the core reads them from there (`registry()`), so no core module imports a feature.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.events import DomainEvent
    from app.orders.privacy import CustomerRef
    from app.shopify.models import Shop

Handler = Callable[["Shop", dict[str, Any]], None]
"""A webhook topic's handler, and an in-transaction subscriber: (shop, payload), inside the job's transaction."""

EventSubscriber = Callable[["DomainEvent"], None]
"""Given each committed domain event once, after its transaction; must be idempotent."""

Eraser = Callable[["Session", int, "CustomerRef"], int]
Exporter = Callable[["Session", int, "CustomerRef"], dict[str, Any]]


@dataclass(frozen=True)
class PrivacyEntry:
    """One feature's part of a privacy request: what it holds on a customer, exported and erased.

    `tables` names every table whose customer data the pair covers (tests/test_architecture.py holds it
    against the schema). `erase` returns the rows it changed and does not commit; `export` returns report
    sections (section name -> rows)."""

    name: str
    erase: Eraser
    export: Exporter
    tables: tuple[str, ...]


@dataclass(frozen=True)
class NavItem:
    """A link in the admin's navigation: its label (a catalog key) and a Flask endpoint."""

    label: str
    endpoint: str


@dataclass(frozen=True)
class OrderPanel:
    """A feature's part of the admin's order page (the 360° view a support agent keeps open): `build(order)`
    returns the template's values, or None when the feature has nothing on this order; `summarize(order)` the
    same as JSON under `key`, for the help-desk feed."""

    template: str
    build: Callable[[Any], dict[str, Any] | None]
    key: str = ""
    summarize: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class SetupStep:
    """One line of the home page's setup guide: `check(shop)` reads the real state (True: done). A step the app
    cannot see for itself (the theme block) is `tickable`: the merchant ticks it, and who and when is kept."""

    key: str
    label: str  # a catalog key
    endpoint: str  # where to do it
    check: Callable[[Any], bool] | None = None
    tickable: bool = False
    optional: bool = False


@dataclass(frozen=True)
class Registry:
    topic_handlers: Mapping[str, Handler]
    compliance_handlers: Mapping[str, Handler]
    event_subscribers: tuple[EventSubscriber, ...]
    in_transaction_subscribers: Mapping[str, tuple[Handler, ...]]
    privacy: tuple[PrivacyEntry, ...]
    admin_nav: tuple[NavItem, ...] = ()
    order_panels: tuple[OrderPanel, ...] = ()
    setup_steps: tuple[SetupStep, ...] = ()
    all_handlers: Mapping[str, Handler] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "all_handlers", {**self.topic_handlers, **self.compliance_handlers})


_EXTENSION_KEY = "aftercart.registry"


def install(app: Flask, registry: Registry) -> None:
    app.extensions[_EXTENSION_KEY] = registry


def registry() -> Registry:
    """The running app's registry (needs an app context)."""
    return current_app.extensions[_EXTENSION_KEY]
