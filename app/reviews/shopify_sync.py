"""Shopify's standard product metafields `reviews.rating` (type `rating`) and `reviews.rating_count`
(`number_integer`), written with `metafieldsSet` from the `review_rating_syncs` outbox, so themes and other apps
can read a product's rating.

- A row per product is marked pending whenever its published reviews change; the job writes the figures as
  they are when it runs, so several changes make one write and a late retry never writes an old figure.
- THROTTLED/429 (the mutation did not run) and other transient failures leave the row pending and raise, so RQ
  retries with backoff; `metafieldsSet` is idempotent (it sets values), so a lost answer is simply sent again.
- userErrors fail the row with Shopify's message (kept for the merchant's page), not retried until it changes.
- A product left with no published review (its last one hidden or erased) has both metafields deleted with
  `metafieldsDelete`, so the theme no longer shows a rating nobody can read; deleting one already gone is no
  error (Shopify answers `null` for it), so a retry is harmless too.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.reviews.models import RatingSync
from app.reviews.queries import rating_figures
from app.shopify.graphql import AdminClient, GraphQLError, Throttled, TransientError, UserErrors

log = logging.getLogger(__name__)

METAFIELDS_SET = """
mutation MetafieldsSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { key namespace value }
    userErrors { field message code }
  }
}
"""


METAFIELDS_DELETE = """
mutation MetafieldsDelete($metafields: [MetafieldIdentifierInput!]!) {
  metafieldsDelete(metafields: $metafields) {
    deletedMetafields { key namespace ownerId }
    userErrors { field message }
  }
}
"""
RATING_KEYS = ("rating", "rating_count")


def metafield_identifiers(product_id: int) -> list[dict[str, str]]:
    """The `MetafieldIdentifierInput`s of a product's two rating metafields."""
    owner = f"gid://shopify/Product/{product_id}"
    return [{"ownerId": owner, "namespace": "reviews", "key": key} for key in RATING_KEYS]


def metafield_inputs(product_id: int, average: float | None, count: int) -> list[dict[str, str]]:
    """The `MetafieldsSetInput`s for a product: the count always; the rating (value within its scale, as a
    string, per Shopify's `rating` type) once there is one."""
    owner = f"gid://shopify/Product/{product_id}"
    inputs = [
        {"ownerId": owner, "namespace": "reviews", "key": "rating_count", "type": "number_integer", "value": str(count)}
    ]
    if average is not None:
        rating = {"value": f"{average:.2f}".rstrip("0").rstrip("."), "scale_min": "1.0", "scale_max": "5.0"}
        inputs.insert(
            0,
            {"ownerId": owner, "namespace": "reviews", "key": "rating", "type": "rating", "value": json.dumps(rating)},
        )
    return inputs


def write_rating(sync_id: int) -> str:
    """Write one product's rating metafields. Returns done / failed / skipped; raises to have RQ retry."""
    session = db.session
    sync = session.execute(
        select(RatingSync).where(RatingSync.id == sync_id).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if sync is None or sync.status != "pending":
        session.rollback()
        return "skipped"
    average, count = rating_figures(session, sync.shop_id, sync.shopify_product_id)
    sync.attempts += 1
    shop_id, product_id = sync.shop_id, sync.shopify_product_id
    session.commit()
    try:
        with AdminClient(shop_id) as client:
            if count:
                inputs = metafield_inputs(product_id, average, count)
                client.mutate(METAFIELDS_SET, {"metafields": inputs}, "metafieldsSet")
            else:
                identifiers = metafield_identifiers(product_id)
                client.mutate(METAFIELDS_DELETE, {"metafields": identifiers}, "metafieldsDelete")
    except UserErrors as exc:
        verb = "rating metafields" if count else "deletion of the rating metafields"
        return _finish(sync_id, "failed", error=f"Shopify refused the {verb}: {exc}")
    except (Throttled, TransientError):
        raise  # still pending: the retry writes the figures as they are then
    except GraphQLError as exc:
        return _finish(sync_id, "failed", error=str(exc))
    if rating_figures(session, shop_id, product_id) != (average, count):
        # A review was published or hidden while this write was on its way: write the new figures too.
        session.rollback()
        raise TransientError(f"product {product_id}: rating changed during the write")
    return _finish(sync_id, "done", written={"rating": average, "count": count})


def _finish(sync_id: int, status: str, *, error: str | None = None, written: dict | None = None) -> str:
    sync = db.session.execute(select(RatingSync).where(RatingSync.id == sync_id).with_for_update()).scalar_one()
    if sync.status != "pending":  # pragma: no cover - only this job moves a row out of pending
        db.session.rollback()
        return sync.status
    if written is not None:
        sync.written = written
    sync.status = status
    sync.last_error = error[:1000] if error else None
    sync.updated_at = utcnow()
    if error:
        log.warning("rating metafields of product %s: %s", sync.shopify_product_id, error)
    db.session.commit()
    return status
