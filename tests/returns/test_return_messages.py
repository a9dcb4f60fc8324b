"""What a shopper is told about a return, in English and Thai: the "approved" email leads to the return's own
status page (a signed link that works outside the storefront) and says what to do next; a "declined" email
says why; the portal names the loyalty tier in the shopper's language, hides Shopify's "Default Title"
variant and shows each item's picture from the catalogue (and no empty box where there is none).

Mail goes to a real SMTP server on loopback and is parsed strictly, as tests/notifications does."""

from __future__ import annotations

import email.policy
import html
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.orders.models import Order
from app.recommendations.models import CatalogProduct
from app.returns.models import ReturnRequest
from app.returns.services import RequestedLine, Upload, approve_return, create_return_request, decline_return
from tests.notifications.conftest import SmtpServer, smtp
from tests.returns.conftest import LINE_SHIRT, LINE_TOTE, SHIRT_PRODUCT, TOTE_PRODUCT
from tests.storefront.test_tracking_page import signed_query

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

STRICT = email.policy.default.clone(raise_on_defect=True)
__all__ = ["smtp"]  # the real SMTP server fixture, shared with tests/notifications


@pytest.fixture()
def fake_app(make_app, fake_shopify, smtp):
    """The returns app (fake Shopify) sending its mail to the real SMTP server."""
    application = make_app(
        shopify_admin_origin=fake_shopify.origin, demo_login=True, smtp_url=smtp.url, mail_from="updates@aftercart.test"
    )
    with application.app_context():
        yield application
        db.session.remove()


def _reload(request_id: int) -> ReturnRequest:
    db.session.expire_all()
    return db.session.get(ReturnRequest, request_id)


def _speaks(locale: str) -> None:
    order = db.session.execute(select(Order)).scalar_one()
    order.customer_locale = locale
    db.session.commit()


def _email(smtp: SmtpServer, subject_part: str) -> tuple[str, str]:
    found = [
        raw for raw, m in zip(smtp.mailbox.raw, smtp.mailbox.messages, strict=True) if subject_part in m["Subject"]
    ]
    assert len(found) == 1, [m["Subject"] for m in smtp.mailbox.messages]
    message = email.message_from_bytes(found[0], policy=STRICT)
    return message.get_body(("plain",)).get_content(), html.unescape(message.get_body(("html",)).get_content())


def _requested(order, line: int = LINE_TOTE) -> ReturnRequest:
    request = create_return_request(
        db.session, order, [RequestedLine(line, 1)], reason_code="changed_mind", resolution="refund"
    )
    db.session.commit()
    return request


def test_an_approved_return_email_leads_to_its_status_page_and_says_what_to_do_next(
    fake_app, delivered_order, work, smtp
):
    request = _requested(delivered_order(days_ago=5))
    work()
    approve_return(db.session, _reload(request.id), "merchant:3")
    db.session.commit()
    work()
    text, body = _email(smtp, "is approved")
    assert "Track your order" not in text and "Track your order" not in body
    assert "What to do next: Pack the items you are returning securely" in text
    assert "add its tracking number on your return page" in text
    link = re.search(r"See your return: (https://aftercart\.test/l/c/\S+)", text).group(1)
    assert link in body and ">See your return</a>" in body
    client = fake_app.test_client()
    redirect = client.get(link.removeprefix("https://aftercart.test"))
    assert redirect.status_code == 302
    target = redirect.headers["Location"]
    assert target.startswith("https://aftercart.test/l/returns/status/") and target.endswith("?locale=en")
    # The link opens the return's own page straight from the email: no storefront, no app-proxy signature.
    page = client.get(target.removeprefix("https://aftercart.test"))
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'data-return-status="awaiting_shipment"' in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    # ... and the shopper can act on it there: the tracking number of the parcel going back.
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    sent = client.post(action, data={"number": "SHP5012345678"})
    assert sent.status_code == 200 and 'data-return-status="in_transit"' in sent.text
    assert client.get(target.removeprefix("https://aftercart.test").replace("status/", "status/x")).status_code == 404


