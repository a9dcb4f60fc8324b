"""Read-only selects: a product's published reviews for the storefront block (with the schema.org JSON-LD for
search engines), and the merchant's filtered list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.reviews.models import Review, ReviewPhoto, ReviewReply

PAGE_SIZE = 5


def product_block(
    session: Session, shop_id: int, product_id: int, page: int, photo_url: Any, product_name: str | None = None
) -> dict[str, Any]:
    """The block's JSON: the average and count of published reviews, one page of them (newest first) with their
    photos (`photo_url(photo_id)`, same origin) and public replies, and a Product JSON-LD object
    (`aggregateRating` and the page's `review`s). Three indexed queries; the count and average read the index
    alone, so a product with thousands of reviews costs what one with ten does."""
    published = (Review.shop_id == shop_id, Review.shopify_product_id == product_id, Review.status == "published")
    average, count = session.execute(select(func.avg(Review.rating), func.count()).where(*published)).one()
    count = int(count or 0)
    pages = max(1, -(-count // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = (
        session.execute(
            select(Review)
            .where(*published)
            .order_by(Review.created_at.desc(), Review.id.desc())
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        )
        .scalars()
        .all()
    )
    photos: dict[int, list[int]] = {}
    if rows:
        for review_id, photo_id in session.execute(
            select(ReviewPhoto.review_id, ReviewPhoto.id)
            .where(ReviewPhoto.shop_id == shop_id, ReviewPhoto.review_id.in_([r.id for r in rows]))
            .order_by(ReviewPhoto.id)
        ).all():
            photos.setdefault(review_id, []).append(photo_id)
    reviews = [
        {
            "id": r.id,
            "rating": r.rating,
            "title": r.title or "",
            "body": r.body or "",
            "author": r.author_name or "",
            "date": r.created_at.date().isoformat(),
            "photos": [photo_url(p) for p in photos.get(r.id, [])],
            "reply": {"body": r.public_reply, "date": r.public_reply_at.date().isoformat()}
            if r.public_reply and r.public_reply_at
            else None,
        }
        for r in rows
    ]
    rating = round(float(average), 2) if average is not None else None
    title = next((r.product_title for r in rows if r.product_title), None)
    return {
        "product_id": product_id,
        "rating": rating,
        "count": count,
        "page": page,
        "pages": pages,
        "reviews": reviews,
        "jsonld": product_jsonld(product_name or title or "", rating, count, reviews),
    }


def product_jsonld(name: str, rating: float | None, count: int, reviews: list[dict[str, Any]]) -> dict[str, Any] | None:
    """schema.org Product with AggregateRating and Review (Google's review snippet shape); None without reviews."""
    if not count or rating is None:
        return None
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": name,
        "aggregateRating": {
            "@type": "AggregateRating",
            "ratingValue": rating,
            "reviewCount": count,
            "bestRating": 5,
            "worstRating": 1,
        },
        "review": [
            {
                "@type": "Review",
                "reviewRating": {"@type": "Rating", "ratingValue": r["rating"], "bestRating": 5, "worstRating": 1},
                "author": {"@type": "Person", "name": r["author"] or "-"},
                "datePublished": r["date"],
                **({"name": r["title"]} if r["title"] else {}),
                **({"reviewBody": r["body"]} if r["body"] else {}),
            }
            for r in reviews
        ],
    }


def admin_reviews_query(
    shop_id: int,
    *,
    product_id: int | None = None,
    rating: int | None = None,
    has_photos: bool = False,
    unreplied: bool = False,
    status: str | None = None,
) -> Select:
    query = select(Review).where(Review.shop_id == shop_id)
    if product_id:
        query = query.where(Review.shopify_product_id == product_id)
    if rating:
        query = query.where(Review.rating == rating)
    if has_photos:
        query = query.where(Review.photo_count > 0)
    if unreplied:
        query = query.where(~select(ReviewReply.id).where(ReviewReply.review_id == Review.id).exists())
    if status:
        query = query.where(Review.status == status)
    return query.order_by(Review.created_at.desc(), Review.id.desc())


def reviewed_products(session: Session, shop_id: int) -> list[tuple[int, str]]:
    """(product id, title) of every product with a review, for the admin's filter."""
    return [
        (pid, title or str(pid))
        for pid, title in session.execute(
            select(Review.shopify_product_id, func.max(Review.product_title))
            .where(Review.shop_id == shop_id)
            .group_by(Review.shopify_product_id)
            .order_by(func.max(Review.product_title))
        ).all()
    ]


def rating_figures(session: Session, shop_id: int, product_id: int) -> tuple[float | None, int]:
    """(average rating, count) of the product's published reviews."""
    average, count = session.execute(
        select(func.avg(Review.rating), func.count(Review.id)).where(
            Review.shop_id == shop_id, Review.shopify_product_id == product_id, Review.status == "published"
        )
    ).one()
    return (round(float(average), 2) if average is not None else None), int(count or 0)
