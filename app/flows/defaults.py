"""The four flows every shop starts with (switched off) and their first words, in English and Thai.

The words are Jinja sources the merchant edits on /app/flows, rendered in the notifications sandbox like every
merchant template: they are the merchant's text, not catalog entries. Variables: first_name, shop_name,
order_name, items, tracking_url."""

from __future__ import annotations

from typing import Any

KINDS = ("post_delivery", "replenishment", "winback", "first_order_thanks")
# The real events a flow's waits can be measured from.
STARTS_ON = ("delivered", "return_resolved", "survey_answered", "order_placed")


def _step(wait_days: int, en: tuple[str, str], th: tuple[str, str]) -> dict[str, Any]:
    return {
        "wait_days": wait_days,
        "channel": "email",
        "texts": {"en": {"subject": en[0], "body": en[1]}, "th": {"subject": th[0], "body": th[1]}},
    }


DEFAULT_FLOWS: dict[str, dict[str, Any]] = {
    "post_delivery": {
        "starts_on": "delivered",
        "steps": [
            _step(
                3,
                (
                    "Getting the most from your order {{ order_name }}",
                    "Hi {{ first_name or 'there' }},\n\nYour parcel arrived a few days ago. A few tips to make "
                    "it last: follow the care label, wash cold and dry in the shade.\n\nQuestions? Just reply.",
                ),
                (
                    "ดูแลสินค้าจากคำสั่งซื้อ {{ order_name }} ให้ใช้ได้นาน",
                    "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nพัสดุของคุณถึงมือเมื่อไม่กี่วันก่อน "
                    "เคล็ดลับให้ใช้ได้นาน: ทำตามป้ายดูแลสินค้า ซักน้ำเย็นและตากในที่ร่ม\n\nมีคำถาม ตอบกลับอีเมลนี้ได้เลย",
                ),
            ),
        ],
    },
    "replenishment": {
        "starts_on": "delivered",
        "steps": [
            _step(
                30,
                (
                    "Running low? Time to restock",
                    "Hi {{ first_name or 'there' }},\n\nShoppers usually reorder about now. Your last order was "
                    "{{ order_name }}; restock in a few taps whenever you are ready.",
                ),
                (
                    "ใกล้หมดหรือยัง ถึงเวลาเติมของแล้ว",
                    "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nลูกค้ามักสั่งซื้อซ้ำในช่วงนี้ "
                    "คำสั่งซื้อล่าสุดของคุณคือ {{ order_name }} สั่งเพิ่มได้ง่าย ๆ เมื่อคุณพร้อม",
                ),
            ),
        ],
    },
    "winback": {
        "starts_on": "order_placed",
        "steps": [
            _step(
                60,
                (
                    "We miss you at {{ shop_name }}",
                    "Hi {{ first_name or 'there' }},\n\nIt has been a while since your last order. Come and see "
                    "what is new at {{ shop_name }}.",
                ),
                (
                    "{{ shop_name }} คิดถึงคุณนะ",
                    "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nไม่ได้เจอกันนานแล้ว "
                    "แวะมาดูสินค้าใหม่ที่ {{ shop_name }} กันนะ",
                ),
            ),
        ],
    },
    "first_order_thanks": {
        "starts_on": "order_placed",
        "steps": [
            _step(
                1,
                (
                    "Thank you for your first order",
                    "Hi {{ first_name or 'there' }},\n\nThank you for choosing {{ shop_name }} for the first time. "
                    "We are packing {{ order_name }} with care.",
                ),
                (
                    "ขอบคุณสำหรับคำสั่งซื้อแรกของคุณ",
                    "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nขอบคุณที่เลือก {{ shop_name }} "
                    "เป็นครั้งแรก เรากำลังแพ็ก {{ order_name }} อย่างตั้งใจ",
                ),
            ),
        ],
    },
}
