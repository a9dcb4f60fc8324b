"""Default message templates for every trigger, in English and Thai.

Each is a sandboxed Jinja template (the same language merchants edit): `subject` and `body` for email
(paragraphs separated by blank lines), `short` for SMS and LINE. Variables: first_name, shop_name,
order_name, status_label, estimate, carrier, tracking_number, items, tracking_url; for returns also
return_url, next_steps and decline_reason; for product content content_title, content_body and
content_video_url; for a delivery survey also survey_question and survey_url (the
score buttons themselves are drawn by the email layout, one signed link per score).
"""

from __future__ import annotations

TRIGGERS = (
    "order_confirmed",
    "shipped",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "order_delivered",
    "attempted_delivery",
    "ready_for_pickup",
    "delayed",
    "exception",
    # returns (app/returns): one message per step the shopper needs to know about
    "return_requested",
    "return_approved",
    "return_declined",
    "return_received",
    "return_resolved",
    # surveys (app/surveys): one question a few days after the order's last parcel arrived
    "delivery_survey",
    # reviews (app/reviews): a request timed from delivery, and a merchant's private reply to a review
    "review_request",
    "review_reply",
    # product content (app/content): how to get started when the parcel arrives, care tips days later
    "product_content",
)

# Sent only by hand, from the order page (not a moment the merchant switches on): the shopper's tracking link.
MANUAL_TRIGGERS = ("tracking_link",)

# A follow-up flow's step (app/flows): its words are the merchant's, edited per step on /app/flows; these are
# what a step says when its own text cannot be rendered.
FLOW_TRIGGERS = ("flow_step",)

# Channels on by default for each trigger: email for everything; SMS/LINE only where the moment matters.
DEFAULT_CHANNELS: dict[str, dict[str, bool]] = {
    trigger: {
        "email": True,
        "sms": trigger in ("out_for_delivery", "attempted_delivery", "ready_for_pickup", "delayed", "exception"),
        "line": trigger not in ("in_transit", "review_reply"),
    }
    for trigger in TRIGGERS
}

