"""RQ entry points for recommendations, each taking ids: per-order model updates, rebuilds, catalogue sync."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.jobs import enqueue, job_id, with_app_context
from app.recommendations import catalog, model_build
from app.recommendations.models import CatalogSync

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(seconds=5)
MAX_POLLS = 2000  # about three hours of polling: Shopify's largest exports finish well within it


@with_app_context
def update_models_for_order(shop_id: int, shopify_order_id: int) -> bool:
    """Count one order's current version in the models (model_build.apply_order). Idempotent."""
    changed = model_build.apply_order(db.session, shop_id, shopify_order_id)
    db.session.commit()
    return changed


@with_app_context
def rebuild_shop_models(shop_id: int) -> dict[str, int]:
    """Recompute the shop's models from all its orders. Job id `recs-rebuild-<shop>` (one at a time)."""
    return model_build.rebuild_models(db.session, shop_id)


def queue_rebuild(shop_id: int) -> None:
    enqueue(rebuild_shop_models, shop_id, queue="bulk", job_id=job_id("recs-rebuild", shop_id), unique=True)


@with_app_context
def rebuild_all_shops() -> int:
    """Periodic (daily): a full rebuild per installed shop, which also settles what incremental updates cannot
    (an older order arriving after a newer one, time decay moving on). Returns the shops queued."""
    from app.shopify.models import Shop

    shop_ids = (
        db.session.execute(
            select(Shop.id).where(Shop.is_installed.is_(True), Shop.redacted_at.is_(None)).order_by(Shop.id)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    for shop_id in shop_ids:
        queue_rebuild(shop_id)
    return len(shop_ids)


@with_app_context
def start_catalog_sync(shop_id: int) -> int:
    """Start the bulk export of the catalogue and queue its polling. Throttled/transient errors raise (RQ
    retries); BulkSyncError (e.g. an export already running) is recorded on the sync row and not retried."""
    from app.shopify.graphql import AdminClient

    with AdminClient(shop_id) as client:
        try:
            sync = catalog.start_bulk_sync(db.session, shop_id, client)
        except catalog.BulkSyncError as exc:
            log.warning("catalogue sync for shop %s not started: %s", shop_id, exc)
            return 0
    enqueue(poll_catalog_sync, sync.id, 1, queue="bulk", job_id=job_id("recs-sync-poll", sync.id, 1), delay=POLL_EVERY)
    return sync.id


def queue_catalog_sync(shop_id: int) -> None:
    enqueue(start_catalog_sync, shop_id, queue="bulk", job_id=job_id("recs-sync", shop_id), unique=True)


@with_app_context
def poll_catalog_sync(sync_id: int, attempt: int = 1) -> str:
    """Check the export; import it when done (then rebuild the models), or poll again later."""
    from app.shopify.graphql import AdminClient

    # Locked: the poll chain and the bulk_operations/finish webhook may both get here; one imports.
    sync = db.session.execute(
        select(CatalogSync).where(CatalogSync.id == sync_id).with_for_update()
    ).scalar_one_or_none()
    if sync is None:
        return "gone"
    with AdminClient(sync.shop_id) as client:
        status = catalog.poll_bulk_sync(db.session, sync, client)
    if status == "running" and 0 < attempt < MAX_POLLS:  # attempt 0: the webhook's one-off poll
        enqueue(
            poll_catalog_sync,
            sync_id,
            attempt + 1,
            queue="bulk",
            job_id=job_id("recs-sync-poll", sync_id, attempt + 1),
            delay=POLL_EVERY,
        )
    elif status == "running":
        catalog._fail(db.session, sync, "gave up waiting for the export")
    elif status == "completed":
        queue_rebuild(sync.shop_id)
    return status
