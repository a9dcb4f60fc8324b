"""Shopper-facing text in English and Thai, and locale/time-zone aware date formatting.

Two languages from day one: every key exists in both catalogs (tests/test_i18n.py checks it).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime

LOCALES = ("en", "th")
DEFAULT_LOCALE = "en"

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "status.ordered": "Order received",
        "status.ordered.explain": "We have your order and are waiting for the payment to be confirmed.",
        "status.confirmed": "Confirmed",
        "status.confirmed.explain": "Your order is confirmed and the shop is getting it ready.",
        "status.label_created": "Packed",
        "status.label_created.explain": "Your parcel is packed and labelled, waiting for the carrier to collect it.",
        "status.shipped": "Shipped",
        "status.shipped.explain": "Your parcel has left the shop and is with the carrier.",
        "status.in_transit": "In transit",
        "status.in_transit.explain": "Your parcel is on its way to you.",
        "status.out_for_delivery": "Out for delivery",
        "status.out_for_delivery.explain": "Your parcel is with the driver and should arrive today.",
        "status.delivered": "Delivered",
        "status.delivered.explain": "Your parcel has been delivered. We hope you love it!",
        "status.attempted_delivery": "Delivery attempted",
        "status.attempted_delivery.explain": (
            "The carrier tried to deliver but could not. They will usually try again, "
            "or leave instructions for collecting it."
        ),
        "status.ready_for_pickup": "Ready for pickup",
        "status.ready_for_pickup.explain": "Your parcel is waiting for you at the pickup point.",
        "status.delayed": "Delayed",
        "status.delayed.explain": (
            "Your parcel is taking longer than expected. It is still on its way; "
            "we are keeping an eye on it. Sorry for the wait."
        ),
        "status.exception": "Problem with delivery",
        "status.exception.explain": (
            "The carrier reported a problem with this parcel. The shop has been told; contact them if you need help."
        ),
        "status.returned_to_sender": "Returned to sender",
        "status.returned_to_sender.explain": "The parcel is going back to the shop. Please contact them.",
        "status.cancelled": "Cancelled",
        "status.cancelled.explain": "This order was cancelled.",
        "track.title": "Track your order",
        "track.order_number": "Order number",
        "track.email": "Email",
        "track.phone": "Phone number",
        "track.email_or_phone": "Email or phone number",
        "track.submit": "Track",
        "track.not_found": (
            "We couldn't find an order with those details. Check the order number and the "
            "email or phone number you used at checkout."
        ),
        "track.invalid": "Enter your order number and the email or phone number you used at checkout.",
        "track.rate_limited": "Too many attempts. Please wait a minute and try again.",
        "track.error": "Something went wrong. Please try again in a moment.",
        "errors.unavailable": "We can't reach our records right now. Please try again in a minute.",
        "track.order": "Order {name}",
        "track.placed": "Placed {date}",
        "track.shipment": "Shipment {n} of {total}",
        "track.estimate": "Estimated delivery",
        "track.estimate.carrier": "estimate from the carrier",
        "track.estimate.learned": "based on recent deliveries",
        "track.estimate.default": "typical delivery time",
        "track.estimate.revised": "revised estimate",
        "track.carrier": "Carrier",
        "track.tracking_number": "Tracking number",
        "track.track_on_carrier": "Track on {carrier}",
        "track.history": "Tracking history",
        "track.no_events": "No updates from the carrier yet.",
        "track.items": "Items",
        "track.not_shipped": "Not shipped yet",
        "track.quantity": "Qty {quantity}",
        "track.help": "Need help?",
        "track.contact": "Contact us",
        "track.recommendations": "You may also like",
        "track.delivered_on": "Delivered {date}",
        "track.updates_title": "Get updates",
        "track.sms_label": "Mobile number",
        "track.sms_submit": "Text me updates",
        "track.sms_done": "Done: we'll text you when your order moves. Reply STOP to stop.",
        "track.sms_invalid": "Enter a mobile number, for example 081 234 5678.",
        "track.line": "Get updates on LINE",
        "track.settings.not_a_list": "a list",
    },
    "th": {
        "status.ordered": "ได้รับคำสั่งซื้อแล้ว",
        "status.ordered.explain": "เราได้รับคำสั่งซื้อของคุณแล้ว และกำลังรอการยืนยันการชำระเงิน",
        "status.confirmed": "ยืนยันแล้ว",
        "status.confirmed.explain": "คำสั่งซื้อของคุณได้รับการยืนยันแล้ว ร้านกำลังเตรียมสินค้า",
        "status.label_created": "แพ็กแล้ว",
        "status.label_created.explain": "พัสดุของคุณแพ็กและติดฉลากแล้ว กำลังรอขนส่งมารับ",
        "status.shipped": "จัดส่งแล้ว",
        "status.shipped.explain": "พัสดุออกจากร้านแล้ว และอยู่กับบริษัทขนส่ง",
        "status.in_transit": "กำลังขนส่ง",
        "status.in_transit.explain": "พัสดุของคุณกำลังเดินทางไปหาคุณ",
        "status.out_for_delivery": "กำลังนำจ่าย",
        "status.out_for_delivery.explain": "พัสดุอยู่กับพนักงานนำจ่าย และน่าจะถึงวันนี้",
        "status.delivered": "จัดส่งสำเร็จ",
        "status.delivered.explain": "พัสดุของคุณถูกส่งถึงแล้ว หวังว่าคุณจะชอบ!",
        "status.attempted_delivery": "นำจ่ายไม่สำเร็จ",
        "status.attempted_delivery.explain": ("ขนส่งพยายามนำจ่ายแล้วแต่ไม่สำเร็จ โดยปกติจะนำจ่ายใหม่อีกครั้ง หรือแจ้งวิธีรับพัสดุไว้ให้"),
        "status.ready_for_pickup": "พร้อมให้รับ",
        "status.ready_for_pickup.explain": "พัสดุของคุณรออยู่ที่จุดรับพัสดุแล้ว",
        "status.delayed": "ล่าช้า",
        "status.delayed.explain": ("พัสดุของคุณใช้เวลานานกว่าที่คาดไว้ แต่ยังอยู่ระหว่างทาง เรากำลังติดตามให้ ขออภัยที่ต้องรอ"),
        "status.exception": "การจัดส่งมีปัญหา",
        "status.exception.explain": ("ขนส่งแจ้งว่าพัสดุนี้มีปัญหา ร้านได้รับแจ้งแล้ว ติดต่อร้านได้หากต้องการความช่วยเหลือ"),
        "status.returned_to_sender": "ตีกลับไปยังผู้ส่ง",
        "status.returned_to_sender.explain": "พัสดุกำลังถูกส่งกลับไปที่ร้าน กรุณาติดต่อร้าน",
        "status.cancelled": "ยกเลิกแล้ว",
        "status.cancelled.explain": "คำสั่งซื้อนี้ถูกยกเลิกแล้ว",
        "track.title": "ติดตามคำสั่งซื้อ",
        "track.order_number": "หมายเลขคำสั่งซื้อ",
        "track.email": "อีเมล",
        "track.phone": "หมายเลขโทรศัพท์",
        "track.email_or_phone": "อีเมลหรือหมายเลขโทรศัพท์",
        "track.submit": "ติดตาม",
        "track.not_found": ("ไม่พบคำสั่งซื้อที่ตรงกับข้อมูลนี้ กรุณาตรวจสอบหมายเลขคำสั่งซื้อ และอีเมลหรือหมายเลขโทรศัพท์ที่ใช้ตอนสั่งซื้อ"),
        "track.invalid": "กรุณากรอกหมายเลขคำสั่งซื้อ และอีเมลหรือหมายเลขโทรศัพท์ที่ใช้ตอนสั่งซื้อ",
        "track.rate_limited": "ลองหลายครั้งเกินไป กรุณารอสักครู่แล้วลองใหม่",
        "track.error": "เกิดข้อผิดพลาด กรุณาลองใหม่อีกครั้งในอีกสักครู่",
        "errors.unavailable": "ขณะนี้ระบบไม่สามารถเข้าถึงข้อมูลได้ กรุณาลองใหม่อีกครั้งในอีกหนึ่งนาที",
        "track.order": "คำสั่งซื้อ {name}",
        "track.placed": "สั่งซื้อเมื่อ {date}",
        "track.shipment": "พัสดุที่ {n} จาก {total}",
        "track.estimate": "คาดว่าจะได้รับ",
        "track.estimate.carrier": "ประมาณการจากขนส่ง",
        "track.estimate.learned": "อ้างอิงจากการจัดส่งล่าสุด",
        "track.estimate.default": "ระยะเวลาจัดส่งโดยทั่วไป",
        "track.estimate.revised": "ประมาณการใหม่",
        "track.carrier": "บริษัทขนส่ง",
        "track.tracking_number": "หมายเลขพัสดุ",
        "track.track_on_carrier": "ติดตามที่ {carrier}",
        "track.history": "ประวัติการขนส่ง",
        "track.no_events": "ยังไม่มีข้อมูลอัปเดตจากขนส่ง",
        "track.items": "สินค้า",
        "track.not_shipped": "ยังไม่ได้จัดส่ง",
        "track.quantity": "จำนวน {quantity}",
        "track.help": "ต้องการความช่วยเหลือ?",
        "track.contact": "ติดต่อเรา",
        "track.recommendations": "สินค้าที่คุณอาจชอบ",
        "track.delivered_on": "ส่งถึงเมื่อ {date}",
        "track.updates_title": "รับข้อความอัปเดต",
        "track.sms_label": "หมายเลขโทรศัพท์มือถือ",
        "track.sms_submit": "ส่ง SMS อัปเดตให้ฉัน",
        "track.sms_done": "เรียบร้อย เราจะส่ง SMS เมื่อพัสดุมีความเคลื่อนไหว ตอบกลับ STOP เพื่อหยุดรับ",
        "track.sms_invalid": "กรุณากรอกหมายเลขโทรศัพท์มือถือ เช่น 081 234 5678",
        "track.line": "รับการแจ้งเตือนทาง LINE",
        "track.settings.not_a_list": "ต้องเป็นรายการ",
    },
}


def extend_catalog(entries: dict[str, dict[str, str]]) -> None:
    """Add a domain package's shopper-facing text (e.g. `app/returns/messages.py`) to the one catalog.

    Each package owns its keys under its own prefix ("returns.", "recs."), so a clash is a bug."""
    if set(entries) != set(LOCALES):
        raise ValueError(f"catalog entries must cover exactly {LOCALES}")
    for locale, texts in entries.items():
        clash = [key for key in texts if key in CATALOG[locale] and CATALOG[locale][key] != texts[key]]
        if clash:
            raise ValueError(f"catalog keys already defined differently: {clash}")
        CATALOG[locale].update(texts)


def negotiate_locale(*candidates: str | None) -> str:
    """The first supported locale among the candidates (`th-TH`, `en_US`, ...), else English."""
    for candidate in candidates:
        if not candidate:
            continue
        base = candidate.replace("_", "-").split("-")[0].strip().lower()
        if base in LOCALES:
            return base
    return DEFAULT_LOCALE


def t(locale: str, key: str, **values: object) -> str:
    catalog = CATALOG.get(locale, CATALOG[DEFAULT_LOCALE])
    text = catalog.get(key) or CATALOG[DEFAULT_LOCALE][key]
    return text.format(**values) if values else text


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    for candidate in (name, fallback, "UTC"):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def format_day(value: date, locale: str) -> str:
    return format_date(value, "EEE d MMM", locale=locale)


def format_moment(value: datetime, locale: str, tz: ZoneInfo) -> str:
    return format_datetime(value.astimezone(tz), "EEE d MMM, HH:mm", locale=locale)


def format_day_range(start: date, end: date, locale: str) -> str:
    """ "Thu 12 – Sat 14 Nov": a range, never a false precise date (one day only if the source says so)."""
    if start == end:
        return format_day(start, locale)
    if start.month == end.month and start.year == end.year:
        return f"{format_date(start, 'EEE d', locale=locale)} – {format_day(end, locale)}"
    return f"{format_day(start, locale)} – {format_day(end, locale)}"
