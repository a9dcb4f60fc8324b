"""Cards on the tracking page, in the widget's JSON and in order emails (only with marketing consent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import QUEUES
from app.recommendations.attribution import flush_impressions
from app.recommendations.models import ImpressionCount
from tests.recommendations.conftest import (
    CDN,
    JACKET,
    JON_EMAIL,
    T0,
    TEE,
    TEE_S,
    jon_orders,
    order_payload,
    product_payload,
)
from tests.storefront.test_tracking_page import signed_query


def test_tracking_page_shows_cards_with_image_title_price_and_signed_link(client, shop_with_history, deliver):
    jon_orders(deliver)
    response = client.get("/proxy/track?" + signed_query({"order": "1002", "email": JON_EMAIL}))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-slot="recommendations"' in page and "You may also like" in page
    assert "Rain Jacket" in page and 'src="/cdn/shop/files/10.jpg"' in page  # the shop's own domain serves it
    assert "cdn.shopify.com" not in page
    assert "https://aftercart.test/l/r/" in page and "THB" in page
    assert "aspect-ratio:1/1" in page  # the image box is sized before the image arrives
    thai = client.get("/proxy/track?" + signed_query({"order": "1002", "email": JON_EMAIL, "locale": "th"}))
    assert "สินค้าที่คุณอาจชอบ" in thai.get_data(as_text=True) and "฿" in thai.get_data(as_text=True)


def test_a_product_title_cannot_inject_liquid_or_html(client, shop_with_history, deliver):
    deliver(
        (
            "products/update",
            product_payload(
                JACKET, "Jacket {{ shop.secret }} <script>x</script>", "Tops", updated=T0 + timedelta(days=40)
            ),
        )
    )
    jon_orders(deliver)
    page = client.get("/proxy/track?" + signed_query({"order": "1002", "email": JON_EMAIL})).get_data(as_text=True)
    assert "Jacket &#123;&#123; shop.secret &#125;&#125; &lt;script&gt;" in page
    assert "{{ shop.secret }}" not in page and "<script>x" not in page


def test_widget_json_carries_the_cards_and_a_localised_heading(client, shop_with_history, deliver):
    jon_orders(deliver)
    body = client.get("/proxy/api/track?" + signed_query({"order": "1002", "email": JON_EMAIL, "locale": "th"})).json
    cards = body["recommendations"]
    assert cards and {"product_id", "title", "image_url", "price", "price_label", "currency", "url"} <= set(cards[0])
    assert TEE not in [c["product_id"] for c in cards]
    assert body["recommendations_title"] == "สินค้าที่คุณอาจชอบ"
    assert {c["image_url"] for c in cards} <= {f"/cdn/shop/files/{c['product_id']}.jpg" for c in cards}


def test_storefront_cards_never_point_at_a_third_party_image():
    from app.recommendations import storefront_image

    assert storefront_image(f"{CDN}/tee.jpg?v=12") == "/cdn/shop/files/tee.jpg?v=12"
    assert storefront_image("https://cdn.shopify.com/s/files/1/0001/0002/0003/products/a.png") == (
        "/cdn/shop/products/a.png"
    )
    assert storefront_image("https://images.example.net/tee.jpg") is None
    assert storefront_image(None) is None


def test_impressions_are_counted_per_placement(client, shop_with_history, deliver):
    jon_orders(deliver)
    for _ in range(2):
        client.get("/proxy/track?" + signed_query({"order": "1002", "email": JON_EMAIL}))
    client.get("/proxy/api/track?" + signed_query({"order": "1002", "email": JON_EMAIL}))
    assert db.session.execute(select(ImpressionCount)).first() is None  # counted in Redis on the page's path
    flush_impressions(shop_with_history.id)
    flush_impressions(shop_with_history.id)  # nothing new: nothing added
    counts = dict(
        db.session.execute(
            select(ImpressionCount.placement, func.sum(ImpressionCount.views)).group_by(ImpressionCount.placement)
        ).all()
    )
    assert counts == {"tracking_page": 2, "tracking_widget": 1}


def test_an_unknown_shopper_sees_no_cards_and_no_lookup_means_no_cards(client, shop_with_history, deliver):
    jon_orders(deliver)
    page = client.get("/proxy/track?" + signed_query({})).get_data(as_text=True)
    assert 'data-slot="recommendations"' not in page
    wrong = client.get("/proxy/api/track?" + signed_query({"order": "1002", "email": "someone@else.com"}))
    assert wrong.status_code == 404 and "recommendations" not in wrong.json


def _work(app, redis_conn) -> None:
    with app.app_context():
        SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
        db.session.remove()


def _order_email(smtp, to: str):
    found = [m for m in smtp.mailbox.messages if m["To"] == to]
    assert len(found) == 1, [m["To"] for m in smtp.mailbox.messages]
    message = found[0]
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    return html, text


def test_order_email_has_cards_only_for_a_shopper_with_marketing_consent(
    shop_with_history,
    mail_app,
    smtp,
    post_webhook,
    redis_conn,
):
    smtp.mailbox.messages.clear()
    client = mail_app.test_client()
    for order_id, email, consent in ((7101, "yes@example.com", True), (7102, "no@example.com", False)):
        payload = order_payload(
            order_id,
            [(TEE, TEE_S)],
            customer_id=order_id,
            email=email,
            created=datetime.now(UTC) - timedelta(hours=1),  # a new order: its confirmation is news
            buyer_accepts_marketing=consent,
        )
        assert post_webhook("orders/create", payload, via=client).status_code == 200
    _work(mail_app, redis_conn)
    html, text = _order_email(smtp, "yes@example.com")
    assert 'data-slot="recommendations"' in html and "Rain Jacket" in html and "/l/r/" in html
    assert "Picked for you" in text and "Rain Jacket" in text
    html, text = _order_email(smtp, "no@example.com")
    assert 'data-slot="recommendations"' not in html and "Rain Jacket" not in html
    assert "/l/r/" not in text and "Picked for you" not in text
