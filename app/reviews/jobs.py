"""RQ entry points of the reviews package (they take ids), and the sweeper of the rating outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.jobs import enqueue, job_id, job_is_alive, with_app_context
from app.reviews.models import RatingSync


@with_app_context
def write_rating_metafields(sync_id: int) -> str:
    """Write a product's `reviews.rating` and `reviews.rating_count` (app/reviews/shopify_sync.py).
    Job id `review-rating-<sync id>`."""
    from app.reviews.shopify_sync import write_rating  # the Admin API client only where a write happens

    return write_rating(sync_id)


@with_app_context
def requeue_pending_rating_syncs() -> int:
    """Sweeper: rating writes still pending after a minute whose job is gone are queued again."""
    ids = (
        db.session.execute(
            select(RatingSync.id)
            .where(RatingSync.status == "pending", RatingSync.updated_at < utcnow() - timedelta(seconds=60))
            .limit(1000)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    count = 0
    for sync_id in ids:
        rq_id = job_id("review-rating", sync_id)
        if not job_is_alive(rq_id):
            enqueue(write_rating_metafields, sync_id, queue="default", job_id=rq_id, unique=True)
            count += 1
    return count
