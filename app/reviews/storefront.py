"""The shopper's side of reviews: the review page a request links to (`/l/reviews/<token>`, signed, no login),
and, through the app proxy, the product block's JSON and the published reviews' photos."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request
from sqlalchemy import select

from app.extensions import db
from app.i18n import t
from app.orders.models import Order
from app.reviews.links import read_product_token, read_review_token
from app.reviews.models import MAX_PHOTOS, Review, ReviewPhoto, ReviewRequest
from app.reviews.queries import product_block
from app.reviews.services import (
    ReviewEntry,
    ReviewInputError,
    author_name,
    open_products,
    review_settings,
    submit_reviews,
)
from app.shopify.models import Shop
from app.storefront import proxy_blueprint, shopper_locale
from app.storefront.links import deny_framing
from app.storefront.uploads import MAX_PHOTO_BYTES, Upload

reviews_links_bp = Blueprint("reviews_links", __name__, url_prefix="/l/reviews")
reviews_links_bp.after_request(deny_framing)
reviews_storefront_bp = proxy_blueprint("reviews_storefront", __name__, url_prefix="/proxy/reviews")


def _request_from(token: str) -> tuple[Shop, ReviewRequest]:
    """The request a link names; 404 (nothing said, nothing recorded) for a forged token, another shop's, or a
    request never sent."""
    target = read_review_token(token)
    if target is None:
        abort(404)
    shop = db.session.get(Shop, target[0])
    if shop is None or shop.redacted_at is not None:
        abort(404)
    found = db.session.execute(
        select(ReviewRequest).where(ReviewRequest.id == target[1], ReviewRequest.shop_id == shop.id)
    ).scalar_one_or_none()
    if found is None or found.status not in ("sent", "completed"):
        abort(404)
    return shop, found


def _page(shop: Shop, found: ReviewRequest, status: int = 200, **context: Any) -> Response:
    locale = shopper_locale()
    settings = review_settings(db.session, shop.id)
    values: dict[str, Any] = {
        "_": lambda key, **v: t(locale, key, **v),
        "locale": locale,
        "shop": shop,
        "products": open_products(db.session, found),
        "thank_you_code": settings.thank_you_code,
        "max_photos": MAX_PHOTOS,
        "max_mb": MAX_PHOTO_BYTES // (1024 * 1024),
        "errors": {},
        "values": {},
        "done": False,
    }
    body = render_template("storefront/reviews/review.html", **{**values, **context})
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@reviews_links_bp.get("/product/<token>")
def linked_product_reviews(token: str):
    """The block's JSON for the product a signed link names (the demo's preview; published data only)."""
    target = read_product_token(token)
    shop = db.session.get(Shop, target[0]) if target else None
    if target is None or shop is None or shop.redacted_at is not None:
        abort(404)
    page = request.args.get("page", "1")
    data = product_block(
        db.session,
        shop.id,
        target[1],
        int(page) if page.isdigit() else 1,
        lambda photo_id: f"/apps/aftercart/reviews/photos/{photo_id}",
    )
    return jsonify(data)


# --- the block on a product page outside a storefront (the demo) ------------------------------------------------

BLOCK = Path("extensions") / "product-reviews"


@cache
def _block_asset(root: str, name: str) -> str:
    return (Path(root) / BLOCK / name).read_text(encoding="utf-8")


def _block_files(locale: str) -> tuple[str, str, dict[str, str]]:
    """The theme block's own script, stylesheet and strings (the extension's locale file), as a theme loads them."""
    root = str(Path(current_app.root_path).parent)
    try:
        strings = json.loads(_block_asset(root, f"locales/{'th' if locale == 'th' else 'en.default'}.json"))
        return (
            _block_asset(root, "assets/product-reviews.js"),
            _block_asset(root, "assets/product-reviews.css"),
            strings["product_reviews"],
        )
    except (OSError, ValueError, KeyError):
        abort(404)  # an install without the extension's sources has no preview


def _preview_target(token: str) -> tuple[Shop, int]:
    target = read_product_token(token)
    shop = db.session.get(Shop, target[0]) if target else None
    if target is None or shop is None or shop.redacted_at is not None:
        abort(404)
    return shop, target[1]


@reviews_links_bp.get("/preview/<token>")
def product_preview(token: str):
    """A product page with the theme's Product reviews block, its real script and stylesheet, fed by the same
    JSON the app proxy answers (published reviews only): the demo's storefront, signed like every /l link."""
    shop, product_id = _preview_target(token)
    locale = shopper_locale()
    script, stylesheet, strings = _block_files(locale)
    title = db.session.execute(
        select(Review.product_title).where(Review.shop_id == shop.id, Review.shopify_product_id == product_id).limit(1)
    ).scalar()
    body = render_template(
        "storefront/reviews/preview.html",
        _=lambda key, **v: t(locale, key, **v),
        locale=locale,
        shop=shop,
        token=token,
        product_id=product_id,
        product_name=title or str(product_id),
        strings=strings,
        block_strings={k: strings[k] for k in ("summary", "none", "stars", "reply", "page", "photo", "error")},
        block_js=script.replace("</", "<\\/"),
        block_css=stylesheet.replace("</", ""),
    )
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@reviews_links_bp.get("/preview/<token>/reviews/product/<int:product_id>")
def preview_reviews_json(token: str, product_id: int):
    shop, linked = _preview_target(token)
    if product_id != linked:
        abort(404)
    page = request.args.get("page", "1")
    data = product_block(
        db.session,
        shop.id,
        product_id,
        int(page) if page.isdigit() else 1,
        lambda photo_id: f"/l/reviews/preview/{token}/reviews/photos/{photo_id}",
        request.args.get("name") or None,
    )
    return jsonify(data)


