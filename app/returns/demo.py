"""Demo returns: delivered orders (through the real webhook path), product facts, a Gold customer, and returns
in several states, some from the portal and one made "in the Shopify admin" (returns/* webhooks)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.orders.demo import deliver, fulfillment_payload, order_payload
from app.orders.models import Order
from app.returns.links import return_status_path, returns_portal_path
from app.returns.models import CustomerLoyalty, ReturnProductFacts, ReturnRequest
from app.returns.services import (
    RequestedLine,
    add_tracking,
    approve_return,
    create_return_request,
    mark_received,
    policy_row,
    resolve_return,
)
from app.shopify.models import Shop

SHIRT, SHIRT_M, SHIRT_L, SHIRT_XL = 9_200_001, 9_300_001, 9_300_002, 9_300_003
SCARF, SCARF_V = 9_200_002, 9_300_004
TOTE, TOTE_V = 9_200_003, 9_300_005
SANDALS, SANDALS_V = 9_200_004, 9_300_006

PRODUCTS = [
    (SHIRT, "Linen shirt", "shirt", ["linen"], [(SHIRT_M, "M"), (SHIRT_L, "L"), (SHIRT_XL, "XL")], "890.00"),
    (SCARF, "Silk scarf", "accessory", ["final-sale"], [(SCARF_V, "Default Title")], "450.00"),
    (TOTE, "Canvas tote", "bag", [], [(TOTE_V, "Default Title")], "590.00"),
    (SANDALS, "Leather sandals", "shoes", ["shoes"], [(SANDALS_V, "40")], "1290.00"),
]


# Demo orders whose portal is worth opening: items to return (and a final-sale one refused), a window ended.
PORTAL_ORDERS = (1020, 1024)


def demo_returns_links(shop_id: int) -> list[tuple[str, str, str]]:
    """(order or return name, what it shows, path of its signed page): the returns portal for a few demo
    orders, then the status page of every demo return."""
    links = []
    for number in PORTAL_ORDERS:
        found = db.session.execute(
            select(Order.id, Order.name).where(Order.shop_id == shop_id, Order.order_number == number)
        ).first()
        if found is not None:
            links.append((found.name, "portal", returns_portal_path(shop_id, found.id)))
    returns = db.session.execute(
        select(ReturnRequest).where(ReturnRequest.shop_id == shop_id).order_by(ReturnRequest.id)
    ).scalars()
    for request in returns:
        order_name = db.session.execute(select(Order.name).where(Order.id == request.order_id)).scalar()
        links.append(
            (request.name or order_name or f"#{request.id}", request.status, return_status_path(shop_id, request.id))
        )
    return links


def _order_with(number: int, days_ago: float, email: str, name: str, lines: list[tuple[int, int, int]], **kw):
    """A demo order whose line items are (product, variant, quantity) of the products above."""
    by_id = {p[0]: p for p in PRODUCTS}
    items = [(by_id[product][1], by_id[product][5], qty) for product, _, qty in lines]
    order = order_payload(number, days_ago, email, name, items, **kw)
    for item, (product, variant, _) in zip(order["line_items"], lines, strict=True):
        item["product_id"], item["variant_id"] = product, variant
        item["variant_title"] = next(v for v_id, v in by_id[product][4] if v_id == variant)
    return order


def _delivered(order: dict[str, Any], days_ago: float) -> dict[str, Any]:
    fulfillment = fulfillment_payload(order, 1, days_ago + 2, "Kerry Express", f"SHP50{order['order_number']}0001")
    fulfillment["shipment_status"] = "delivered"
    fulfillment["updated_at"] = (utcnow() - timedelta(days=days_ago)).isoformat()
    return fulfillment


def seed_demo_returns(shop: Shop) -> None:
    """Idempotent: does nothing once the demo has returns."""
    if db.session.execute(select(ReturnRequest.id).where(ReturnRequest.shop_id == shop.id)).first():
        return
    for product_id, title, product_type, tags, variants, price in PRODUCTS:
        db.session.add(
            ReturnProductFacts(
                shop_id=shop.id,
                shopify_product_id=product_id,
                title=title,
                product_type=product_type,
                tags=tags,
                collections=["summer"],
                variants=[{"id": v, "title": t, "price": price, "available": True} for v, t in variants],
            )
        )
    policy_row(db.session, shop.id)
    db.session.commit()

    orders = {
        1020: (
            _order_with(1020, 9, "nok@example.com", "Nok", [(SHIRT, SHIRT_M, 1), (SCARF, SCARF_V, 1)], locale="th"),
            6,
        ),
        1021: (_order_with(1021, 14, "liam@example.com", "Liam", [(TOTE, TOTE_V, 1)]), 10),
        1022: (_order_with(1022, 48, "ploy@example.com", "Ploy", [(SANDALS, SANDALS_V, 1)], locale="th"), 45),
        1023: (_order_with(1023, 8, "maya@example.com", "Maya", [(SHIRT, SHIRT_M, 1)]), 5),
        1024: (_order_with(1024, 40, "omar@example.com", "Omar", [(SHIRT, SHIRT_L, 1)]), 36),
    }
    for order, delivered_days_ago in orders.values():
        deliver("orders/create", order)
        deliver("fulfillments/create", _delivered(order, delivered_days_ago))
    # Ploy is a VIP in Shopify (tag "vip"): the Gold tier, 60-day window, free shipping, no waiting.
    ploy = orders[1022][0]["customer"]["id"]
    db.session.add(
        CustomerLoyalty(
            shop_id=shop.id, shopify_customer_id=ploy, orders_count=9, amount_spent=Decimal("26500"), tags=["vip"]
        )
    )
    db.session.commit()

    def order(number: int) -> Order:
        return db.session.execute(
            select(Order).where(Order.shop_id == shop.id, Order.order_number == number)
        ).scalar_one()

    line = {n: int(orders[n][0]["line_items"][0]["id"]) for n in orders}
    requested = create_return_request(
        db.session, order(1021), [RequestedLine(line[1021], 1)], reason_code="too_large", resolution="refund"
    )
    gold = create_return_request(
        db.session,
        order(1022),
        [RequestedLine(line[1022], 1)],
        reason_code="changed_mind",
        resolution="store_credit",
        locale="th",
    )
    exchange = create_return_request(
        db.session,
        order(1023),
        [RequestedLine(line[1023], 1, exchange_variant_id=SHIRT_L)],
        reason_code="too_small",
        resolution="exchange_variant",
    )
    db.session.commit()
    approve_return(db.session, exchange, "merchant:demo-owner")
    add_tracking(db.session, exchange, "shopper", "Kerry Express", "SHP5099912345")
    mark_received(db.session, exchange, "merchant:demo-owner")
    resolve_return(db.session, exchange, "merchant:demo-owner")
    db.session.commit()
    assert requested.status == "requested" and gold.status == "awaiting_shipment"

    # Made in the Shopify admin, then declined there: arrives through returns/* webhooks.
    nok = orders[1020][0]
    shopify_return = {
        "id": 5_950_000_000_001,
        "admin_graphql_api_id": "gid://shopify/Return/5950000000001",
        "status": "requested",
        "name": "#1020-R1",
        "order": {"id": nok["id"], "admin_graphql_api_id": nok["admin_graphql_api_id"]},
        "return_line_items": [
            {
                "id": 1,
                "quantity": 1,
                "customer_note": "ผ้าพันคอมีรอยขาด",
                "fulfillment_line_item": {"id": 2, "line_item": {"id": nok["line_items"][1]["id"]}},
            }
        ],
        "exchange_line_items": [],
    }
    deliver("returns/request", shopify_return)
    deliver(
        "returns/decline",
        dict(shopify_return, status="declined", decline={"reason": "final_sale", "note": "Final sale items"}),
    )