@pytest.mark.parametrize(
    ("locale", "subject", "reason", "note"),
    [
        ("en", "About your return request", "Why: Items sold as final sale can't be returned.", "“Worn and washed”"),
        ("th", "เกี่ยวกับคำขอคืนสินค้า", "เหตุผล: สินค้าลดราคาพิเศษที่ขายขาดไม่สามารถคืนได้", "หมายเหตุจากร้าน: “Worn and washed”"),
    ],
)
def test_a_declined_return_email_says_why(fake_app, delivered_order, work, smtp, locale, subject, reason, note):
    order = delivered_order(days_ago=5)
    _speaks(locale)
    request = _requested(order)
    work()
    decline_return(db.session, _reload(request.id), "merchant:3", "FINAL_SALE", "Worn and washed")
    db.session.commit()
    work()
    text, body = _email(smtp, subject)
    assert reason in text and note in text
    assert reason.split(": ", 1)[1] in body
    status = re.search(r": (https://aftercart\.test/l/c/\S+)", text.split(note, 1)[1]).group(1)
    client = fake_app.test_client()
    target = client.get(status.removeprefix("https://aftercart.test")).headers["Location"]
    page = client.get(target.removeprefix("https://aftercart.test"))
    assert page.status_code == 200 and reason.split(": ", 1)[1] in html.unescape(page.text)


def test_the_thai_portal_names_the_tier_in_thai_hides_default_title_and_shows_catalogue_pictures(
    fake_app, delivered_order, shop_id
):
    order = delivered_order(days_ago=5)
    # What Shopify sends for a product without options; the picture is in the synced catalogue only.
    order.line_items = [
        dict(item, variant_title="Default Title") if item["id"] == LINE_TOTE else item for item in order.line_items
    ]
    db.session.add(
        CatalogProduct(
            shop_id=shop_id,
            shopify_product_id=TOTE_PRODUCT,
            title="Canvas tote",
            image_url="https://cdn.shopify.com/s/files/tote.jpg",
        )
    )
    db.session.commit()
    client = fake_app.test_client()
    query = signed_query({"order": "1001", "email": "mali@example.com", "locale": "th"})
    page = client.get("/proxy/returns?" + query)
    assert page.status_code == 200
    assert "ระดับสมาชิกของคุณ: สมาชิก" in page.text and "Member" not in page.text
    tote = page.text.split(f'data-item="{LINE_TOTE}"', 1)[1].split("data-item=", 1)[0]
    assert "Default Title" not in page.text and "<strong>Canvas tote</strong> <span" not in tote
    assert '<img class="ac-thumb" src="https://cdn.shopify.com/s/files/tote.jpg"' in tote
    # The shirt has no picture anywhere: no empty box in its place.
    assert SHIRT_PRODUCT not in {p.shopify_product_id for p in db.session.execute(select(CatalogProduct)).scalars()}
    shirt = page.text.split(f'data-item="{LINE_SHIRT}"', 1)[1].split("data-item=", 1)[0]
    assert "ac-thumb" not in shirt


def test_a_message_about_a_return_the_shop_is_at_fault_for_carries_no_upsell(fake_app, delivered_order, work):
    """The notifications feature leaves out product cards when the return's facts say the shop let the shopper
    down (a damaged or wrong item: the shop's own seller-fault reasons)."""
    from app.returns.messages import return_message_facts

    order = delivered_order(days_ago=5)
    damaged = create_return_request(
        db.session,
        order,
        [RequestedLine(LINE_TOTE, 1)],
        reason_code="damaged",
        resolution="refund",
        comment="Torn strap",
        photo=Upload("tear.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    )
    kept = create_return_request(
        db.session, order, [RequestedLine(LINE_SHIRT, 1)], reason_code="changed_mind", resolution="refund"
    )
    db.session.commit()
    assert return_message_facts(db.session, order.shop_id, damaged.id, "en")["is_seller_fault"] is True
    assert return_message_facts(db.session, order.shop_id, kept.id, "en")["is_seller_fault"] is False
