"""Demo reviews: orders delivered through the real webhook path, their review requests sent when due, and reviews
written on the review page's own service: good and bad, with photos, published, one hidden with its reason, and
replies in public and in private. The demo product's block data is at `demo_reviews_links`."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.orders.demo import deliver, fulfillment_payload, order_payload
from app.orders.models import Order
from app.reviews.links import make_product_token
from app.reviews.models import Review, ReviewRequest
from app.reviews.services import (
    ReviewEntry,
    moderate_review,
    reply_to_review,
    send_due_request,
    submit_reviews,
)
from app.shopify.models import Shop
from app.storefront.uploads import Upload

# Products of the demo catalogue (app/recommendations/demo.py seeds them through products/create).
LINEN_SHIRT, LINEN_SHIRT_M = 9_200_001, 9_300_001
STRAW_HAT, STRAW_HAT_V = 9_200_006, 9_300_012
DEMO_PRODUCT = LINEN_SHIRT


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small solid-colour PNG (a stand-in for a shopper's photo)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


# (order number, first name, email, locale, [(rating, title, text, photos)] per product, what the merchant does)
DEMO = (
    (1040, "Anong", "anong@example.com", "th", (5, "ผ้าดีมาก ใส่สบาย", "ผ้าลินินนุ่ม ระบายอากาศดี ไซซ์ตรง", 2), "public"),
    (
        1041,
        "James",
        "james@example.com",
        "en",
        (4, "Great shirt", "Lovely fabric, slightly long in the arms.", 1),
        None,
    ),
    (1042, "Siri", "siri@example.com", "th", (2, "สีไม่ตรงรูป", "สีซีดกว่าในรูปนิดหน่อย", 0), "private"),
    (1043, "Emma", "emma@example.com", "en", (5, "Perfect for summer", "Breathable and well cut.", 0), None),
    (1044, "Tom", "tom@example.com", "en", (3, "Call me", "Text me at +66 81 234 5678 for a deal", 0), "hide"),
)


def seed_demo_reviews(shop: Shop) -> None:
    """Idempotent: does nothing once the demo has reviews."""
    if db.session.execute(select(Review.id).where(Review.shop_id == shop.id)).first():
        return
    for number, name, email, locale, _, _ in DEMO:
        order = order_payload(number, 16, email, name, [("Linen shirt", "890.00", 1)], locale=locale)
        item = order["line_items"][0]
        item["product_id"], item["variant_id"], item["variant_title"] = LINEN_SHIRT, LINEN_SHIRT_M, "M"
        fulfillment = fulfillment_payload(order, 1, 14, "Kerry Express", f"SHP50{number}0001")
        fulfillment["shipment_status"] = "delivered"
        fulfillment["updated_at"] = (utcnow() - timedelta(days=10)).isoformat()
        deliver("orders/create", order)
        deliver("fulfillments/create", fulfillment)
    now = utcnow()
    colours = [(124, 154, 146), (194, 65, 12)]
    for number, name, _, locale, (rating, title, text, photo_count), action in DEMO:
        request = _request_of(shop.id, number)
        if request is None:
            continue
        request.due_at = min(request.due_at, now)
        if send_due_request(db.session, request, now) != "sent":
            continue
        photos = [Upload(f"photo{i}.png", "image/png", png(48, 36, colours[i % 2])) for i in range(photo_count)]
        entry = ReviewEntry(LINEN_SHIRT, rating, title, text, photos)
        (review,) = submit_reviews(db.session, request, [entry], locale, f"{name} {chr(65 + number % 26)}.")
        if action == "hide":
            moderate_review(db.session, review, "hidden", "demo-owner", "Contact details and an offer, not a review")
            continue
        moderate_review(db.session, review, "published", "demo-owner", None)
        if action == "public":
            reply_to_review(db.session, review, _public_reply(locale), public=True, by="demo-owner")
        elif action == "private":
            reply_to_review(
                db.session,
                review,
                "ขออภัยค่ะ เราจะส่งผ้าสีใหม่ให้ลองฟรี ตอบกลับอีเมลนี้ได้เลยค่ะ",
                public=False,
                by="demo-owner",
            )
    db.session.commit()


def _public_reply(locale: str) -> str:
    return "ขอบคุณมากค่ะ ดีใจที่ชอบนะคะ" if locale == "th" else "Thank you! We're glad you like it."


def _request_of(shop_id: int, number: int) -> ReviewRequest | None:
    order_id = db.session.execute(
        select(Order.shopify_order_id).where(Order.shop_id == shop_id, Order.order_number == number)
    ).scalar()
    return db.session.execute(
        select(ReviewRequest).where(ReviewRequest.shop_id == shop_id, ReviewRequest.shopify_order_id == order_id)
    ).scalar_one_or_none()


def demo_reviews_links(shop_id: int) -> list[tuple[str, str, str]]:
    """(what, note, path): the demo product's page with the storefront block, and the block's data."""
    token = make_product_token(shop_id, DEMO_PRODUCT)
    return [
        ("Linen shirt", "product page with the reviews block", f"/l/reviews/preview/{token}"),
        ("Linen shirt", "the block's data (JSON)", f"/l/reviews/product/{token}"),
    ]
