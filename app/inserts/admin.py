"""The inserts page in the admin (/app/inserts): settings, print one order or every unfulfilled order as one PDF
(a job, with its progress polled as JSON), and the Liquid snippet for Shopify's packing slip."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, render_template, url_for
from sqlalchemy import func, select

from app.admin import admin_required, back_to, field_errors, page_context, settings_form, shop_order, wants_json
from app.extensions import db
from app.i18n import request_locale, t
from app.inserts.jobs import build_insert_batch
from app.inserts.metafields import PACKING_SLIP_SNIPPET, refill_insert_links
from app.inserts.models import CODES, SIZES, InsertBatch, InsertScan
from app.inserts.services import (
    insert_settings,
    render_inserts_pdf,
    save_insert_settings,
    unfulfilled_orders_query,
    validate_insert_settings,
)
from app.jobs import enqueue_after_commit, job_id
from app.orders.models import Order

inserts_admin_bp = Blueprint("inserts_admin", __name__, url_prefix="/app")


def _pdf(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@inserts_admin_bp.get("/inserts")
@admin_required
def inserts_page():
    shop_id = g.admin.shop.id
    settings = insert_settings(db.session, shop_id)
    orders = db.session.execute(unfulfilled_orders_query(shop_id).limit(20)).scalars().all()
    if not orders:  # nothing waiting: the latest orders, so there is always one to try
        orders = (
            db.session.execute(select(Order).where(Order.shop_id == shop_id).order_by(Order.id.desc()).limit(10))
            .scalars()
            .all()
        )
    waiting = db.session.execute(
        select(func.count()).select_from(unfulfilled_orders_query(shop_id).subquery())
    ).scalar_one()
    batch = _latest_batch(shop_id)
    scans = dict(
        db.session.execute(
            select(InsertScan.code, func.sum(InsertScan.scans))
            .where(InsertScan.shop_id == shop_id)
            .group_by(InsertScan.code)
        ).all()
    )
    return render_template(
        "admin/inserts/index.html",
        settings=settings,
        sizes=SIZES,
        codes=CODES,
        orders=orders,
        waiting=waiting,
        batch=_batch_json(batch) if batch else None,
        scans=scans,
        snippet=PACKING_SLIP_SNIPPET,
        **page_context(),
    )


@inserts_admin_bp.post("/api/inserts/settings")
@admin_required
def save_settings():
    locale = request_locale()
    form = settings_form({"codes": "codes_shown"}, ticks=("packing_slip",))
    if form is None:
        return jsonify(error=t(locale, "inserts.error.body")), 400
    clean, errors = validate_insert_settings(form)
    if errors:
        return field_errors(errors)
    current = insert_settings(db.session, g.admin.shop.id)
    before = (list(current.codes or []), bool(current.packing_slip))
    settings = save_insert_settings(db.session, g.admin.shop.id, clean)
    if settings.packing_slip and (list(settings.codes or []), True) != before:
        refill_insert_links(g.admin.shop.id)  # switched on, or other codes: the packing slip follows
    db.session.commit()
    if wants_json():
        return jsonify(saved=True)
    return back_to("inserts_admin.inserts_page")


@inserts_admin_bp.get("/orders/<int:order_id>/insert.pdf")
@admin_required
def order_insert(order_id: int):
    """One order's insert, in its shopper's language, on the shop's paper size."""
    order = shop_order(order_id)
    pdf = render_inserts_pdf(db.session, g.admin.shop, [order])
    return _pdf(pdf, f"insert-{order.order_number or order.id}.pdf")


@inserts_admin_bp.post("/api/inserts/batches")
@admin_required
def start_batch():
    """Print every unfulfilled order: a batch row, then the job after commit. A batch still running is answered
    as is (one at a time per shop)."""
    shop_id = g.admin.shop.id
    batch = _latest_batch(shop_id)
    if batch is None or batch.status in ("done", "failed"):
        total = db.session.execute(
            select(func.count()).select_from(unfulfilled_orders_query(shop_id).subquery())
        ).scalar_one()
        # Only the newest batch's PDF is kept: it carries the shoppers' first names.
        db.session.execute(InsertBatch.__table__.delete().where(InsertBatch.shop_id == shop_id))
        batch = InsertBatch(shop_id=shop_id, status="queued", total=total, done=0)
        db.session.add(batch)
        db.session.flush()
        enqueue_after_commit(
            db.session, build_insert_batch, batch.id, queue="bulk", job_id=job_id("insert-batch", batch.id)
        )
        db.session.commit()
    return jsonify(_batch_json(batch)), 202


@inserts_admin_bp.get("/api/inserts/batches/<int:batch_id>")
@admin_required
def batch_status(batch_id: int):
    return jsonify(_batch_json(_shop_batch(batch_id)))


@inserts_admin_bp.get("/inserts/batches/<int:batch_id>.pdf")
@admin_required
def batch_pdf(batch_id: int):
    batch = _shop_batch(batch_id)
    if batch.status != "done" or not batch.pdf:
        abort(404)
    return _pdf(batch.pdf, f"inserts-{batch.id}.pdf")


def _shop_batch(batch_id: int) -> InsertBatch:
    batch = db.session.execute(
        select(InsertBatch).where(InsertBatch.id == batch_id, InsertBatch.shop_id == g.admin.shop.id)
    ).scalar_one_or_none()
    if batch is None:
        abort(404)
    return batch


def _latest_batch(shop_id: int) -> InsertBatch | None:
    return db.session.execute(
        select(InsertBatch).where(InsertBatch.shop_id == shop_id).order_by(InsertBatch.id.desc()).limit(1)
    ).scalar_one_or_none()


def _batch_json(batch: InsertBatch) -> dict[str, Any]:
    done = batch.status == "done" and batch.total > 0
    return {
        "id": batch.id,
        "status": batch.status,
        "status_label": t(request_locale(), f"inserts.batch.{batch.status}"),
        "done": batch.done,
        "total": batch.total,
        "status_url": url_for("inserts_admin.batch_status", batch_id=batch.id),
        "download_url": url_for("inserts_admin.batch_pdf", batch_id=batch.id) if done else None,
    }


def order_panel(order: Order) -> dict[str, Any] | None:
    """The order page's "Print insert" link."""
    return {"order_id": order.id}