@reviews_links_bp.get("/preview/<token>/reviews/photos/<int:photo_id>")
def preview_photo(token: str, photo_id: int):
    """A photo of a published review of the linked product (any other: 404)."""
    shop, product_id = _preview_target(token)
    photo = db.session.execute(
        select(ReviewPhoto)
        .join(Review, Review.id == ReviewPhoto.review_id)
        .where(
            ReviewPhoto.id == photo_id,
            ReviewPhoto.shop_id == shop.id,
            Review.shopify_product_id == product_id,
            Review.status == "published",
        )
    ).scalar_one_or_none()
    if photo is None:
        abort(404)
    response = Response(photo.data, mimetype=photo.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@reviews_links_bp.get("/<token>")
def review_page(token: str):
    shop, found = _request_from(token)
    return _page(shop, found)


def _entries(products: list[dict[str, Any]]) -> list[ReviewEntry]:
    entries = []
    for product in products:
        pid = product["product_id"]
        raw = request.form.get(f"rating_{pid}", "").strip()
        rating = int(raw) if raw.isdigit() else (0 if raw else None)
        photos = []
        for file in request.files.getlist(f"photos_{pid}")[: MAX_PHOTOS + 1]:
            if file and file.filename:
                photos.append(Upload(file.filename, file.mimetype or "", file.read(MAX_PHOTO_BYTES + 1)))
        entries.append(
            ReviewEntry(
                product_id=pid,
                rating=rating,
                title=request.form.get(f"title_{pid}", "")[:1000],
                body=request.form.get(f"body_{pid}", "")[:10000],
                photos=photos,
            )
        )
    return entries


@reviews_links_bp.post("/<token>")
def submit_review_page(token: str):
    try:
        return _submit(token)
    finally:
        for _, upload in request.files.items(multi=True):
            upload.close()  # large uploads are temporary files; every path lets them go


def _submit(token: str) -> Response:
    """The review form (multipart). Every problem is named and nothing is stored; a product already reviewed
    through this link (a replayed form) is refused with 409 and nothing recorded."""
    shop, found = _request_from(token)
    locale = shopper_locale()
    products = open_products(db.session, found)
    if not products:
        db.session.rollback()
        return _page(shop, found, 409, done=True)
    order = db.session.execute(
        select(Order).where(Order.shop_id == shop.id, Order.shopify_order_id == found.shopify_order_id)
    ).scalar_one_or_none()
    try:
        submit_reviews(db.session, found, _entries(products), locale, author_name(order))
    except ReviewInputError as exc:
        db.session.rollback()
        return _page(shop, found, 422, errors=exc.errors, values=request.form)
    db.session.commit()
    return _page(shop, found, done=True)


# --- through the app proxy: the product block ------------------------------------------------------------------


@reviews_storefront_bp.get("/product/<int:product_id>")
def product_reviews_json(product_id: int):
    """The block's data: rating, count, one page of published reviews with photos and replies, and JSON-LD."""
    page = request.args.get("page", "1")
    prefix = "/" + (request.args.get("path_prefix") or "/apps/aftercart").strip("/")
    data = product_block(
        db.session,
        g.shop.id,
        product_id,
        int(page) if page.isdigit() else 1,
        lambda photo_id: f"{prefix}/reviews/photos/{photo_id}",
        request.args.get("name") or None,
    )
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@reviews_storefront_bp.get("/photos/<int:photo_id>")
def review_photo(photo_id: int):
    """A photo of a published review of this shop (any other: 404)."""
    photo = db.session.execute(
        select(ReviewPhoto)
        .join(Review, Review.id == ReviewPhoto.review_id)
        .where(ReviewPhoto.id == photo_id, ReviewPhoto.shop_id == g.shop.id, Review.status == "published")
    ).scalar_one_or_none()
    if photo is None:
        abort(404)
    response = Response(photo.data, mimetype=photo.content_type)
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
