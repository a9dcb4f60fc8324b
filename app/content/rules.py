"""Which content an order's items call for, and when it is due: pure (no Flask, no database).

An entry matches an item when its scope names the item's variant, its product, the product's type (compared
without case or surrounding spaces) or one of the product's collections. "Getting started" is due the moment a
parcel holding a matching item is out for delivery or delivered; care tips `delay_days` after its delivery; a
question and answer (FAQ) the moment the parcel ships, for the tracking page only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

GETTING_STARTED_STATES = frozenset({"out_for_delivery", "delivered"})
FAQ_STATES = frozenset({"shipped", "in_transit", "out_for_delivery", "ready_for_pickup", "delivered"})
RELEASING_STATES = GETTING_STARTED_STATES | FAQ_STATES


@dataclass(frozen=True)
class ItemFacts:
    product_id: int | None
    variant_id: int | None = None
    product_type: str | None = None
    collection_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True)
class EntryRule:
    id: int
    kind: str
    scope: str
    scope_value: str
    delay_days: int = 0


def _norm(text: str | None) -> str:
    return (text or "").strip().casefold()


def matches(entry: EntryRule, item: ItemFacts) -> bool:
    value = entry.scope_value.strip()
    if entry.scope == "product":
        return item.product_id is not None and value == str(item.product_id)
    if entry.scope == "variant":
        return item.variant_id is not None and value == str(item.variant_id)
    if entry.scope == "product_type":
        return bool(_norm(value)) and _norm(value) == _norm(item.product_type)
    if entry.scope == "collection":
        return value.isdigit() and int(value) in item.collection_ids
    return False


def due_releases(
    entries: Iterable[EntryRule], items: Iterable[ItemFacts], state: str, happened_at: datetime
) -> list[tuple[EntryRule, datetime]]:
    """(entry, when it is due) for every entry the parcel's new state releases, each once."""
    if state not in RELEASING_STATES:
        return []
    items = list(items)
    found: list[tuple[EntryRule, datetime]] = []
    for entry in entries:
        if not any(matches(entry, item) for item in items):
            continue
        if entry.kind == "getting_started" and state in GETTING_STARTED_STATES:
            found.append((entry, happened_at))
        elif entry.kind == "faq" and state in FAQ_STATES:
            found.append((entry, happened_at))
        elif entry.kind == "care" and state == "delivered":
            found.append((entry, happened_at + timedelta(days=max(0, entry.delay_days))))
    return found
