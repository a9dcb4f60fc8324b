"""The rules of review requests, reviews, moderation and replies.

A request is per shipment. It is due `delay_days` after the shipment's delivered scan (never earlier), or
`fallback_days` after fulfilment when no delivered scan ever comes. When due it waits (status `held`, reason kept)
while the order has an open return, a delivery problem, or the shopper an unhandled detractor answer
(`survey.detractor`, released by `survey.detractor_handled`). It asks only about products this shopper was never
asked about (`review_asks`, unique per shop, shopper and product). Sending is the notifications feature's: a
`review.requested` domain event, which it turns into a message with consent, quiet hours and its once-only key.
Every shopper is asked, whatever they answered in a survey; a thank-you code is for any completed review.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.db import insert_unless_present, utcnow
from app.events import DomainEvent, record_event
from app.extensions import db
from app.i18n import N_
from app.jobs import enqueue, enqueue_after_commit, job_id, job_is_alive, with_app_context
from app.orders.models import Fulfillment, Order
from app.orders.status import PROBLEM_STATES
from app.returns.queries import order_has_open_return
from app.reviews.jobs import write_rating_metafields
from app.reviews.models import (
    DEFAULT_DELAY_DAYS,
    DEFAULT_FALLBACK_DAYS,
    MAX_PHOTOS,
    RatingSync,
    Review,
    ReviewAsk,
    ReviewHold,
    ReviewPhoto,
    ReviewPlan,
    ReviewReply,
    ReviewRequest,
    ReviewSettings,
)
from app.storefront.uploads import MAX_PHOTO_BYTES, PHOTO_TYPES, Upload, check_upload

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_BODY = 5000
MAX_REASON = 500
MAX_REPLY = 3000
MAX_DAYS = 90
TIMING_STATES = ("delivered", "cancelled")
DUE_BATCH = 500
# Keys put together from a check's answer (check_upload's "too_large" / "bad_type").
PHOTO_ERROR_KEYS = (N_("reviews.error.photo_too_large"), N_("reviews.error.photo_bad_type"))
ERROR_KEYS = (
    N_("reviews.error.days"),
    N_("reviews.error.code"),
    N_("reviews.error.nothing"),
    N_("reviews.error.already"),
    N_("reviews.error.rating"),
    N_("reviews.error.title"),
    N_("reviews.error.body"),
    N_("reviews.error.photo_count"),
    N_("reviews.error.status"),
    N_("reviews.error.reason"),
    N_("reviews.error.reason_long"),
    N_("reviews.error.reply_empty"),
    N_("reviews.error.reply_long"),
    N_("reviews.error.no_contact"),
)


class ReviewInputError(ValueError):
    """The input cannot be used; `errors` maps a field to a catalog key."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- settings -------------------------------------------------------------------------------------------------


def review_settings(session: Session, shop_id: int) -> ReviewSettings:
    found = session.execute(select(ReviewSettings).where(ReviewSettings.shop_id == shop_id)).scalar_one_or_none()
    if found is not None:
        return found
    return ReviewSettings(
        shop_id=shop_id, is_enabled=True, delay_days=DEFAULT_DELAY_DAYS, fallback_days=DEFAULT_FALLBACK_DAYS
    )