DEFAULTS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "tracking_link": {
            "subject": "Track your order {{ order_name }}",
            "body": "Hi {{ first_name or 'there' }},\n\nHere is where to follow your order {{ order_name }} "
            "from {{ shop_name }}, any time: it shows where each parcel is and when it should arrive.",
            "short": "{{ shop_name }}: follow your order {{ order_name }} here: {{ tracking_url }}",
        },
        "order_confirmed": {
            "subject": "Order {{ order_name }} confirmed",
            "body": "Hi {{ first_name or 'there' }},\n\nThanks for your order! {{ shop_name }} has confirmed "
            "{{ order_name }} and is getting it ready.\n\nWe'll let you know as soon as it ships.",
            "short": "{{ shop_name }}: order {{ order_name }} is confirmed. Track it: {{ tracking_url }}",
        },
        "shipped": {
            "subject": "Your order {{ order_name }} is on its way",
            # The tracking number (with the carrier) and the estimate are shown beside the body (rendering.py).
            "body": "Hi {{ first_name or 'there' }},\n\nGood news: your order has shipped"
            "{% if carrier %} with {{ carrier }}{% endif %}.",
            "short": "{{ shop_name }}: {{ order_name }} has shipped{% if estimate %}, arriving {{ estimate }}"
            "{% endif %}. Track: {{ tracking_url }}",
        },
        "in_transit": {
            "subject": "Update on your order {{ order_name }}",
            "body": "Hi {{ first_name or 'there' }},\n\nYour parcel is moving.{% if estimate %} The new "
            "estimated delivery is {{ estimate }}.{% endif %}",
            "short": "{{ shop_name }}: {{ order_name }} is in transit{% if estimate %}, now arriving {{ estimate }}"
            "{% endif %}. {{ tracking_url }}",
        },
        "out_for_delivery": {
            "subject": "Your order {{ order_name }} is out for delivery",
            "body": "Hi {{ first_name or 'there' }},\n\nYour parcel is with the driver and should arrive today.",
            "short": "{{ shop_name }}: {{ order_name }} is out for delivery today. {{ tracking_url }}",
        },
        "delivered": {
            "subject": "Your order {{ order_name }} was delivered",
            "body": "Hi {{ first_name or 'there' }},\n\nYour parcel has been delivered. We hope you love it!\n\n"
            "If anything is wrong, just reply to this email.",
            "short": "{{ shop_name }}: {{ order_name }} was delivered. Enjoy!",
        },
        "order_delivered": {
            "subject": "Everything in order {{ order_name }} has arrived",
            "body": "Hi {{ first_name or 'there' }},\n\nAll the parcels of your order have been delivered. "
            "We hope you love everything!\n\nIf anything is wrong, just reply to this email.",
            "short": "{{ shop_name }}: every parcel of {{ order_name }} has been delivered. Enjoy!",
        },
        "attempted_delivery": {
            "subject": "We missed you: delivery of {{ order_name }}",
            "body": "Hi {{ first_name or 'there' }},\n\nThe carrier tried to deliver your parcel but couldn't. "
            "They will usually try again, or leave instructions for collecting it.",
            "short": "{{ shop_name }}: the carrier couldn't deliver {{ order_name }}. Details: {{ tracking_url }}",
        },
        "ready_for_pickup": {
            "subject": "Your order {{ order_name }} is ready for pickup",
            "body": "Hi {{ first_name or 'there' }},\n\nYour parcel is waiting for you at the pickup point.",
            "short": "{{ shop_name }}: {{ order_name }} is ready for pickup. {{ tracking_url }}",
        },
        "delayed": {
            "subject": "Your order {{ order_name }} is running late",
            "body": "Hi {{ first_name or 'there' }},\n\nWe're sorry: your parcel is taking longer than expected. "
            "It is still on its way and we are keeping an eye on it.{% if estimate %}\n\nNew estimated "
            "delivery: {{ estimate }}.{% endif %}",
            "short": "{{ shop_name }}: sorry, {{ order_name }} is running late{% if estimate %}; new estimate "
            "{{ estimate }}{% endif %}. {{ tracking_url }}",
        },
        "exception": {
            "subject": "A problem with the delivery of {{ order_name }}",
            "body": "Hi {{ first_name or 'there' }},\n\nThe carrier reported a problem with your parcel "
            "({{ status_label }}). Reply to this email and the shop will help you sort it out.",
            "short": "{{ shop_name }}: there's a problem delivering {{ order_name }}. Details: {{ tracking_url }}",
        },
        "return_requested": {
            "subject": "We received your return request for {{ order_name }}",
            "body": "Hi {{ first_name or 'there' }},\n\nThanks: {{ shop_name }} has your return request for "
            "{{ order_name }} and will let you know once it is reviewed.",
            "short": "{{ shop_name }}: we received your return request for {{ order_name }}.",
        },
        "return_approved": {
            "subject": "Your return for {{ order_name }} is approved",
            "body": "Hi {{ first_name or 'there' }},\n\nYour return for {{ order_name }} is approved."
            "{% if next_steps %}\n\nWhat to do next: {{ next_steps }}{% else %} Your return page shows how to "
            "send the items back.{% endif %}",
            "short": "{{ shop_name }}: your return for {{ order_name }} is approved.",
        },
        "return_declined": {
            "subject": "About your return request for {{ order_name }}",
            "body": "Hi {{ first_name or 'there' }},\n\nSorry, {{ shop_name }} could not accept the return "
            "request for {{ order_name }}.{% if decline_reason %}\n\nWhy: {{ decline_reason }}{% endif %}\n\n"
            "Reply to this email if you have questions.",
            "short": "{{ shop_name }}: sorry, the return request for {{ order_name }} was declined.",
        },
        "return_received": {
            "subject": "We received your returned items from {{ order_name }}",
            "body": "Hi {{ first_name or 'there' }},\n\n{{ shop_name }} has received the items you sent back "
            "from {{ order_name }} and is checking them now.",
            "short": "{{ shop_name }}: we received your returned items from {{ order_name }}.",
        },
        "return_resolved": {
            "subject": "Your return for {{ order_name }} is complete",
            "body": "Hi {{ first_name or 'there' }},\n\nYour return for {{ order_name }} is complete: your refund, "
            "store credit or exchange has been issued.",
            "short": "{{ shop_name }}: your return for {{ order_name }} is complete.",
        },
        "delivery_survey": {
            "subject": "How did we do with {{ order_name }}?",
            "body": "Hi {{ first_name or 'there' }},\n\n{{ survey_question }}\n\nOne tap on a score below is all it "
            "takes.",
            "short": "{{ shop_name }}: {{ survey_question }} Tap to answer: {{ survey_url }}",
        },
        "review_request": {
            "subject": "How do you like your order {{ order_name }}?",
            "body": "Hi {{ first_name or 'there' }},\n\nYour parcel arrived a few days ago. Would you tell other "
            "shoppers what you think, good or bad? A star rating takes a moment; words and photos help even more."
            "{% if thank_you %}\n\n{{ thank_you }}{% endif %}",
            "short": "{{ shop_name }}: how do you like {{ order_name }}? Tell us, good or bad: {{ review_url }}",
        },
        "review_reply": {
            "subject": "{{ shop_name }} replied to your review",
            "body": "Hi {{ first_name or 'there' }},\n\nThank you for reviewing {{ review_product }}. "
            "Here is our reply:\n\n{{ reply_text }}",
            "short": "{{ shop_name }} replied to your review: {{ reply_text }}",
        },
        "product_content": {
            "subject": "{{ content_title }}",
            "body": "Hi {{ first_name or 'there' }},\n\n{{ content_body }}"
            "{% if content_video_url %}\n\nWatch the video: {{ content_video_url }}{% endif %}",
            "short": "{{ shop_name }}: {{ content_title }}. {{ content_body|truncate(300) }}"
            "{% if content_video_url %} {{ content_video_url }}{% endif %}",
        },
        "flow_step": {
            "subject": "A note from {{ shop_name }}",
            "body": "Hi {{ first_name or 'there' }},\n\nThank you for shopping with {{ shop_name }}.",
            "short": "{{ shop_name }}: thank you for shopping with us.",
        },
    },
    "th": {
        "tracking_link": {
            "subject": "ติดตามคำสั่งซื้อ {{ order_name }}",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nติดตามคำสั่งซื้อ {{ order_name }} "
            "จาก {{ shop_name }} ได้ตลอดเวลาที่ลิงก์นี้ ดูได้ว่าพัสดุแต่ละชิ้นอยู่ที่ไหนและจะถึงเมื่อไร",
            "short": "{{ shop_name }}: ติดตามคำสั่งซื้อ {{ order_name }} ได้ที่ {{ tracking_url }}",
        },
        "order_confirmed": {
            "subject": "ยืนยันคำสั่งซื้อ {{ order_name }} แล้ว",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nขอบคุณสำหรับคำสั่งซื้อ! "
            "{{ shop_name }} ยืนยันคำสั่งซื้อ {{ order_name }} แล้ว และกำลังเตรียมสินค้า\n\n"
            "เราจะแจ้งให้ทราบทันทีที่จัดส่ง",
            "short": "{{ shop_name }}: ยืนยันคำสั่งซื้อ {{ order_name }} แล้ว ติดตามได้ที่ {{ tracking_url }}",
        },
        "shipped": {
            "subject": "คำสั่งซื้อ {{ order_name }} จัดส่งแล้ว",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nข่าวดี! คำสั่งซื้อของคุณจัดส่งแล้ว"
            "{% if carrier %}ผ่าน {{ carrier }}{% endif %}",
            "short": "{{ shop_name }}: {{ order_name }} จัดส่งแล้ว{% if estimate %} คาดว่าจะได้รับ {{ estimate }}"
            "{% endif %} ติดตาม: {{ tracking_url }}",
        },
        "in_transit": {
            "subject": "อัปเดตคำสั่งซื้อ {{ order_name }}",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nพัสดุของคุณกำลังเดินทาง"
            "{% if estimate %} กำหนดส่งใหม่คือ {{ estimate }}{% endif %}",
            "short": "{{ shop_name }}: {{ order_name }} กำลังขนส่ง{% if estimate %} คาดว่าจะได้รับ {{ estimate }}"
            "{% endif %} {{ tracking_url }}",
        },
        "out_for_delivery": {
            "subject": "คำสั่งซื้อ {{ order_name }} กำลังนำจ่าย",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nพัสดุของคุณอยู่กับพนักงานนำจ่าย และน่าจะถึงวันนี้",
            "short": "{{ shop_name }}: {{ order_name }} กำลังนำจ่ายวันนี้ {{ tracking_url }}",
        },
        "delivered": {
            "subject": "คำสั่งซื้อ {{ order_name }} จัดส่งสำเร็จแล้ว",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nพัสดุของคุณถูกส่งถึงแล้ว "
            "หวังว่าคุณจะชอบ!\n\nหากมีปัญหาใด ๆ ตอบกลับอีเมลนี้ได้เลย",
            "short": "{{ shop_name }}: {{ order_name }} ส่งถึงแล้ว ขอบคุณค่ะ!",
        },
        "order_delivered": {
            "subject": "สินค้าทั้งหมดในคำสั่งซื้อ {{ order_name }} ส่งถึงแล้ว",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nพัสดุทุกชิ้นในคำสั่งซื้อของคุณ"
            "ส่งถึงแล้ว หวังว่าคุณจะชอบ!\n\nหากมีปัญหาใด ๆ ตอบกลับอีเมลนี้ได้เลย",
            "short": "{{ shop_name }}: พัสดุทุกชิ้นของ {{ order_name }} ส่งถึงแล้ว ขอบคุณค่ะ!",
        },
        "attempted_delivery": {
            "subject": "นำจ่ายคำสั่งซื้อ {{ order_name }} ไม่สำเร็จ",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nขนส่งพยายามนำจ่ายพัสดุแล้ว"
            "แต่ไม่สำเร็จ โดยปกติจะนำจ่ายใหม่อีกครั้ง หรือแจ้งวิธีรับพัสดุไว้ให้",
            "short": "{{ shop_name }}: ขนส่งนำจ่าย {{ order_name }} ไม่สำเร็จ ดูรายละเอียด: {{ tracking_url }}",
        },
        "ready_for_pickup": {
            "subject": "คำสั่งซื้อ {{ order_name }} พร้อมให้รับแล้ว",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nพัสดุของคุณรออยู่ที่จุดรับพัสดุแล้ว",
            "short": "{{ shop_name }}: {{ order_name }} พร้อมให้รับแล้ว {{ tracking_url }}",
        },
        "delayed": {
            "subject": "คำสั่งซื้อ {{ order_name }} ล่าช้ากว่ากำหนด",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nขออภัยค่ะ พัสดุของคุณใช้เวลานาน"
            "กว่าที่คาดไว้ แต่ยังอยู่ระหว่างทาง และเรากำลังติดตามให้{% if estimate %}\n\nกำหนดส่งใหม่: "
            "{{ estimate }}{% endif %}",
            "short": "{{ shop_name }}: ขออภัย {{ order_name }} ล่าช้า{% if estimate %} กำหนดใหม่ {{ estimate }}"
            "{% endif %} {{ tracking_url }}",
        },
        "exception": {
            "subject": "การจัดส่งคำสั่งซื้อ {{ order_name }} มีปัญหา",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nขนส่งแจ้งว่าพัสดุของคุณมีปัญหา "
            "({{ status_label }}) ตอบกลับอีเมลนี้ แล้วทางร้านจะช่วยดูแลให้",
            "short": "{{ shop_name }}: การจัดส่ง {{ order_name }} มีปัญหา ดูรายละเอียด: {{ tracking_url }}",
        },
        "return_requested": {
            "subject": "เราได้รับคำขอคืนสินค้าสำหรับ {{ order_name }} แล้ว",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nขอบคุณค่ะ {{ shop_name }} "
            "ได้รับคำขอคืนสินค้าของ {{ order_name }} แล้ว และจะแจ้งให้ทราบเมื่อตรวจสอบเสร็จ",
            "short": "{{ shop_name }}: ได้รับคำขอคืนสินค้าของ {{ order_name }} แล้ว",
        },
        "return_approved": {
            "subject": "คำขอคืนสินค้าของ {{ order_name }} ได้รับการอนุมัติแล้ว",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nคำขอคืนสินค้าของ "
            "{{ order_name }} ได้รับการอนุมัติแล้ว{% if next_steps %}\n\nขั้นตอนต่อไป: {{ next_steps }}"
            "{% else %} ดูวิธีส่งสินค้าคืนได้ที่หน้าการคืนสินค้า{% endif %}",
            "short": "{{ shop_name }}: คำขอคืนสินค้าของ {{ order_name }} อนุมัติแล้ว",
        },
        "return_declined": {
            "subject": "เกี่ยวกับคำขอคืนสินค้าของ {{ order_name }}",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nขออภัยค่ะ {{ shop_name }} "
            "ไม่สามารถรับคืนสินค้าของ {{ order_name }} ได้{% if decline_reason %}\n\nเหตุผล: {{ decline_reason }}"
            "{% endif %}\n\nตอบกลับอีเมลนี้ได้หากมีคำถาม",
            "short": "{{ shop_name }}: ขออภัย คำขอคืนสินค้าของ {{ order_name }} ถูกปฏิเสธ",
        },
        "return_received": {
            "subject": "เราได้รับสินค้าที่ส่งคืนจาก {{ order_name }} แล้ว",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\n{{ shop_name }} "
            "ได้รับสินค้าที่คุณส่งคืนจาก {{ order_name }} แล้ว และกำลังตรวจสอบ",
            "short": "{{ shop_name }}: ได้รับสินค้าที่ส่งคืนจาก {{ order_name }} แล้ว",
        },
        "return_resolved": {
            "subject": "การคืนสินค้าของ {{ order_name }} เสร็จสมบูรณ์",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nการคืนสินค้าของ "
            "{{ order_name }} เสร็จสมบูรณ์ เงินคืน เครดิตร้านค้า หรือสินค้าที่เปลี่ยนได้ดำเนินการแล้ว",
            "short": "{{ shop_name }}: การคืนสินค้าของ {{ order_name }} เสร็จสมบูรณ์",
        },
        "delivery_survey": {
            "subject": "คำสั่งซื้อ {{ order_name }} เป็นอย่างไรบ้าง?",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\n{{ survey_question }}\n\n"
            "แตะคะแนนด้านล่างเพียงครั้งเดียวก็เสร็จแล้ว",
            "short": "{{ shop_name }}: {{ survey_question }} แตะเพื่อตอบ: {{ survey_url }}",
        },
        "review_request": {
            "subject": "คุณชอบสินค้าในคำสั่งซื้อ {{ order_name }} ไหม",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nพัสดุของคุณถึงมือเมื่อไม่กี่วันก่อน "
            "ช่วยเล่าให้ผู้ซื้อคนอื่นฟังได้ไหมว่าคุณคิดอย่างไร ไม่ว่าจะดีหรือไม่ดี ให้ดาวใช้เวลาเพียงครู่เดียว "
            "ข้อความและรูปภาพยิ่งช่วยได้มาก{% if thank_you %}\n\n{{ thank_you }}{% endif %}",
            "short": "{{ shop_name }}: คุณชอบ {{ order_name }} ไหม บอกเราได้ทั้งดีและไม่ดี: {{ review_url }}",
        },
        "review_reply": {
            "subject": "{{ shop_name }} ตอบรีวิวของคุณแล้ว",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nขอบคุณที่รีวิว {{ review_product }} "
            "นี่คือคำตอบจากเรา:\n\n{{ reply_text }}",
            "short": "{{ shop_name }} ตอบรีวิวของคุณ: {{ reply_text }}",
        },
        "product_content": {
            "subject": "{{ content_title }}",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\n{{ content_body }}"
            "{% if content_video_url %}\n\nดูวิดีโอ: {{ content_video_url }}{% endif %}",
            "short": "{{ shop_name }}: {{ content_title }} {{ content_body|truncate(300) }}"
            "{% if content_video_url %} {{ content_video_url }}{% endif %}",
        },
        "flow_step": {
            "subject": "ข้อความจาก {{ shop_name }}",
            "body": "สวัสดีค่ะ{% if first_name %} คุณ{{ first_name }}{% endif %}\n\nขอบคุณที่เลือกซื้อสินค้ากับ {{ shop_name }}",
            "short": "{{ shop_name }}: ขอบคุณที่เลือกซื้อสินค้ากับเรา",
        },
    },
}
