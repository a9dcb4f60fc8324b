"""Releasing content: a parcel's state plans one release per order and matching entry (getting started at once,
care tips later), a periodic job releases what has come due, and each release is recorded as the domain event
`content.released` for notifications to turn into a message. Saving and importing entries live here too."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.models import KINDS, LOCALES, SCOPES, ContentEntry, ContentRelease
from app.content.rules import RELEASING_STATES, EntryRule, ItemFacts, due_releases
from app.db import insert_unless_present, utcnow
from app.events import DomainEvent, record_event
from app.extensions import db
from app.jobs import with_app_context
from app.orders.models import Fulfillment, Order
from app.recommendations.models import CatalogCollection, CatalogProduct
from app.validation import web_url

log = logging.getLogger(__name__)

CONTENT_RELEASED = "content.released"
MAX_TITLE = 200
MAX_BODY = 5000
MAX_DELAY_DAYS = 365


def _item_facts(session: Session, shop_id: int, order: Order, parcel: Fulfillment | None) -> list[ItemFacts]:
    """The parcel's items (else the order's) with their product's type and collections from the synced catalogue."""
    by_id = {item.get("id"): item for item in order.line_items or []}
    lines = [by_id.get(item.get("id"), item) for item in (parcel.line_items if parcel else None) or []]
    lines = lines or list(order.line_items or [])
    product_ids = {int(line["product_id"]) for line in lines if str(line.get("product_id") or "").isdigit()}
    types: dict[int, str | None] = {}
    collections: dict[int, set[int]] = {}
    if product_ids:
        types = dict(
            session.execute(
                select(CatalogProduct.shopify_product_id, CatalogProduct.product_type).where(
                    CatalogProduct.shop_id == shop_id, CatalogProduct.shopify_product_id.in_(product_ids)
                )
            ).all()
        )
        for collection_id, product_id in session.execute(
            select(CatalogCollection.shopify_collection_id, CatalogCollection.shopify_product_id).where(
                CatalogCollection.shop_id == shop_id, CatalogCollection.shopify_product_id.in_(product_ids)
            )
        ).all():
            collections.setdefault(product_id, set()).add(collection_id)
    facts = []
    for line in lines:
        product_id = int(line["product_id"]) if str(line.get("product_id") or "").isdigit() else None
        variant_id = int(line["variant_id"]) if str(line.get("variant_id") or "").isdigit() else None
        facts.append(
            ItemFacts(
                product_id=product_id,
                variant_id=variant_id,
                product_type=types.get(product_id) if product_id else None,
                collection_ids=frozenset(collections.get(product_id, ())) if product_id else frozenset(),
            )
        )
    return facts


def _entry_rules(session: Session, shop_id: int) -> list[EntryRule]:
    rows = session.execute(
        select(
            ContentEntry.id, ContentEntry.kind, ContentEntry.scope, ContentEntry.scope_value, ContentEntry.delay_days
        ).where(ContentEntry.shop_id == shop_id, ContentEntry.is_active.is_(True))
    ).all()
    return [EntryRule(row.id, row.kind, row.scope, row.scope_value, row.delay_days or 0) for row in rows]


def plan_content_releases(event: DomainEvent) -> int:
    """Event subscriber: a parcel out for delivery or delivered plans one release per matching entry and order
    (unique on shop, order and entry: a redelivered webhook or a second parcel plans nothing again); those due
    now are released in the same transaction. Returns the releases planned."""
    if event.kind != "shipment.status_changed" or (event.data or {}).get("to") not in RELEASING_STATES:
        return 0
    if event.shopify_order_id is None:
        return 0
    session = db.session
    rules = _entry_rules(session, event.shop_id)
    if not rules:
        return 0
    order = session.execute(
        select(Order).where(Order.shop_id == event.shop_id, Order.shopify_order_id == event.shopify_order_id)
    ).scalar_one_or_none()
    if order is None or order.cancelled_at is not None:
        return 0
    parcel = None
    if event.shopify_fulfillment_id is not None:
        parcel = session.execute(
            select(Fulfillment).where(
                Fulfillment.shop_id == event.shop_id,
                Fulfillment.shopify_fulfillment_id == event.shopify_fulfillment_id,
            )
        ).scalar_one_or_none()
    happened_at = event.happened_at or event.occurred_at
    planned = 0
    now = utcnow()
    items = _item_facts(session, event.shop_id, order, parcel)
    for entry, due_at in due_releases(rules, items, event.data["to"], happened_at):
        release_id = insert_unless_present(
            session,
            ContentRelease.__table__,
            {
                "shop_id": event.shop_id,
                "entry_id": entry.id,
                "shopify_order_id": order.shopify_order_id,
                "shopify_fulfillment_id": event.shopify_fulfillment_id,
                "status": "scheduled",
                "due_at": due_at,
                "created_at": now,
            },
            ["shop_id", "shopify_order_id", "entry_id"],
        )
        if release_id is None:
            continue
        planned += 1
        if due_at <= now:
            _release(session, session.get(ContentRelease, release_id), entry.kind, now)
    return planned


