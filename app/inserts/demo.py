"""The demo's inserts: the shop's own note in both languages (a sandboxed template using the shopper's first
name), so a printed demo insert shows everything an insert can say. The inserts page lists the demo orders, each
with its "Print insert" link."""

from __future__ import annotations

from app.extensions import db
from app.inserts.services import save_insert_settings
from app.shopify.models import Shop

DEMO_NOTE_EN = "{{ first_name or 'Friend' }}, every piece is checked by hand before it leaves our studio. Enjoy!"
DEMO_NOTE_TH = "คุณ{{ first_name or 'ลูกค้า' }} ทุกชิ้นผ่านการตรวจด้วยมือก่อนออกจากสตูดิโอของเรา ขอให้สนุกกับสินค้านะคะ"


def seed_demo_insert_settings(shop: Shop) -> None:
    save_insert_settings(db.session, shop.id, {"size": "a6", "note_en": DEMO_NOTE_EN, "note_th": DEMO_NOTE_TH})
    db.session.commit()
