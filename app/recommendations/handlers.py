"""Webhook handlers for the catalogue topics (app/topics.py), and recommendations' part of an order change
(app/subscribers.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.jobs import enqueue_after_commit, job_id
from app.orders.services import parse_timestamp
from app.recommendations import catalog
from app.recommendations.attribution import attribute_order
from app.recommendations.jobs import poll_catalog_sync, update_models_for_order
from app.recommendations.models import CatalogSync
from app.shopify.models import Shop


def on_order_upserted(shop: Shop, payload: dict[str, Any]) -> None:
    """In the order webhook's transaction: credit the order to a recommendation if it came through one, and
    queue the models' update for this order version (job id keyed on order + version, so each version is
    counted once; the update itself is idempotent too)."""
    attribute_order(db.session, shop.id, payload)
    version = parse_timestamp(payload.get("updated_at")) or parse_timestamp(payload.get("created_at"))
    stamp = int(version.timestamp() * 1000) if version else 0
    order_id = int(payload["id"])
    enqueue_after_commit(
        db.session,
        update_models_for_order,
        shop.id,
        order_id,
        queue="bulk",  # background model upkeep: never ahead of webhooks or notifications
        job_id=job_id("recs-order", shop.id, order_id, stamp),
        unique=True,
        rerun_settled=False,
    )


def on_product_changed(shop: Shop, payload: dict[str, Any]) -> None:
    """products/create and products/update: the payload is the whole product with its variants."""
    catalog.upsert_product(db.session, shop.id, catalog.product_from_rest(payload))


def on_product_deleted(shop: Shop, payload: dict[str, Any]) -> None:
    """products/delete: `{"id": ...}` only."""
    catalog.delete_product(db.session, shop.id, payload)


def on_bulk_operation_finished(shop: Shop, payload: dict[str, Any]) -> None:
    """bulk_operations/finish: import our export now instead of at the next poll."""
    operation_id = str((payload or {}).get("admin_graphql_api_id") or "")
    sync = db.session.execute(
        select(CatalogSync).where(CatalogSync.shop_id == shop.id, CatalogSync.bulk_operation_id == operation_id)
    ).scalar_one_or_none()
    if sync is not None and sync.status == "running":
        enqueue_after_commit(
            db.session,
            poll_catalog_sync,
            sync.id,
            0,
            queue="bulk",
            job_id=job_id("recs-sync-finish", sync.id),
            unique=True,
        )