def _release(session: Session, release: ContentRelease, kind: str, now: datetime) -> None:
    release.status = "released"
    release.released_at = now
    if kind == "faq":
        return  # questions and answers are for the tracking page: no message, so no event for one
    record_event(
        session,
        release.shop_id,
        CONTENT_RELEASED,
        f"content:{release.id}:released",
        shopify_order_id=release.shopify_order_id,
        shopify_fulfillment_id=release.shopify_fulfillment_id,
        data={"release_id": release.id, "entry_id": release.entry_id, "kind": kind},
        happened_at=release.due_at,
    )


@with_app_context
def release_due_content(now: datetime | None = None) -> int:
    """Periodic: release every content whose time has come (care tips days after delivery). Rows are read by the
    (status, due_at) index and locked with SKIP LOCKED, so two workers never release one twice."""
    now = now or utcnow()
    session = db.session
    rows = session.execute(
        select(ContentRelease, ContentEntry.kind)
        .join(ContentEntry, ContentEntry.id == ContentRelease.entry_id)
        .where(ContentRelease.status == "scheduled", ContentRelease.due_at <= now, ContentEntry.is_active.is_(True))
        .order_by(ContentRelease.due_at)
        .limit(500)
        .with_for_update(skip_locked=True, of=ContentRelease)
    ).all()
    for release, kind in rows:
        _release(session, release, kind, now)
    session.commit()
    return len(rows)


# --- entries -------------------------------------------------------------------------------------------------


def clean_entry(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the entry's values, problems by field as catalog keys) from the admin's form."""
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    kind = str(form.get("kind") or "")
    if kind not in KINDS:
        errors["kind"] = "content.error.kind"
    clean["kind"] = kind
    scope = str(form.get("scope") or "")
    if scope not in SCOPES:
        errors["scope"] = "content.error.scope"
    clean["scope"] = scope
    value = str(form.get("scope_value") or "").strip()
    if not value or len(value) > 255 or (scope in ("product", "variant", "collection") and not value.isdigit()):
        errors["scope_value"] = "content.error.scope_value"
    clean["scope_value"] = value
    raw_days = str(form.get("delay_days") or "0").strip()
    if not raw_days.isdigit() or int(raw_days) > MAX_DELAY_DAYS:
        errors["delay_days"] = "content.error.delay_days"
        clean["delay_days"] = 0
    else:
        clean["delay_days"] = int(raw_days) if kind == "care" else 0
    raw_video = str(form.get("video_url") or "").strip()
    video = web_url(raw_video) if raw_video else None
    if raw_video and video is None:
        errors["video_url"] = "content.error.video_url"
    clean["video_url"] = video
    texts: dict[str, dict[str, str]] = {}
    for locale in LOCALES:
        title = str(form.get(f"title_{locale}") or "").strip()
        body = str(form.get(f"body_{locale}") or "").strip()
        if len(title) > MAX_TITLE:
            errors[f"title_{locale}"] = "content.error.too_long"
        if len(body) > MAX_BODY:
            errors[f"body_{locale}"] = "content.error.too_long"
        if title or body:
            if not (title and body):
                errors[f"body_{locale}" if title else f"title_{locale}"] = "content.error.both"
            texts[locale] = {"title": title, "body": body}
    if not texts:
        errors["title_en"] = "content.error.text"
    clean["texts"] = texts
    return clean, errors


def save_entry(
    session: Session, shop_id: int, values: dict[str, Any], entry_id: int | None = None
) -> ContentEntry | None:
    """Create or change an entry of the shop (None: no such entry in this shop). Does not commit."""
    if entry_id is not None:
        entry = session.execute(
            select(ContentEntry).where(ContentEntry.id == entry_id, ContentEntry.shop_id == shop_id)
        ).scalar_one_or_none()
        if entry is None:
            return None
    else:
        entry = ContentEntry(shop_id=shop_id, source="manual", is_active=True)
        session.add(entry)
    for key, value in values.items():
        setattr(entry, key, value)
    session.flush()
    return entry