def save_review_settings(session: Session, shop_id: int, form: dict[str, Any]) -> ReviewSettings:
    """Validate and store the merchant's settings; raises ReviewInputError naming every bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in ("delay_days", "fallback_days"):
        if name in form:
            try:
                number = int(str(form[name]).strip())
            except ValueError:
                number = -1
            if not 0 <= number <= MAX_DAYS:
                errors[name] = "reviews.error.days"
            values[name] = number
    if "thank_you_code" in form:
        code = str(form["thank_you_code"] or "").strip()
        if len(code) > 64 or any(not (c.isalnum() or c in "-_") for c in code):
            errors["thank_you_code"] = "reviews.error.code"
        values["thank_you_code"] = code or None
    if "is_enabled" in form:
        values["is_enabled"] = str(form["is_enabled"]).lower() in ("1", "true", "on", "yes")
    if errors:
        raise ReviewInputError(errors)
    settings = session.execute(select(ReviewSettings).where(ReviewSettings.shop_id == shop_id)).scalar_one_or_none()
    if settings is None:
        settings = review_settings(session, shop_id)
        session.add(settings)
    for key, value in values.items():
        setattr(settings, key, value)
    return settings


# --- planning requests from delivery ---------------------------------------------------------------------------


def shopper_key(shopify_customer_id: int | None, email: str | None) -> str | None:
    """Who "one request per product per shopper" counts: the Shopify customer, else the email address."""
    if shopify_customer_id:
        return f"customer:{shopify_customer_id}"
    address = (email or "").strip().lower()
    return f"email:{address}" if address else None


def plan_review_requests(event: DomainEvent) -> None:
    """Event subscriber: a shipment's first status change, its delivery or cancellation (re)times its review
    request; a survey's detractor answer holds the shopper's requests until the merchant handles it. The work is a
    job queued after commit on the `bulk` queue (`review-plan-<event id>`): it is days from being due, so the
    webhook that brought the change, and the messages it sends, pay one insert for it: the `review_plans` row,
    kept until the job has applied the event, so a job lost with Redis is queued again by the sweeper."""
    data = event.data or {}
    if event.kind == "shipment.status_changed":
        if not event.shopify_fulfillment_id or not (data.get("from") is None or data.get("to") in TIMING_STATES):
            return
    elif event.kind not in ("survey.detractor", "survey.detractor_handled"):
        return
    insert_unless_present(
        db.session,
        ReviewPlan.__table__,
        {"shop_id": event.shop_id, "domain_event_id": event.id, "created_at": utcnow()},
        ["domain_event_id"],
    )
    enqueue_after_commit(
        db.session, plan_from_event, event.id, queue="bulk", job_id=job_id("review-plan", event.id), unique=True
    )


@with_app_context
def plan_from_event(event_id: int) -> str:
    """Job: apply one domain event to review requests and holds, once: its `review_plans` row is locked, and
    deleted in the same transaction as the change it made (no row: applied already, or never planned)."""
    session = db.session
    plan = session.execute(
        select(ReviewPlan).where(ReviewPlan.domain_event_id == event_id).with_for_update()
    ).scalar_one_or_none()
    event = session.get(DomainEvent, event_id) if plan is not None else None
    if event is None:
        if plan is not None:
            session.delete(plan)
        session.commit()
        return "skipped"
    if event.kind == "shipment.status_changed":
        _time_request(session, event)
    elif event.kind == "survey.detractor":
        _open_hold(session, event.shop_id, event.data or {}, event.shopify_order_id)
    elif event.kind == "survey.detractor_handled":
        _release_hold(session, event.shop_id, event.data or {}, event.shopify_order_id)
    session.delete(plan)
    session.commit()
    return "done"


PLAN_GRACE = timedelta(seconds=60)


@with_app_context
def requeue_pending_review_plans(now: datetime | None = None) -> int:
    """Sweeper: planning rows older than a minute whose job is gone (never reached Redis, or died) are queued
    again, oldest first, so a detractor's hold is applied before its release. Returns how many were queued."""
    cutoff = (now or utcnow()) - PLAN_GRACE
    event_ids = (
        db.session.execute(
            select(ReviewPlan.domain_event_id)
            .where(ReviewPlan.created_at < cutoff)
            .order_by(ReviewPlan.domain_event_id)
            .limit(1000)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    queued = 0
    for event_id in event_ids:
        rq_id = job_id("review-plan", event_id)
        if not job_is_alive(rq_id):
            enqueue(plan_from_event, event_id, queue="bulk", job_id=rq_id, unique=True)
            queued += 1
    return queued


def _time_request(session: Session, event: DomainEvent) -> None:
    target = (event.data or {}).get("to")
    if target == "cancelled":
        session.execute(
            update(ReviewRequest)
            .where(
                ReviewRequest.shop_id == event.shop_id,
                ReviewRequest.shopify_fulfillment_id == event.shopify_fulfillment_id,
                ReviewRequest.status.in_(("waiting", "held")),
            )
            .values(status="skipped", reason="shipment cancelled")
        )
        return
    shipment = session.execute(
        select(Fulfillment).where(
            Fulfillment.shop_id == event.shop_id, Fulfillment.shopify_fulfillment_id == event.shopify_fulfillment_id
        )
    ).scalar_one_or_none()
    if shipment is None:
        return
    order = session.execute(
        select(Order).where(Order.shop_id == event.shop_id, Order.shopify_order_id == shipment.shopify_order_id)
    ).scalar_one_or_none()
    if order is None:
        return
    settings = review_settings(session, event.shop_id)
    fulfilled_at = shipment.shopify_created_at or shipment.created_at or utcnow()
    delivered_at = None
    if target == "delivered":
        delivered_at = event.happened_at or shipment.delivered_at or event.occurred_at
    due = (
        delivered_at + timedelta(days=settings.delay_days)
        if delivered_at
        else fulfilled_at + timedelta(days=settings.fallback_days)
    )
    request_id = insert_unless_present(
        session,
        ReviewRequest.__table__,
        {
            "shop_id": event.shop_id,
            "shopify_order_id": shipment.shopify_order_id,
            "shopify_fulfillment_id": shipment.shopify_fulfillment_id,
            "shopify_customer_id": order.shopify_customer_id,
            "email": (order.email or "").strip().lower() or None,
            "fulfilled_at": fulfilled_at,
            "delivered_at": delivered_at,
            "due_at": due,
            "status": "waiting",
            "products": _shipment_products(order, shipment),
            "created_at": utcnow(),
        },
        ["shop_id", "shopify_fulfillment_id"],
    )
    if request_id is None and delivered_at is not None:
        # The request existed on its fallback timer: the delivered scan re-times it (only while not sent).
        session.execute(
            update(ReviewRequest)
            .where(
                ReviewRequest.shop_id == event.shop_id,
                ReviewRequest.shopify_fulfillment_id == shipment.shopify_fulfillment_id,
                ReviewRequest.delivered_at.is_(None),
                ReviewRequest.status.in_(("waiting", "held")),
            )
            .values(delivered_at=delivered_at, due_at=due)
        )


def _shipment_products(order: Order, shipment: Fulfillment) -> list[dict[str, Any]]:
    """The distinct products in the shipment (its line items matched to the order's, which name the product)."""
    by_line = {item.get("id"): item for item in order.line_items or []}
    lines = shipment.line_items or order.line_items or []
    products: dict[int, dict[str, Any]] = {}
    for line in lines:
        item = by_line.get(line.get("id")) or line
        product_id = item.get("product_id")
        if isinstance(product_id, int) and product_id not in products:
            products[product_id] = {"product_id": product_id, "title": item.get("title") or ""}
    return list(products.values())


def _hold_filters(shop_id: int, data: dict[str, Any]) -> list[Any]:
    email = str(data.get("email") or "").strip().lower() or None
    customer = data.get("shopify_customer_id")
    conditions = []
    if email:
        conditions.append(ReviewHold.email == email)
    if isinstance(customer, int):
        conditions.append(ReviewHold.shopify_customer_id == customer)
    return conditions


def _open_hold(session: Session, shop_id: int, data: dict[str, Any], order_id: int | None) -> None:
    email = str(data.get("email") or "").strip().lower() or None
    customer = data.get("shopify_customer_id") if isinstance(data.get("shopify_customer_id"), int) else None
    order_id = data.get("shopify_order_id") if isinstance(data.get("shopify_order_id"), int) else order_id
    if email is None and customer is None:
        return
    existing = session.execute(
        select(ReviewHold).where(
            ReviewHold.shop_id == shop_id,
            ReviewHold.shopify_order_id.is_(None) if order_id is None else ReviewHold.shopify_order_id == order_id,
            ReviewHold.email.is_(None) if email is None else ReviewHold.email == email,
        )
    ).scalar_one_or_none()
    if existing is not None:
        existing.released_at = None
        existing.shopify_customer_id = existing.shopify_customer_id or customer
        return
    session.add(ReviewHold(shop_id=shop_id, shopify_order_id=order_id, shopify_customer_id=customer, email=email))


def _release_hold(session: Session, shop_id: int, data: dict[str, Any], order_id: int | None) -> None:
    conditions = _hold_filters(shop_id, data)
    order_id = data.get("shopify_order_id") if isinstance(data.get("shopify_order_id"), int) else order_id
    if not conditions:
        return
    query = update(ReviewHold).where(ReviewHold.shop_id == shop_id, ReviewHold.released_at.is_(None), or_(*conditions))
    if order_id is not None:
        query = query.where(ReviewHold.shopify_order_id == order_id)
    session.execute(query.values(released_at=utcnow()))


def hold_reason(session: Session, request: ReviewRequest) -> str | None:
    """Why a due request must wait, or None: an open return, a delivery problem on the order, an unhandled
    detractor answer from this shopper."""
    if order_has_open_return(session, request.shop_id, request.shopify_order_id):
        return "return open"
    problem = session.execute(
        select(Fulfillment.id)
        .where(
            Fulfillment.shop_id == request.shop_id,
            Fulfillment.shopify_order_id == request.shopify_order_id,
            or_(
                Fulfillment.shipment_state.in_([s.value for s in PROBLEM_STATES]),
                Fulfillment.is_stalled.is_(True),
                Fulfillment.is_delayed.is_(True),
            ),
        )
        .limit(1)
    ).first()
    if problem is not None:
        return "delivery problem open"
    who = []
    if request.email:
        who.append(ReviewHold.email == request.email)
    if request.shopify_customer_id:
        who.append(ReviewHold.shopify_customer_id == request.shopify_customer_id)
    if (
        who
        and session.execute(
            select(ReviewHold.id)
            .where(ReviewHold.shop_id == request.shop_id, ReviewHold.released_at.is_(None), or_(*who))
            .limit(1)
        ).first()
    ):
        return "detractor not yet handled"
    return None


def send_due_request(session: Session, request: ReviewRequest, now: datetime) -> str:
    """Decide one due request: held (with why), skipped (nothing left to ask), or sent (a `review.requested`
    domain event, dedupe `review.requested:<id>`, that notifications turn into the message)."""
    if request.status not in ("waiting", "held") or request.due_at > now:
        return request.status
    settings = review_settings(session, request.shop_id)
    if not settings.is_enabled:
        request.status, request.reason = "skipped", "review requests are off"
        return request.status
    reason = hold_reason(session, request)
    if reason:
        request.status, request.reason = "held", reason
        return request.status
    key = shopper_key(request.shopify_customer_id, request.email)
    if key is None:
        request.status, request.reason = "skipped", "no shopper to ask"
        return request.status
    asked = []
    for product in request.products or []:
        if insert_unless_present(
            session,
            ReviewAsk.__table__,
            {
                "shop_id": request.shop_id,
                "shopper_key": key,
                "shopify_product_id": product["product_id"],
                "review_request_id": request.id,
                "created_at": now,
            },
            ["shop_id", "shopper_key", "shopify_product_id"],
        ):
            asked.append(product)
    if not asked:
        request.status, request.reason = "skipped", "already asked about every product"
        return request.status
    request.products = asked
    request.status, request.reason, request.sent_at = "sent", None, now
    record_event(
        session,
        request.shop_id,
        "review.requested",
        f"review.requested:{request.id}",
        shopify_order_id=request.shopify_order_id,
        shopify_fulfillment_id=request.shopify_fulfillment_id,
        data={"request_id": request.id, "product_ids": [p["product_id"] for p in asked]},
        happened_at=now,
    )
    return request.status


@with_app_context
def send_due_review_requests(now: datetime | None = None) -> int:
    """Periodic: every due request (waiting, or held and looked at again) is decided; returns how many were sent.
    Each row is locked (skip locked), so two sweeps never decide one request twice."""
    now = now or utcnow()
    session = db.session
    sent = 0
    rows = (
        session.execute(
            select(ReviewRequest)
            .where(ReviewRequest.status.in_(("waiting", "held")), ReviewRequest.due_at <= now)
            .order_by(ReviewRequest.due_at)
            .limit(DUE_BATCH)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for request in rows:
        if send_due_request(session, request, now) == "sent":
            sent += 1
    session.commit()
    return sent


# --- the shopper's reviews ------------------------------------------------------------------------------------


@dataclass
class ReviewEntry:
    product_id: int
    rating: int | None
    title: str = ""
    body: str = ""
    photos: list[Upload] = field(default_factory=list)


def open_products(session: Session, request: ReviewRequest) -> list[dict[str, Any]]:
    """The request's products not yet reviewed through it."""
    done = set(
        session.execute(
            select(Review.shopify_product_id).where(
                Review.shop_id == request.shop_id, Review.review_request_id == request.id
            )
        ).scalars()
    )
    return [p for p in request.products or [] if p["product_id"] not in done]


def author_name(order: Order | None) -> str | None:
    """How a review is signed: the first name and the last name's initial ("Mali S.")."""
    if order is None:
        return None
    full = (order.customer_name or "").split()
    first = order.customer_first_name or (full[0] if full else "")
    last_initial = f" {full[-1][0]}." if len(full) > 1 and full[-1] else ""
    return (first + last_initial).strip()[:120] or None


def submit_reviews(
    session: Session, request: ReviewRequest, entries: list[ReviewEntry], locale: str, author: str | None
) -> list[Review]:
    """Store the shopper's reviews of the request's products; raises ReviewInputError naming every problem and
    stores nothing then. A product already reviewed through this request is refused (a replayed form)."""
    products = {p["product_id"]: p for p in open_products(session, request)}
    errors: dict[str, str] = {}
    chosen = [e for e in entries if e.rating is not None or e.title.strip() or e.body.strip() or e.photos]
    if not chosen:
        errors["form"] = "reviews.error.nothing"
    for entry in chosen:
        prefix = f"product.{entry.product_id}"
        if entry.product_id not in products:
            errors[prefix] = "reviews.error.already"
            continue
        if entry.rating is None or not 1 <= entry.rating <= 5:
            errors[f"{prefix}.rating"] = "reviews.error.rating"
        if len(entry.title) > MAX_TITLE:
            errors[f"{prefix}.title"] = "reviews.error.title"
        if len(entry.body) > MAX_BODY:
            errors[f"{prefix}.body"] = "reviews.error.body"
        if len(entry.photos) > MAX_PHOTOS:
            errors[f"{prefix}.photos"] = "reviews.error.photo_count"
        for photo in entry.photos:
            problem = check_upload(photo, PHOTO_TYPES, MAX_PHOTO_BYTES)
            if problem:
                errors[f"{prefix}.photos"] = f"reviews.error.photo_{problem}"
    if errors:
        raise ReviewInputError(errors)
    now = utcnow()
    reviews = []
    for entry in chosen:
        review = Review(
            shop_id=request.shop_id,
            review_request_id=request.id,
            shopify_order_id=request.shopify_order_id,
            shopify_product_id=entry.product_id,
            product_title=(products[entry.product_id].get("title") or "")[:255] or None,
            shopify_customer_id=request.shopify_customer_id,
            email=request.email,
            author_name=author,
            locale=locale,
            rating=entry.rating,
            title=entry.title.strip() or None,
            body=entry.body.strip() or None,
            photo_count=len(entry.photos),
            status="pending",
            created_at=now,
        )
        session.add(review)
        session.flush()
        for photo in entry.photos:
            session.add(
                ReviewPhoto(
                    shop_id=request.shop_id,
                    review_id=review.id,
                    content_type=photo.content_type.split(";")[0].strip().lower(),
                    size=len(photo.data),
                    data=photo.data,
                )
            )
        record_event(
            session,
            request.shop_id,
            "review.submitted",
            f"review.submitted:{review.id}",
            shopify_order_id=request.shopify_order_id,
            data={"review_id": review.id, "rating": review.rating, "product_id": entry.product_id},
            happened_at=now,
        )
        reviews.append(review)
    if not open_products(session, request):
        request.status, request.completed_at = "completed", now
    return reviews


# --- moderation and replies -------------------------------------------------------------------------------------


def find_review(session: Session, shop_id: int, review_id: int) -> Review | None:
    return session.execute(select(Review).where(Review.id == review_id, Review.shop_id == shop_id)).scalar_one_or_none()


def moderate_review(session: Session, review: Review, status: str, by: str | None, reason: str | None) -> None:
    """Publish or hide a review; who, when and why are kept. Hiding needs a reason (FTC: no silent suppression).
    The product's rating metafields are queued for rewriting."""
    if status not in ("published", "hidden"):
        raise ReviewInputError({"status": "reviews.error.status"})
    reason = (reason or "").strip()
    if status == "hidden" and not reason:
        raise ReviewInputError({"reason": "reviews.error.reason"})
    if len(reason) > MAX_REASON:
        raise ReviewInputError({"reason": "reviews.error.reason_long"})
    review.status = status
    review.moderation_reason = reason or None
    review.moderated_by = (by or "")[:255] or None
    review.moderated_at = utcnow()
    queue_rating_sync(session, review.shop_id, review.shopify_product_id)


def reply_to_review(session: Session, review: Review, body: str, *, public: bool, by: str | None) -> ReviewReply:
    """A public reply is shown under the review (the latest one); a private one is emailed to the shopper through
    the notifications feature (a `review.replied` domain event, dedupe `review.replied:<reply id>`)."""
    body = (body or "").strip()
    if not body:
        raise ReviewInputError({"body": "reviews.error.reply_empty"})
    if len(body) > MAX_REPLY:
        raise ReviewInputError({"body": "reviews.error.reply_long"})
    if not public and (review.is_redacted or not (review.email or review.shopify_customer_id)):
        raise ReviewInputError({"body": "reviews.error.no_contact"})
    reply = ReviewReply(shop_id=review.shop_id, review_id=review.id, is_public=public, body=body, author=by)
    session.add(reply)
    session.flush()
    if public:
        review.public_reply, review.public_reply_at = body, reply.created_at or utcnow()
    elif review.shopify_order_id:
        record_event(
            session,
            review.shop_id,
            "review.replied",
            f"review.replied:{reply.id}",
            shopify_order_id=review.shopify_order_id,
            data={"review_id": review.id, "reply_id": reply.id},
            happened_at=utcnow(),
        )
    return reply


# --- Shopify's rating metafields: the outbox ----------------------------------------------------------------------


def queue_rating_sync(session: Session, shop_id: int, product_id: int) -> None:
    """Mark the product's `reviews.rating`/`rating_count` for rewriting and queue the write after commit (job
    `review-rating-<sync id>`; the row is the outbox, swept if the job is lost)."""
    sync_id = insert_unless_present(
        session,
        RatingSync.__table__,
        {"shop_id": shop_id, "shopify_product_id": product_id, "status": "pending", "attempts": 0},
        ["shop_id", "shopify_product_id"],
    )
    if sync_id is None:
        sync_id = session.execute(
            select(RatingSync.id).where(RatingSync.shop_id == shop_id, RatingSync.shopify_product_id == product_id)
        ).scalar_one()
        session.execute(
            update(RatingSync).where(RatingSync.id == sync_id).values(status="pending", updated_at=utcnow())
        )
    enqueue_after_commit(
        session,
        write_rating_metafields,
        sync_id,
        queue="default",
        job_id=job_id("review-rating", sync_id),
        unique=True,
    )
