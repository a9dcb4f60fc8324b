"""Returns walked through every path against the local fake Shopify: refund, store credit (auto-approved
loyalty tier), exchange, decline; Shopify's userErrors, throttling and lost answers with nothing lost or done
twice; and returns made in the Shopify admin arriving by webhook."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.events import events_for
from app.extensions import db
from app.notifications.models import Notification
from app.returns.models import ReturnRequest, ReturnStep, ReturnSyncOp
from app.returns.services import (
    RequestedLine,
    ReturnInputError,
    TransitionError,
    add_tracking,
    approve_return,
    create_return_request,
    decline_return,
    mark_received,
    resolve_return,
)
from tests.conftest import SHOP
from tests.returns.conftest import (
    CUSTOMER_ID,
    LINE_SALE,
    LINE_SHIRT,
    LINE_TOTE,
    ORDER_ID,
    SHIRT_L,
    make_vip,
    post,
)

# The test app secret is short; Shopify's real secrets are not.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _fake_returns(fake_shopify):
    return list(fake_shopify.shop(SHOP).returns_state.returns.values())


def _reload(request_id: int) -> ReturnRequest:
    db.session.expire_all()
    return db.session.get(ReturnRequest, request_id)


def _ops(request_id: int) -> dict[str, ReturnSyncOp]:
    rows = db.session.execute(select(ReturnSyncOp).where(ReturnSyncOp.return_request_id == request_id)).scalars()
    return {op.operation: op for op in rows}


def test_refund_path_requested_to_resolved(delivered_order, fake_shopify, work):
    order = delivered_order(days_ago=5)
    request = create_return_request(
        db.session, order, [RequestedLine(LINE_SHIRT, 1)], reason_code="too_small", resolution="refund", locale="th"
    )
    db.session.commit()
    assert request.status == "requested" and not request.is_auto_approved
    # 690 less the 60 return shipping fee (Member tier: no free shipping)
    assert (request.subtotal, request.shipping_fee, request.refund_amount) == (
        Decimal("690.00"),
        Decimal("60.00"),
        Decimal("630.00"),
    )
    work()
    [shopify_return] = _fake_returns(fake_shopify)
    assert shopify_return["status"] == "REQUESTED"
    assert shopify_return["returnLineItems"][0]["quantity"] == 1
    request = _reload(request.id)
    assert request.shopify_return_gid == shopify_return["id"] and request.name == "#1001-R1"

    approve_return(db.session, request, "merchant:42")
    db.session.commit()
    work()
    request = _reload(request.id)
    assert shopify_return["status"] == "OPEN" and request.status == "awaiting_shipment"
    assert request.reverse_fulfillment_order_gids

    add_tracking(db.session, request, "shopper", None, "SHP5099999999")
    mark_received(db.session, request, "merchant:42")
    resolve_return(db.session, request, "merchant:42")
    db.session.commit()
    work()
    request = _reload(request.id)
    assert shopify_return["reverseDeliveries"][0]["tracking"]["number"] == "SHP5099999999"
    assert request.tracking_url and "kerry" in request.tracking_url.lower()
    state = fake_shopify.shop(SHOP).returns_state
    assert [r["amount"] for r in state.refunds] == [Decimal("630.00")]
    assert shopify_return["status"] == "CLOSED"
    assert {op: row.status for op, row in _ops(request.id).items()} == {
        "create": "done",
        "approve": "done",
        "reverse_delivery": "done",
        "process": "done",
    }
    steps = [(s.status, s.actor) for s in request.steps]
    assert steps == [
        ("requested", "shopper"),
        ("approved", "merchant:42"),
        ("awaiting_shipment", "system"),
        ("in_transit", "shopper"),
        ("received", "merchant:42"),
        ("resolved", "merchant:42"),
    ]
    assert all(s.occurred_at is not None for s in request.steps)
    kinds = [e.data["to"] for e in events_for(db.session, request.shop_id, "return.status_changed")]
    assert kinds == [s for s, _ in steps]
    # Each step the shopper hears about became one email notification (in the shopper's language).
    emails = db.session.execute(
        select(Notification.trigger, Notification.locale).where(
            Notification.channel == "email", Notification.trigger.like("return_%")
        )
    ).all()
    assert sorted(t for t, _ in emails) == sorted(
        ["return_requested", "return_approved", "return_received", "return_resolved"]
    )


def test_loyal_customer_gets_auto_approval_free_shipping_and_credit_bonus(delivered_order, fake_shopify, work, shop_id):
    make_vip(shop_id)
    order = delivered_order(days_ago=50)  # past Member's 30 days, inside Gold's 60
    request = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="changed_mind", resolution="store_credit"
    )
    db.session.commit()
    assert request.tier_code == "gold" and request.is_auto_approved and request.is_free_shipping
    # 590 + 10% policy bonus replaced... Gold adds its 10% to the policy's 10%: 20% of 590 = 118
    assert (request.credit_bonus, request.credit_amount) == (Decimal("118.00"), Decimal("708.00"))
    assert request.status == "awaiting_shipment"
    work()
    [shopify_return] = _fake_returns(fake_shopify)
    assert shopify_return["status"] == "OPEN"  # returnCreate: approved outside Shopify
    request = _reload(request.id)
    mark_received(db.session, request, "merchant:1")
    resolve_return(db.session, request, "merchant:1")
    db.session.commit()
    work()
    state = fake_shopify.shop(SHOP).returns_state
    assert state.refunds == []
    [credit] = state.store_credits
    assert credit["owner"] == f"gid://shopify/Customer/{CUSTOMER_ID}"
    assert credit["amount"] == {"amount": "708.00", "currencyCode": "THB"}
    # Running the jobs again (or a double click) never credits twice.
    resolve_again = _reload(request.id)
    with pytest.raises(TransitionError):
        resolve_return(db.session, resolve_again, "merchant:1")
    db.session.rollback()
    work()
    assert len(state.store_credits) == 1


def test_reviewed_exchange_is_created_with_its_exchange_items_on_approval(delivered_order, fake_shopify, work):
    order = delivered_order(days_ago=3)
    request = create_return_request(
        db.session,
        order,
        [RequestedLine(LINE_SHIRT, 1, exchange_variant_id=SHIRT_L)],
        reason_code="too_small",
        resolution="exchange_variant",
    )
    db.session.commit()
    work()
    assert _fake_returns(fake_shopify) == []  # returnRequest cannot carry exchange items
    assert request.price_difference == Decimal("60.00")  # same price, less the return shipping fee
    approve_return(db.session, _reload(request.id), "merchant:7")
    db.session.commit()
    work()
    [shopify_return] = _fake_returns(fake_shopify)
    assert shopify_return["status"] == "OPEN"
    assert shopify_return["exchangeLineItems"][0]["variantId"] == f"gid://shopify/ProductVariant/{SHIRT_L}"
    request = _reload(request.id)
    mark_received(db.session, request, "merchant:7")
    resolve_return(db.session, request, "merchant:7")
    db.session.commit()
    work()
    assert shopify_return["exchangeLineItems"][0]["processedQuantity"] == 1
    assert fake_shopify.shop(SHOP).returns_state.refunds == []


def test_decline_with_reason_reaches_shopify(delivered_order, fake_shopify, work):
    order = delivered_order(days_ago=5)
    request = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="changed_mind", resolution="refund"
    )
    db.session.commit()
    work()
    with pytest.raises(ReturnInputError):
        decline_return(db.session, _reload(request.id), "merchant:3", "BECAUSE", None)
    decline_return(db.session, _reload(request.id), "merchant:3", "OTHER", "Worn and washed")
    db.session.commit()
    work()
    [shopify_return] = _fake_returns(fake_shopify)
    assert shopify_return["status"] == "DECLINED"
    assert shopify_return["decline"] == {"reason": "OTHER", "note": "Worn and washed"}


def test_shopper_cannot_get_what_the_policy_forbids(delivered_order):
    order = delivered_order(days_ago=5)
    with pytest.raises(ReturnInputError) as caught:
        create_return_request(
            db.session, order, [RequestedLine(LINE_SALE, 1)], reason_code="too_small", resolution="refund"
        )
    assert caught.value.errors == {f"item.{LINE_SALE}": "returns.invalid_choice"}
    with pytest.raises(ReturnInputError) as caught:
        create_return_request(
            db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="damaged", resolution="keep"
        )
    assert caught.value.errors == {
        f"item.{LINE_TOTE}": "returns.invalid_choice",  # 590 is over the 150 keep limit
        "comment": "returns.comment_required",
        "photo": "returns.photo_required",
    }
    assert db.session.execute(select(func.count()).select_from(ReturnRequest)).scalar() == 0


def test_double_submit_creates_one_request(delivered_order, fake_shopify, work):
    order = delivered_order(days_ago=5)
    first = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    second = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    work()
    assert first.id == second.id and len(_fake_returns(fake_shopify)) == 1


def test_shopify_user_errors_fail_the_op_visibly_and_are_not_retried(delivered_order, fake_shopify, work, fake_app):
    order = delivered_order(days_ago=5)
    # The merchant already returned the tote in the Shopify admin, so nothing is left to return there.
    state = fake_shopify.shop(SHOP).returns_state
    from tests.fakes.shopify_returns import _return_create

    node = fake_shopify.shop(SHOP).orders[f"gid://shopify/Order/{ORDER_ID}"]
    tote_fli = node["fulfillments"][0]["fulfillmentLineItems"][2]["id"]
    _return_create(
        fake_shopify.shop(SHOP),
        state,
        {
            "returnInput": {
                "orderId": node["id"],
                "returnLineItems": [{"fulfillmentLineItemId": tote_fli, "quantity": 1}],
            }
        },
    )
    request = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    work()
    op = _ops(request.id)["create"]
    assert op.status == "failed" and "only part of it is returnable" in op.last_error
    assert "Shopify refused create" in _reload(request.id).needs_attention
    # Shopify's own userErrors (its answer to the mutation, after the returnable query went through).
    request2 = create_return_request(
        db.session, order, [RequestedLine(LINE_SHIRT, 2)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    refusal = {
        "field": ["input", "returnLineItems", "0", "quantity"],
        "message": "Quantity is not available for return.",
        "code": "INVALID",
    }
    fake_shopify.script(
        SHOP, 200, {"data": {"returnRequest": {"return": None, "userErrors": [refusal]}}}, after_requests=1
    )
    work()
    op2 = _ops(request2.id)["create"]
    assert op2.status == "failed" and "Quantity is not available for return." in op2.last_error
    attempts = op2.attempts
    work()
    assert _ops(request2.id)["create"].attempts == attempts  # a refused mutation is not sent again


def test_throttled_create_is_retried_and_happens_once(delivered_order, fake_shopify, work, redis_conn):
    from rq.registry import ScheduledJobRegistry

    order = delivered_order(days_ago=5)
    fake_shopify.set_bucket(SHOP, maximum=1000, available=0, restore_rate=0.001)
    request = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    work()
    op = _ops(request.id)["create"]
    assert op.status == "pending" and op.attempts == 1  # THROTTLED: the mutation did not run, RQ retries
    assert _fake_returns(fake_shopify) == []
    registry = ScheduledJobRegistry("default", connection=redis_conn)
    assert f"return-sync-{op.id}" in registry.get_job_ids()
    fake_shopify.set_bucket(SHOP)
    from app.returns.jobs import run_return_sync

    assert run_return_sync(op.id) == "done"  # what RQ's retry runs
    assert run_return_sync(op.id) == "skipped"
    assert len(_fake_returns(fake_shopify)) == 1


def test_lost_answer_to_create_is_reconciled_not_repeated(delivered_order, fake_shopify, work):
    order = delivered_order(days_ago=5)
    fake_shopify.shop(SHOP).returns_state.lose_answers = 1  # Shopify creates the return; the answer is lost
    request = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    work()
    op = _ops(request.id)["create"]
    assert op.status == "sending" and len(_fake_returns(fake_shopify)) == 1
    from app.returns.jobs import run_return_sync

    assert run_return_sync(op.id) == "done"
    [shopify_return] = _fake_returns(fake_shopify)
    assert _reload(request.id).shopify_return_gid == shopify_return["id"]


def test_lost_answer_to_a_refund_waits_for_the_merchant(delivered_order, fake_shopify, work):
    order = delivered_order(days_ago=5)
    request = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    work()
    approve_return(db.session, _reload(request.id), "merchant:1")
    db.session.commit()
    work()
    request = _reload(request.id)
    mark_received(db.session, request, "merchant:1")
    resolve_return(db.session, request, "merchant:1")
    db.session.commit()
    fake_shopify.shop(SHOP).returns_state.lose_answers = 1
    work()
    assert len(fake_shopify.shop(SHOP).returns_state.refunds) == 1
    op = _ops(request.id)["process"]
    assert op.status == "failed" and "check the return in Shopify" in op.last_error
    work()
    assert len(fake_shopify.shop(SHOP).returns_state.refunds) == 1


def _admin_return_payload(return_id: int, line_item_id: int = LINE_SHIRT, quantity: int = 1) -> dict:
    return {
        "id": return_id,
        "admin_graphql_api_id": f"gid://shopify/Return/{return_id}",
        "status": "requested",
        "name": "#1001-R9",
        "order": {"id": ORDER_ID, "admin_graphql_api_id": f"gid://shopify/Order/{ORDER_ID}"},
        "total_return_line_items": 1,
        "return_line_items": [
            {
                "id": 1,
                "admin_graphql_api_id": "gid://shopify/ReturnLineItem/1",
                "quantity": quantity,
                "customer_note": "colour is off",
                "return_reason": "COLOR",
                "fulfillment_line_item": {"id": 2, "line_item": {"id": line_item_id, "title": "Linen shirt"}},
            }
        ],
        "return_shipping_fees": [],
        "exchange_line_items": [],
        "total_exchange_line_items": 0,
    }


def test_return_made_in_the_shopify_admin_arrives_by_webhook_once(delivered_order, fake_app, work):
    delivered_order(days_ago=5)
    payload = _admin_return_payload(123134564567890)
    assert post(fake_app, "returns/request", payload, webhook_id="w-1").status_code == 200
    assert post(fake_app, "returns/request", payload, webhook_id="w-1").status_code == 200  # duplicate delivery
    assert post(fake_app, "returns/request", payload, webhook_id="w-2").status_code == 200  # same event, new id
    work()
    [request] = db.session.execute(select(ReturnRequest)).scalars().all()
    assert (request.source, request.status, request.name) == ("shopify", "requested", "#1001-R9")
    assert [(line.shopify_line_item_id, line.quantity, line.unit_price) for line in request.lines] == [
        (LINE_SHIRT, 1, Decimal("690.00"))
    ]
    assert request.comment == "colour is off"
    post(fake_app, "returns/approve", dict(payload, status="open"))
    work()
    post(fake_app, "returns/close", {"id": payload["id"], "order_id": ORDER_ID, "status": "closed"})
    work()
    request = _reload(request.id)
    assert [(s.status, s.actor) for s in request.steps] == [
        ("requested", "shopify"),
        ("approved", "shopify"),
        ("closed", "shopify"),
    ]


def test_declined_in_shopify_admin(delivered_order, fake_app, work):
    delivered_order(days_ago=5)
    payload = _admin_return_payload(555)
    post(
        fake_app, "returns/decline", dict(payload, status="declined", decline={"reason": "final_sale", "note": "Sorry"})
    )
    work()
    [request] = db.session.execute(select(ReturnRequest)).scalars().all()
    assert (request.status, request.decline_reason, request.decline_note) == ("declined", "FINAL_SALE", "Sorry")


def test_our_own_return_echoed_by_webhook_is_not_duplicated(delivered_order, fake_shopify, fake_app, work):
    order = delivered_order(days_ago=5)
    request = create_return_request(
        db.session, order, [RequestedLine(LINE_TOTE, 1)], reason_code="too_large", resolution="refund"
    )
    db.session.commit()
    work()
    request = _reload(request.id)
    echo = _admin_return_payload(request.shopify_return_id, LINE_TOTE)
    post(fake_app, "returns/request", echo)
    post(fake_app, "returns/approve", dict(echo, status="open"))
    work()
    assert db.session.execute(select(func.count()).select_from(ReturnRequest)).scalar() == 1
    assert _reload(request.id).status == "approved"  # approved in Shopify's admin: followed
    assert db.session.execute(select(func.count()).select_from(ReturnStep)).scalar() == 2


def test_refund_in_shopify_admin_resolves_the_return(delivered_order, fake_app, work):
    delivered_order(days_ago=5)
    post(fake_app, "returns/request", _admin_return_payload(777))
    work()
    refund = {
        "id": 9001,
        "order_id": ORDER_ID,
        "created_at": "2026-11-20T10:00:00Z",
        "processed_at": "2026-11-20T10:00:00Z",
        "return": {"id": 777, "admin_graphql_api_id": "gid://shopify/Return/777"},
        "refund_line_items": [],
        "transactions": [{"kind": "refund", "status": "success", "amount": "690.00"}],
    }
    post(fake_app, "refunds/create", refund)
    post(fake_app, "refunds/create", refund)
    work()
    [request] = db.session.execute(select(ReturnRequest)).scalars().all()
    assert request.status == "resolved" and [s.status for s in request.steps] == ["requested", "resolved"]


def test_product_facts_fall_back_to_the_synced_catalogue(delivered_order, shop_id):
    from app.recommendations.models import CatalogProduct, CatalogVariant
    from app.returns.models import ReturnProductFacts
    from app.returns.services import portal_view
    from tests.returns.conftest import SALE_PRODUCT, SALE_VARIANT, TOTE_PRODUCT

    order = delivered_order(days_ago=5)
    db.session.execute(
        ReturnProductFacts.__table__.delete().where(
            ReturnProductFacts.shopify_product_id.in_([SALE_PRODUCT, TOTE_PRODUCT])
        )
    )
    db.session.add_all(
        [
            CatalogProduct(shop_id=shop_id, shopify_product_id=SALE_PRODUCT, title="Sale scarf", tags=["Final-Sale"]),
            CatalogVariant(
                shop_id=shop_id, shopify_variant_id=SALE_VARIANT, shopify_product_id=SALE_PRODUCT, price="100.00"
            ),
        ]
    )
    db.session.commit()
    view = portal_view(db.session, order)
    assert not view.decision.item(LINE_SALE).is_eligible
    assert view.decision.item(LINE_SALE).reasons[0].key == "returns.no.final_sale"
    assert view.decision.item(LINE_TOTE).is_eligible  # in neither: no tags, so nothing stops it
    assert db.session.execute(select(func.count()).select_from(ReturnProductFacts)).scalar() == 1


def test_a_rule_on_the_discount_sees_what_shopify_took_off_the_line(delivered_order, shop_id):
    """Shopify's discount allocations reach the engine: a merchant can make heavily discounted items final."""
    from app.returns.services import portal_view, publish_draft, save_draft
    from app.returns.tiers import default_policy

    policy = default_policy()
    policy["rules"].append(
        {
            "id": "deep-discount",
            "name": "Items 30% off or more are final",
            "conditions": [{"field": "discount_percent", "op": "gte", "value": "30"}],
            "outcome": {"eligible": False},
        }
    )
    save_draft(db.session, shop_id, policy)
    publish_draft(db.session, shop_id)
    db.session.commit()
    order = delivered_order(days_ago=3)
    # The fixture's shirts (2 x 690) carry a 414 discount allocation: 30%; the tote has none.
    view = portal_view(db.session, order)
    assert not view.decision.item(LINE_SHIRT).is_eligible
    assert view.decision.item(LINE_TOTE).is_eligible
