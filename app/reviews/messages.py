"""What a message about reviews says (a public function the notifications feature calls, listed in pyproject.toml):
the review page's link and the products asked about, with the thank-you code for any review; or a private reply."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.i18n import t
from app.reviews.links import review_page_path
from app.reviews.models import Review, ReviewReply, ReviewRequest
from app.reviews.services import review_settings


def review_message_facts(session: Session, shop_id: int, data: dict[str, Any], locale: str) -> dict[str, Any]:
    """For `review.requested` data ({"request_id"}): `review_path`, `review_items` and `thank_you` (the code's
    sentence, said to everyone, whatever they will write). For `review.replied` data ({"review_id", "reply_id"}):
    `reply_text` and `review_product`. Empty when the request or reply is not this shop's."""
    request_id, reply_id = data.get("request_id"), data.get("reply_id")
    if isinstance(request_id, int):
        request = session.execute(
            select(ReviewRequest).where(ReviewRequest.id == request_id, ReviewRequest.shop_id == shop_id)
        ).scalar_one_or_none()
        if request is None:
            return {}
        settings = review_settings(session, shop_id)
        return {
            "review_path": review_page_path(shop_id, request.id),
            "review_items": [p.get("title") or "" for p in request.products or []],
            "thank_you": t(locale, "reviews.thank_you_offer", code=settings.thank_you_code)
            if settings.thank_you_code
            else None,
        }
    if isinstance(reply_id, int):
        found = session.execute(
            select(ReviewReply, Review)
            .join(Review, Review.id == ReviewReply.review_id)
            .where(ReviewReply.id == reply_id, ReviewReply.shop_id == shop_id, Review.shop_id == shop_id)
        ).first()
        if found is None:
            return {}
        reply, review = found
        return {"reply_text": reply.body, "review_product": review.product_title or ""}
    return {}
