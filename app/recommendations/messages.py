"""Shopper-facing text of the recommendation cards, in English and Thai (key prefix `recs.`)."""

from __future__ import annotations

from app.i18n import extend_catalog

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "recs.title": "You may also like",
        "recs.title.exchange": "Try these instead",
        "recs.title.email": "Picked for you",
        "recs.next_size": "Next size: {size}",
    },
    "th": {
        "recs.title": "สินค้าที่คุณอาจชอบ",
        "recs.title.exchange": "ลองเลือกสินค้าเหล่านี้แทน",
        "recs.title.email": "คัดมาเพื่อคุณ",
        "recs.next_size": "ไซซ์ถัดไป: {size}",
    },
}

extend_catalog(MESSAGES)
