"""RQ entry points of the inserts: a batch print of the unfulfilled orders."""

from __future__ import annotations

import logging

from sqlalchemy import update

from app.db import utcnow
from app.extensions import db
from app.inserts.models import InsertBatch
from app.inserts.services import render_inserts_pdf, unfulfilled_orders_query
from app.jobs import with_app_context
from app.shopify.models import Shop

log = logging.getLogger(__name__)


@with_app_context
def build_insert_batch(batch_id: int) -> None:
    """Render every unfulfilled order's insert into one PDF, telling the progress after each chunk.

    Job id `insert-batch-<id>`. A batch already done is left alone (a repeated job changes nothing); an error
    is kept on the batch (`failed`, one line) and raised again, so the worker records it."""
    batch = db.session.get(InsertBatch, batch_id)
    if batch is None or batch.status == "done":
        return
    shop = db.session.get(Shop, batch.shop_id)
    shop_id = batch.shop_id
    batch.status, batch.done = "running", 0
    db.session.commit()

    def progress(done: int) -> None:
        # Its own short transaction, so the status endpoint sees each chunk while the rest renders.
        with db.engine.begin() as conn:
            conn.execute(update(InsertBatch).where(InsertBatch.id == batch_id).values(done=done))

    try:
        orders = db.session.execute(unfulfilled_orders_query(shop_id)).scalars().all()
        pdf = render_inserts_pdf(db.session, shop, orders, progress=progress) if orders else None
    except Exception as exc:
        db.session.rollback()
        db.session.execute(
            update(InsertBatch)
            .where(InsertBatch.id == batch_id)
            .values(status="failed", error=f"{type(exc).__name__}: {exc}"[:200], finished_at=utcnow())
        )
        db.session.commit()
        raise
    db.session.execute(
        update(InsertBatch)
        .where(InsertBatch.id == batch_id)
        .values(status="done", pdf=pdf, total=len(orders), done=len(orders), finished_at=utcnow())
    )
    db.session.commit()
