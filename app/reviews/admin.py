"""The merchant's reviews (/app/reviews): filter by product, rating, photos and unreplied; publish or hide (with a
reason, who and when kept); reply in public (under the review) or in private (emailed to the shopper); and the
request settings (days after delivery, the fallback, the thank-you code for any review)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, render_template, request
from sqlalchemy import func, select

from app.admin import admin_required, back_to, field_errors, page_context, settings_form, wants_json
from app.extensions import db
from app.i18n import N_, request_locale, t
from app.reviews.models import Review, ReviewPhoto, ReviewReply, ReviewRequest
from app.reviews.queries import admin_reviews_query, reviewed_products
from app.reviews.services import (
    ReviewInputError,
    find_review,
    moderate_review,
    reply_to_review,
    review_settings,
    save_review_settings,
)

reviews_admin_bp = Blueprint("reviews_admin", __name__, url_prefix="/app")

PAGE_SIZE = 25
LABEL_KEYS = (
    N_("reviews.status.pending"),
    N_("reviews.status.published"),
    N_("reviews.status.hidden"),
    N_("reviews.request.waiting"),
    N_("reviews.request.held"),
    N_("reviews.request.sent"),
    N_("reviews.request.skipped"),
    N_("reviews.request.completed"),
    N_("reviews.admin.reply_public"),
    N_("reviews.admin.reply_private"),
)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


@reviews_admin_bp.get("/reviews")
@admin_required
def reviews_page():
    shop = g.admin.shop
    status = request.args.get("status") if request.args.get("status") in ("pending", "published", "hidden") else None
    filters: dict[str, Any] = {
        "product_id": _int_arg("product"),
        "rating": _int_arg("rating") if _int_arg("rating") in (1, 2, 3, 4, 5) else None,
        "has_photos": request.args.get("photos") == "1",
        "unreplied": request.args.get("unreplied") == "1",
        "status": status,
    }
    reviews = db.session.execute(admin_reviews_query(shop.id, **filters).limit(PAGE_SIZE)).scalars().all()
    ids = [r.id for r in reviews]
    photos: dict[int, list[int]] = {}
    replies: dict[int, list[ReviewReply]] = {}
    if ids:
        for review_id, photo_id in db.session.execute(
            select(ReviewPhoto.review_id, ReviewPhoto.id).where(
                ReviewPhoto.shop_id == shop.id, ReviewPhoto.review_id.in_(ids)
            )
        ).all():
            photos.setdefault(review_id, []).append(photo_id)
        for reply in db.session.execute(
            select(ReviewReply)
            .where(ReviewReply.shop_id == shop.id, ReviewReply.review_id.in_(ids))
            .order_by(ReviewReply.id)
        ).scalars():
            replies.setdefault(reply.review_id, []).append(reply)
    requests = dict(
        db.session.execute(
            select(ReviewRequest.status, func.count())
            .where(ReviewRequest.shop_id == shop.id)
            .group_by(ReviewRequest.status)
        ).all()
    )
    return render_template(
        "admin/reviews/list.html",
        reviews=reviews,
        photos=photos,
        replies=replies,
        products=reviewed_products(db.session, shop.id),
        filters=filters,
        settings=review_settings(db.session, shop.id),
        request_counts=requests,
        **page_context(),
    )


def _review_or_404(review_id: int) -> Review:
    review = find_review(db.session, g.admin.shop.id, review_id)
    if review is None:
        abort(404)
    return review


@reviews_admin_bp.post("/api/reviews/<int:review_id>/moderate")
@admin_required
def moderate(review_id: int):
    form = settings_form() or {}
    review = _review_or_404(review_id)
    try:
        moderate_review(db.session, review, str(form.get("status") or ""), g.admin.user_id, form.get("reason"))
    except ReviewInputError as exc:
        db.session.rollback()
        return field_errors(exc.errors)
    db.session.commit()
    if wants_json():
        return jsonify(id=review.id, status=review.status)
    return back_to("reviews_admin.reviews_page")


@reviews_admin_bp.post("/api/reviews/<int:review_id>/reply")
@admin_required
def reply(review_id: int):
    form = settings_form() or {}
    review = _review_or_404(review_id)
    try:
        made = reply_to_review(
            db.session,
            review,
            str(form.get("body") or ""),
            public=str(form.get("visibility") or "public") != "private",
            by=g.admin.user_id,
        )
    except ReviewInputError as exc:
        db.session.rollback()
        return field_errors(exc.errors)
    db.session.commit()
    if wants_json():
        return jsonify(id=made.id, public=made.is_public)
    return back_to("reviews_admin.reviews_page")


@reviews_admin_bp.post("/api/reviews/settings")
@admin_required
def save_settings():
    form = settings_form()
    if form is None:
        return jsonify(error=t(request_locale(), "reviews.error.request")), 400
    if "is_enabled_shown" in form:
        form["is_enabled"] = form.get("is_enabled") or "0"
    try:
        settings = save_review_settings(db.session, g.admin.shop.id, form)
    except ReviewInputError as exc:
        db.session.rollback()
        return field_errors(exc.errors)
    db.session.commit()
    if wants_json():
        return jsonify(
            delay_days=settings.delay_days, fallback_days=settings.fallback_days, is_enabled=settings.is_enabled
        )
    return back_to("reviews_admin.reviews_page")


@reviews_admin_bp.get("/reviews/photos/<int:photo_id>")
@admin_required
def admin_photo(photo_id: int):
    photo = db.session.execute(
        select(ReviewPhoto).where(ReviewPhoto.id == photo_id, ReviewPhoto.shop_id == g.admin.shop.id)
    ).scalar_one_or_none()
    if photo is None:
        abort(404)
    response = Response(photo.data, mimetype=photo.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
