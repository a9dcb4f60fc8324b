"""The demo's product content: getting started with the linen shirt and the canvas tote, care tips for shirts
three days after delivery and for the tote a month after, two questions and answers about the shirt, in English
and Thai; five orders (#1055-#1059) in several states through the real webhook path, so #1055's delivered tracking
page shows everything released and #1058's, still in transit, the shirt's questions and answers."""

from __future__ import annotations

from sqlalchemy import select

from app.content.models import ContentEntry
from app.content.services import release_due_content
from app.extensions import db
from app.orders.demo import deliver, fulfillment_payload, order_payload, scan_payload
from app.shopify.models import Shop

SHIRT, SHIRT_VARIANT, TOTE, TOTE_VARIANT = 9_200_001, 9_300_002, 9_200_003, 9_300_005

DEMO_ENTRIES = (
    (
        "getting_started",
        "product",
        SHIRT,
        0,
        ("Getting started with your linen shirt", "วิธีเริ่มใช้เสื้อเชิ้ตลินิน"),
        (
            "Linen softens with every wash: give it a cold rinse before the first wear.\n"
            "Creases are part of its charm; hang it in a steamy bathroom to relax them.",
            "ผ้าลินินจะนุ่มขึ้นทุกครั้งที่ซัก ล้างน้ำเย็นก่อนสวมครั้งแรก\nรอยยับคือเสน่ห์ของลินิน แขวนไว้ในห้องน้ำที่มีไอน้ำเพื่อให้รอยยับคลายตัว",
        ),
        "https://example.com/videos/linen-shirt",
    ),
    (
        "getting_started",
        "variant",
        TOTE_VARIANT,
        0,
        ("Your canvas tote", "กระเป๋าผ้าแคนวาสของคุณ"),
        (
            "The tote is ready to carry up to 15 kg. The inner pocket fits a phone and keys.",
            "กระเป๋าพร้อมใช้ รับน้ำหนักได้ถึง 15 กก. ช่องด้านในใส่โทรศัพท์และกุญแจได้พอดี",
        ),
        None,
    ),
    (
        "care",
        "product_type",
        "shirt",
        3,
        ("Caring for linen", "วิธีดูแลผ้าลินิน"),
        (
            "Wash at 30 °C with similar colours, no bleach.\nDry in the shade and iron while still slightly damp.",
            "ซักที่ 30 องศากับผ้าสีใกล้กัน ห้ามใช้น้ำยาฟอกขาว\nตากในที่ร่ม และรีดขณะผ้ายังหมาด",
        ),
        None,
    ),
    (
        "care",
        "product",
        TOTE,
        30,
        ("Keeping your tote clean", "ดูแลกระเป๋าให้สะอาด"),
        ("Spot clean with a damp cloth; never tumble dry.", "เช็ดเฉพาะจุดด้วยผ้าชุบน้ำหมาด ห้ามอบแห้ง"),
        None,
    ),
    (
        "faq",
        "product",
        SHIRT,
        0,
        ("Will the linen shirt shrink?", "เสื้อเชิ้ตลินินจะหดไหม"),
        (
            "Very little: about 2% on the first warm wash. Washed cold, it keeps its size.",
            "หดเล็กน้อย ประมาณ 2% เมื่อซักน้ำอุ่นครั้งแรก ถ้าซักน้ำเย็นขนาดจะคงเดิม",
        ),
        None,
    ),
    (
        "faq",
        "product",
        SHIRT,
        0,
        ("Can I iron it?", "รีดได้ไหม"),
        ("Yes, on a medium setting while it is still slightly damp.", "ได้ ใช้ความร้อนปานกลางขณะผ้ายังหมาด"),
        None,
    ),
)

# number, shopper, locale, items (shirt, tote), the parcel's last state and how many days ago
DEMO_ORDERS = (
    (1055, "Nok", "th", (True, True), "delivered", 4),
    (1056, "Alex", "en", (True, False), "delivered", 1),
    (1057, "Mali", "th", (False, True), "out_for_delivery", 0.1),
    (1058, "Ben", "en", (True, False), "in_transit", 1),
    (1059, "Fah", "en", (True, True), "delivered", 0.2),
)


def seed_demo_content(shop: Shop) -> None:
    """Idempotent: does nothing once the demo has content."""
    if db.session.execute(select(ContentEntry.id).where(ContentEntry.shop_id == shop.id)).first():
        return
    for kind, scope, value, days, titles, bodies, video in DEMO_ENTRIES:
        texts = {"en": {"title": titles[0], "body": bodies[0]}, "th": {"title": titles[1], "body": bodies[1]}}
        db.session.add(
            ContentEntry(
                shop_id=shop.id,
                kind=kind,
                scope=scope,
                scope_value=str(value),
                delay_days=days,
                texts=texts,
                video_url=video,
                source="manual",
                is_active=True,
            )
        )
    db.session.commit()
    for number, name, locale, (shirt, tote), state, days_ago in DEMO_ORDERS:
        items = [("Linen shirt", "890.00", 1)] if shirt else []
        items += [("Canvas tote", "590.00", 1)] if tote else []
        order = order_payload(number, days_ago + 3, f"{name.lower()}@example.com", name, items, locale=locale)
        for item in order["line_items"]:
            is_shirt = item["title"] == "Linen shirt"
            item["product_id"] = SHIRT if is_shirt else TOTE
            item["variant_id"] = SHIRT_VARIANT if is_shirt else TOTE_VARIANT
        parcel = fulfillment_payload(order, 1, days_ago + 2, "Kerry Express", f"SHP50123456{number}")
        deliver("orders/create", order)
        deliver("fulfillments/create", parcel)
        deliver("fulfillment_events/create", scan_payload(parcel, 1, "in_transit", days_ago + 1, "In transit"))
        if state in ("out_for_delivery", "delivered"):
            deliver(
                "fulfillment_events/create",
                scan_payload(parcel, 2, "out_for_delivery", days_ago + 0.05, "Out for delivery"),
            )
        if state == "delivered":
            deliver("fulfillment_events/create", scan_payload(parcel, 3, "delivered", days_ago, "Delivered"))
    release_due_content()  # #1055 was delivered four days ago: its shirt's care tip is due
