"""A sent review request, without going through the sweep each time (the sweep has its own tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.reviews.demo import png
from app.reviews.links import make_review_token
from app.reviews.models import ReviewRequest
from app.reviews.services import send_due_request

PNG = png(8, 6, (200, 120, 40))
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def sent_request(fid: int | None = None) -> tuple[ReviewRequest, str]:
    """The (only, or `fid`'s) request made due and sent now; with its link's path."""
    query = select(ReviewRequest)
    if fid is not None:
        query = query.where(ReviewRequest.shopify_fulfillment_id == fid)
    request = db.session.execute(query).scalar_one()
    now = datetime.now(UTC)
    request.due_at = now - timedelta(minutes=1)
    assert send_due_request(db.session, request, now) == "sent"
    db.session.commit()
    return request, f"/l/reviews/{make_review_token(request.shop_id, request.id)}"
