"""What reviews keep about a shopper, exported on `customers/data_request` and erased on `customers/redact`.

On erasure a published review without contact data in its words stays (the merchant's public record), signed with
the author's initial only and no longer linked to the shopper; every other review of theirs is deleted, and so are
their photos, private replies, requests, asks and holds."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from app.orders.privacy import CustomerRef
from app.reviews.models import Review, ReviewAsk, ReviewHold, ReviewPhoto, ReviewReply, ReviewRequest
from app.reviews.services import queue_rating_sync

# An email address, a phone number (7+ digits, spaces and dashes allowed), a link or an @handle.
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+|(?:\+?\d[\s().-]?){7,}|https?://|www\.|(?<!\w)@\w{2,}|line\s*id", re.I)


def holds_contact_data(text: str | None) -> bool:
    return bool(text and _CONTACT.search(text))


def initial(name: str | None) -> str | None:
    name = (name or "").strip()
    return f"{name[0]}." if name else None


def _who(model: Any, shop_id: int, customer: CustomerRef):
    conditions = []
    if customer.email:
        conditions.append(func.lower(model.email) == customer.email.lower())
    if customer.shopify_customer_id:
        conditions.append(model.shopify_customer_id == customer.shopify_customer_id)
    if customer.shopify_order_ids and hasattr(model, "shopify_order_id"):
        conditions.append(model.shopify_order_id.in_(customer.shopify_order_ids))
    return (model.shop_id == shop_id) & or_(*conditions) if conditions else None


def export_customer_reviews(session: Session, shop_id: int, customer: CustomerRef) -> dict[str, Any]:
    where = _who(Review, shop_id, customer)
    if where is None:
        return {}
    reviews = session.execute(select(Review).where(where).order_by(Review.id)).scalars().all()
    requests_where = _who(ReviewRequest, shop_id, customer)
    requests = session.execute(select(ReviewRequest).where(requests_where)).scalars().all()
    return {
        "reviews": [
            {
                "product": r.product_title,
                "rating": r.rating,
                "title": r.title,
                "text": r.body,
                "author": r.author_name,
                "status": r.status,
                "photos": r.photo_count,
                "public_reply": r.public_reply,
                "created_at": r.created_at.isoformat(),
            }
            for r in reviews
        ],
        "review_requests": [
            {
                "order": r.shopify_order_id,
                "status": r.status,
                "due_at": r.due_at.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            }
            for r in requests
        ],
    }


def erase_customer_reviews(session: Session, shop_id: int, customer: CustomerRef) -> int:
    """Erase as the module says. Idempotent; does not commit."""
    changed = 0
    where = _who(Review, shop_id, customer)
    if where is not None:
        reviews = session.execute(select(Review).where(where)).scalars().all()
        ids = [r.id for r in reviews]
        if ids:
            changed += session.execute(delete(ReviewPhoto).where(ReviewPhoto.review_id.in_(ids))).rowcount or 0
            changed += (
                session.execute(
                    delete(ReviewReply).where(ReviewReply.review_id.in_(ids), ReviewReply.is_public.is_(False))
                ).rowcount
                or 0
            )
        for review in reviews:
            keep = (
                review.status == "published"
                and not holds_contact_data(review.title)
                and not holds_contact_data(review.body)
            )
            if not keep:
                if review.status == "published":
                    queue_rating_sync(session, shop_id, review.shopify_product_id)
                session.delete(review)
            else:
                review.author_name = initial(review.author_name)
                review.email = None
                review.shopify_customer_id = None
                review.shopify_order_id = None
                review.photo_count = 0
                review.is_redacted = True
            changed += 1
    for model in (ReviewRequest, ReviewHold):
        condition = _who(model, shop_id, customer)
        if condition is not None:
            changed += session.execute(delete(model).where(condition)).rowcount or 0
    keys = []
    if customer.shopify_customer_id:
        keys.append(f"customer:{customer.shopify_customer_id}")
    if customer.email:
        keys.append(f"email:{customer.email.strip().lower()}")
    if keys:
        changed += (
            session.execute(
                delete(ReviewAsk).where(ReviewAsk.shop_id == shop_id, ReviewAsk.shopper_key.in_(keys))
            ).rowcount
            or 0
        )
    return changed
