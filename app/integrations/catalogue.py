"""The catalogue: which domain events other tools hear about, under which stable name, with which payload.

Versioned (CATALOGUE_VERSION): a field is only ever added; a change of meaning is a new version. Every payload
is documented in docs/events.md, and `dedupe_key` is the domain event's own (unique per shop), so a receiver can
drop a redelivery and Klaviyo's `unique_id` does the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.i18n import N_

CATALOGUE_VERSION = "2026-12"

_PROBLEM_STATES = ("exception", "attempted_delivery", "returned_to_sender")


@dataclass(frozen=True)
class CatalogueEvent:
    name: str  # stable, e.g. "shipment.delivered"
    label: str  # catalog key, shown to the merchant
    metric: str  # Klaviyo's metric name
    source: str  # the domain event kind it comes from
    applies: Callable[[dict[str, Any]], bool]
    data_keys: tuple[str, ...] = ()  # what of the domain event's data the payload carries, as is


def _to(*states: str) -> Callable[[dict[str, Any]], bool]:
    return lambda data: data.get("to") in states


def _always(_: dict[str, Any]) -> bool:
    return True


CATALOGUE: tuple[CatalogueEvent, ...] = (
    CatalogueEvent(
        "shipment.out_for_delivery",
        N_("integrations.event.shipment.out_for_delivery"),
        "Aftercart Shipment Out For Delivery",
        "shipment.status_changed",
        _to("out_for_delivery"),
    ),
    CatalogueEvent(
        "shipment.delivered",
        N_("integrations.event.shipment.delivered"),
        "Aftercart Shipment Delivered",
        "shipment.status_changed",
        _to("delivered"),
    ),
    CatalogueEvent(
        "shipment.exception",
        N_("integrations.event.shipment.exception"),
        "Aftercart Shipment Exception",
        "shipment.status_changed",
        _to(*_PROBLEM_STATES),
        ("to",),
    ),
    CatalogueEvent(
        "shipment.delay_detected",
        N_("integrations.event.shipment.delay_detected"),
        "Aftercart Delay Detected",
        "shipment.delayed",
        _always,
    ),
    CatalogueEvent(
        "return.requested",
        N_("integrations.event.return.requested"),
        "Aftercart Return Requested",
        "return.status_changed",
        _to("requested"),
        ("return_id", "resolution"),
    ),
    CatalogueEvent(
        "return.resolved",
        N_("integrations.event.return.resolved"),
        "Aftercart Return Resolved",
        "return.status_changed",
        _to("resolved"),
        ("return_id", "resolution"),
    ),
    # Recorded by the listening and engagement features (surveys, reviews, inserts, flows) when they are on.
    CatalogueEvent(
        "survey.answered",
        N_("integrations.event.survey.answered"),
        "Aftercart Survey Answered",
        "survey.answered",
        _always,
        ("question", "score"),
    ),
    CatalogueEvent(
        "survey.detractor_detected",
        N_("integrations.event.survey.detractor_detected"),
        "Aftercart Detractor Detected",
        "survey.detractor",
        _always,
        ("answer",),
    ),
    CatalogueEvent(
        "review.submitted",
        N_("integrations.event.review.submitted"),
        "Aftercart Review Submitted",
        "review.submitted",
        _always,
        ("rating", "product_id"),
    ),
    CatalogueEvent(
        "insert.scanned",
        N_("integrations.event.insert.scanned"),
        "Aftercart Insert Scanned",
        "insert.scanned",
        _always,
        ("code",),
    ),
    CatalogueEvent(
        "flow.step_sent",
        N_("integrations.event.flow.step_sent"),
        "Aftercart Flow Step Sent",
        "flow.step_sent",
        _always,
        ("flow", "step", "channel"),
    ),
)
EVENT_NAMES = tuple(event.name for event in CATALOGUE)
_BY_SOURCE: dict[str, tuple[CatalogueEvent, ...]] = {}
for _event in CATALOGUE:
    _BY_SOURCE[_event.source] = (*_BY_SOURCE.get(_event.source, ()), _event)


FLOW_HANDLE_PREFIX = "ac-"


def flow_handle(name: str) -> str:
    """The Shopify Flow trigger's handle for a catalogue event (its extension in extensions/<handle>/): letters,
    digits and hyphens, at most 30 characters, as Shopify requires of an extension handle."""
    return FLOW_HANDLE_PREFIX + name.replace(".", "-").replace("_", "-")


FLOW_HANDLES = {flow_handle(name): name for name in EVENT_NAMES}


def catalogue_event(kind: str, data: dict[str, Any] | None) -> CatalogueEvent | None:
    """The catalogue's event for a domain event, or None when other tools do not hear about it."""
    for candidate in _BY_SOURCE.get(kind, ()):
        if candidate.applies(data or {}):
            return candidate
    return None
