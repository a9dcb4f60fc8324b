"""Shopify is the system of record for returns: each queued `ReturnSyncOp` becomes one Admin GraphQL mutation.

Operations: create (returnRequest, or returnCreate with exchange items when already approved), approve
(returnApproveRequest), decline (returnDeclineRequest), reverse_delivery (reverseDeliveryCreateWithShipping),
process (returnProcess, with a refund from the order's payment when the resolution is a refund) and credit
(storeCreditAccountCredit to the customer, or giftCardCreate when there is no customer).

Nothing lost, nothing done twice:
- the op row is the outbox: unique per return and operation, so a repeated click or job queues it once;
- THROTTLED/429 (the mutation did not run) and other transient failures raise, so RQ retries with backoff;
- userErrors fail the op for good with Shopify's message, shown to the merchant;
- when the answer to a mutation was lost (network error after sending), a create is reconciled against the
  order's returns before trying again, approve/decline check the return's status, and money-moving
  operations (process, credit, reverse delivery) are not re-sent blind: they wait for the merchant.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.orders.models import Order
from app.returns.models import ReturnRequest, ReturnSyncOp
from app.shopify.graphql import AdminClient, GraphQLError, Throttled, TransientError, UserErrors

log = logging.getLogger(__name__)

RETURN_FIELDS = """
      id
      name
      status
      reverseFulfillmentOrders(first: 5) { nodes { id } }
      returnLineItems(first: 50) { nodes { id quantity } }
      exchangeLineItems(first: 50) { nodes { id quantity } }
"""

RETURNABLE_QUERY = """
query ReturnableFulfillments($orderId: ID!) {
  returnableFulfillments(orderId: $orderId, first: 5) {
    nodes {
      id
      returnableFulfillmentLineItems(first: 20) {
        nodes { quantity fulfillmentLineItem { id lineItem { id } } }
      }
    }
  }
}
"""


def _return_mutation(operation: str, field: str, variable: str, input_type: str) -> str:
    """A mutation that answers with the return (RETURN_FIELDS) and Shopify's userErrors."""
    return f"""
mutation {operation}(${variable}: {input_type}!) {{
  {field}({variable}: ${variable}) {{
    return {{{RETURN_FIELDS}    }}
    userErrors {{ field message code }}
  }}
}}
"""


RETURN_REQUEST = _return_mutation("ReturnRequest", "returnRequest", "input", "ReturnRequestInput")
RETURN_CREATE = _return_mutation("ReturnCreate", "returnCreate", "returnInput", "ReturnInput")
RETURN_APPROVE = _return_mutation("ReturnApproveRequest", "returnApproveRequest", "input", "ReturnApproveRequestInput")

RETURN_DECLINE = """
mutation ReturnDeclineRequest($input: ReturnDeclineRequestInput!) {
  returnDeclineRequest(input: $input) {
    return { id status }
    userErrors { field message code }
  }
}
"""

REVERSE_DELIVERY = """
mutation ReverseDeliveryCreateWithShipping(
  $reverseFulfillmentOrderId: ID!
  $reverseDeliveryLineItems: [ReverseDeliveryLineItemInput!]!
  $trackingInput: ReverseDeliveryTrackingInput
) {
  reverseDeliveryCreateWithShipping(
    reverseFulfillmentOrderId: $reverseFulfillmentOrderId
    reverseDeliveryLineItems: $reverseDeliveryLineItems
    trackingInput: $trackingInput
    notifyCustomer: false
  ) {
    reverseDelivery { id }
    userErrors { field message code }
  }
}
"""

RETURN_QUERY = (
    """
query Return($id: ID!) {
  return(id: $id) {"""
    + RETURN_FIELDS
    + """  }
}
"""
)

ORDER_RETURNS_QUERY = """
query OrderReturns($id: ID!) {
  order(id: $id) {
    returns(first: 10) { nodes { id name status returnLineItems(first: 20) { nodes { id quantity } } } }
  }
}
"""

ORDER_TRANSACTIONS_QUERY = """
query OrderTransactions($id: ID!) {
  order(id: $id) { transactions(first: 10) { id kind status gateway } }
}
"""

RETURN_PROCESS = """
mutation ReturnProcess($input: ReturnProcessInput!) {
  returnProcess(input: $input) {
    return { id status }
    userErrors { field message code }
  }
}
"""

STORE_CREDIT = """
mutation StoreCreditAccountCredit($id: ID!, $creditInput: StoreCreditAccountCreditInput!) {
  storeCreditAccountCredit(id: $id, creditInput: $creditInput) {
    storeCreditAccountTransaction { id }
    userErrors { field message code }
  }
}
"""

GIFT_CARD_CREATE = """
mutation GiftCardCreate($input: GiftCardCreateInput!) {
  giftCardCreate(input: $input) {
    giftCard { id }
    userErrors { field message code }
  }
}
"""


class NotYetInShopify(Exception):
    """The return's create op has not finished; this op waits (RQ retries it later)."""


def _gid(kind: str, legacy: int) -> str:
    return f"gid://shopify/{kind}/{legacy}"


def _legacy(gid: str | None) -> int | None:
    tail = (gid or "").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": str(amount.quantize(Decimal("0.01"))), "currencyCode": currency}


def run_sync_op(op_id: int) -> str:
    """Run one op once. Returns done / failed / skipped / needs_attention; raises to have RQ retry."""
    session = db.session
    op = session.execute(
        select(ReturnSyncOp).where(ReturnSyncOp.id == op_id).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if op is None or op.status in ("done", "failed"):
        session.rollback()
        return "skipped"
    request = session.get(ReturnRequest, op.return_request_id)
    if request is None:
        session.rollback()
        return "skipped"
    was_sent = op.status == "sending"  # a previous attempt sent it and never learned the outcome
    op.status = "sending"
    op.attempts += 1
    session.commit()
    op = session.get(ReturnSyncOp, op_id)
    request = session.get(ReturnRequest, op.return_request_id)
    try:
        with AdminClient(request.shop_id) as client:
            result = OPERATIONS[op.operation](client, request, was_sent)
    except UserErrors as exc:
        return _finish(op, request, "failed", error=f"Shopify refused {op.operation}: {exc}")
    except Throttled:
        op.status = "pending"  # Shopify says the mutation did not run (THROTTLED or 429)
        session.commit()
        raise
    except TransientError as exc:
        if op.operation in ("approve", "decline", "create"):
            session.commit()  # stays "sending": the retry first checks what Shopify did
            raise
        return _finish(
            op,
            request,
            "failed",
            error=f"{op.operation}: no answer from Shopify ({exc}); check the return in Shopify before retrying",
        )
    except NotYetInShopify:
        op.status = "pending"
        session.commit()
        raise
    except GraphQLError as exc:
        return _finish(op, request, "failed", error=f"{op.operation}: {exc}")
    return _finish(op, request, "done", result=result)


def _finish(
    op: ReturnSyncOp, request: ReturnRequest, status: str, *, error: str | None = None, result: Any = None
) -> str:
    op.status = status
    op.last_error = error
    op.result = result
    op.updated_at = utcnow()
    if error:
        request.needs_attention = error[:1000]
        log.warning("return %s: %s", request.id, error)
    elif request.needs_attention and request.needs_attention.startswith(op.operation):
        request.needs_attention = None
    db.session.commit()
    return status


def _order_gid(request: ReturnRequest) -> str:
    gid = db.session.execute(
        select(Order.admin_graphql_api_id).where(
            Order.shop_id == request.shop_id, Order.shopify_order_id == request.shopify_order_id
        )
    ).scalar()
    return gid or _gid("Order", request.shopify_order_id)


def _adopt(request: ReturnRequest, node: dict[str, Any]) -> dict[str, Any]:
    request.shopify_return_gid = node["id"]
    request.shopify_return_id = _legacy(node["id"])
    request.name = request.name or node.get("name")
    rfos = (node.get("reverseFulfillmentOrders") or {}).get("nodes") or []
    if rfos:
        request.reverse_fulfillment_order_gids = [n["id"] for n in rfos]
    return {"return_id": node["id"], "status": node.get("status")}


def _create(client: AdminClient, request: ReturnRequest, was_sent: bool) -> dict[str, Any]:
    if request.shopify_return_gid:
        return {"return_id": request.shopify_return_gid, "status": "already linked"}
    order_gid = _order_gid(request)
    if was_sent:
        found = _find_sent_return(client, request, order_gid)
        if found is not None:
            return _adopt(request, found)
    returnable = client.execute(RETURNABLE_QUERY, {"orderId": order_gid})
    available: dict[int, list[tuple[str, int]]] = {}
    for fulfillment in (returnable.get("returnableFulfillments") or {}).get("nodes") or []:
        for node in (fulfillment.get("returnableFulfillmentLineItems") or {}).get("nodes") or []:
            line_item = _legacy(((node.get("fulfillmentLineItem") or {}).get("lineItem") or {}).get("id"))
            available.setdefault(line_item or 0, []).append((node["fulfillmentLineItem"]["id"], int(node["quantity"])))
    return_lines = []
    for line in request.lines:
        wanted = line.quantity
        for fli_id, quantity in available.get(line.shopify_line_item_id, []):
            take = min(wanted, quantity)
            if take <= 0:
                continue
            line.fulfillment_line_item_gid = line.fulfillment_line_item_gid or fli_id
            return_lines.append({"fulfillmentLineItemId": fli_id, "quantity": take})
            wanted -= take
        if wanted > 0:
            raise UserErrors(
                [{"field": ["returnLineItems"], "message": f"{line.title}: only part of it is returnable"}]
            )
    note = (request.comment or request.reason_code or "")[:300]
    fee = None
    if request.shipping_fee > 0:
        fee = {"amount": _money(request.shipping_fee, request.currency)}
    if request.status == "requested":
        items = [{**line, "customerNote": note} for line in return_lines]
        payload = client.mutate(
            RETURN_REQUEST,
            {"input": {"orderId": order_gid, "returnLineItems": items, **({"returnShippingFee": fee} if fee else {})}},
            "returnRequest",
        )
    else:
        exchanges = [
            {"variantId": _gid("ProductVariant", line.exchange_variant_id), "quantity": line.quantity}
            for line in request.lines
            if line.exchange_variant_id
        ]
        return_input: dict[str, Any] = {
            "orderId": order_gid,
            "returnLineItems": [{**line, "returnReasonNote": note} for line in return_lines],
            "exchangeLineItems": exchanges,
        }
        if fee:
            return_input["returnShippingFee"] = fee
        payload = client.mutate(RETURN_CREATE, {"returnInput": return_input}, "returnCreate")
    return _adopt(request, payload["return"])


def _find_sent_return(client: AdminClient, request: ReturnRequest, order_gid: str) -> dict[str, Any] | None:
    """After a lost answer: a return on the order with our quantities that no request of ours holds yet."""
    data = client.execute(ORDER_RETURNS_QUERY, {"id": order_gid})
    linked = set(
        db.session.execute(
            select(ReturnRequest.shopify_return_gid).where(
                ReturnRequest.shop_id == request.shop_id,
                ReturnRequest.shopify_order_id == request.shopify_order_id,
                ReturnRequest.shopify_return_gid.is_not(None),
            )
        ).scalars()
    )
    wanted = sum(line.quantity for line in request.lines)
    for node in ((data.get("order") or {}).get("returns") or {}).get("nodes") or []:
        quantity = sum(int(n["quantity"]) for n in (node.get("returnLineItems") or {}).get("nodes") or [])
        if node["id"] not in linked and quantity == wanted:
            return node
    return None


def _return_status(client: AdminClient, request: ReturnRequest) -> dict[str, Any] | None:
    return client.execute(RETURN_QUERY, {"id": request.shopify_return_gid}).get("return")


def _approve(client: AdminClient, request: ReturnRequest, was_sent: bool) -> dict[str, Any]:
    _require_return(request)
    if was_sent:
        node = _return_status(client, request)
        if node and node.get("status") == "OPEN":
            return _adopt(request, node)
    payload = client.mutate(RETURN_APPROVE, {"input": {"id": request.shopify_return_gid}}, "returnApproveRequest")
    return _adopt(request, payload["return"])


def _decline(client: AdminClient, request: ReturnRequest, was_sent: bool) -> dict[str, Any]:
    _require_return(request)
    if was_sent:
        node = _return_status(client, request)
        if node and node.get("status") == "DECLINED":
            return {"status": "DECLINED"}
    variables = {
        "input": {
            "id": request.shopify_return_gid,
            "declineReason": request.decline_reason or "OTHER",
            "declineNote": (request.decline_note or "")[:500] or None,
            "notifyCustomer": False,
        }
    }
    payload = client.mutate(RETURN_DECLINE, variables, "returnDeclineRequest")
    return {"status": (payload.get("return") or {}).get("status")}


def _reverse_delivery(client: AdminClient, request: ReturnRequest, was_sent: bool) -> dict[str, Any]:
    _require_return(request)
    if not request.reverse_fulfillment_order_gids:
        node = _return_status(client, request)
        if node:
            _adopt(request, node)
    if not request.reverse_fulfillment_order_gids:
        raise UserErrors(
            [{"field": ["reverseFulfillmentOrderId"], "message": "the return has no reverse fulfillment order yet"}]
        )
    tracking = {"number": request.tracking_number}
    if request.tracking_url:
        tracking["url"] = request.tracking_url
    payload = client.mutate(
        REVERSE_DELIVERY,
        {
            "reverseFulfillmentOrderId": request.reverse_fulfillment_order_gids[0],
            "reverseDeliveryLineItems": [],
            "trackingInput": tracking,
        },
        "reverseDeliveryCreateWithShipping",
    )
    request.shopify_reverse_delivery_gid = (payload.get("reverseDelivery") or {}).get("id")
    return {"reverse_delivery_id": request.shopify_reverse_delivery_gid}


def _process(client: AdminClient, request: ReturnRequest, was_sent: bool) -> dict[str, Any]:
    _require_return(request)
    node = _return_status(client, request) or {}
    process_input: dict[str, Any] = {
        "returnId": request.shopify_return_gid,
        "returnLineItems": [
            {"id": n["id"], "quantity": int(n["quantity"])}
            for n in (node.get("returnLineItems") or {}).get("nodes") or []
        ],
        "exchangeLineItems": [
            {"id": n["id"], "quantity": int(n["quantity"])}
            for n in (node.get("exchangeLineItems") or {}).get("nodes") or []
        ],
        "notifyCustomer": False,
    }
    if request.refund_amount > 0 and request.resolution in ("refund", "keep", "exchange_variant", "exchange_product"):
        data = client.execute(ORDER_TRANSACTIONS_QUERY, {"id": _order_gid(request)})
        parents = [
            t
            for t in (data.get("order") or {}).get("transactions") or []
            if t.get("kind") in ("SALE", "CAPTURE") and t.get("status") == "SUCCESS"
        ]
        if not parents:
            raise UserErrors(
                [{"field": ["financialTransfer"], "message": "the order has no captured payment to refund"}]
            )
        process_input["financialTransfer"] = {
            "issueRefund": {
                "orderTransactions": [
                    {"transactionAmount": _money(request.refund_amount, request.currency), "parentId": parents[0]["id"]}
                ]
            }
        }
    payload = client.mutate(RETURN_PROCESS, {"input": process_input}, "returnProcess")
    return {"status": (payload.get("return") or {}).get("status")}


def _credit(client: AdminClient, request: ReturnRequest, was_sent: bool) -> dict[str, Any]:
    customer_id = db.session.execute(
        select(Order.shopify_customer_id).where(
            Order.shop_id == request.shop_id, Order.shopify_order_id == request.shopify_order_id
        )
    ).scalar()
    amount = _money(request.credit_amount, request.currency)
    if customer_id:
        payload = client.mutate(
            STORE_CREDIT,
            {"id": _gid("Customer", customer_id), "creditInput": {"creditAmount": amount, "notify": True}},
            "storeCreditAccountCredit",
        )
        request.shopify_credit_gid = (payload.get("storeCreditAccountTransaction") or {}).get("id")
    else:
        payload = client.mutate(
            GIFT_CARD_CREATE,
            {"input": {"initialValue": amount["amount"], "note": f"Return {request.name or request.id}"}},
            "giftCardCreate",
        )
        request.shopify_credit_gid = (payload.get("giftCard") or {}).get("id")
    return {"credit_id": request.shopify_credit_gid}


def _require_return(request: ReturnRequest) -> None:
    if not request.shopify_return_gid:
        raise NotYetInShopify(f"return {request.id} is not in Shopify yet")


OPERATIONS = {
    "create": _create,
    "approve": _approve,
    "decline": _decline,
    "reverse_delivery": _reverse_delivery,
    "process": _process,
    "credit": _credit,
}


CUSTOMER_LOYALTY_QUERY = """
query CustomerLoyalty($id: ID!) {
  customer(id: $id) { numberOfOrders amountSpent { amount currencyCode } tags }
}
"""


def refresh_customer_loyalty(shop_id: int, shopify_customer_id: int) -> bool:
    """Read the customer's lifetime figures and tags from Shopify into `customer_loyalty` (tiers use them).

    Idempotent (an upsert keyed by shop + customer). Raises Throttled/TransientError for RQ to retry."""
    from app.db import dialect_insert
    from app.returns.models import CustomerLoyalty

    with AdminClient(shop_id) as client:
        data = client.execute(CUSTOMER_LOYALTY_QUERY, {"id": _gid("Customer", shopify_customer_id)})
    customer = data.get("customer")
    if not customer:
        return False
    spent = customer.get("amountSpent") or {}
    values = {
        "shop_id": shop_id,
        "shopify_customer_id": shopify_customer_id,
        "orders_count": int(customer.get("numberOfOrders") or 0),
        "amount_spent": Decimal(str(spent.get("amount") or "0")),
        "currency": spent.get("currencyCode"),
        "tags": [str(t) for t in customer.get("tags") or []],
        "refreshed_at": utcnow(),
    }
    stmt = dialect_insert(db.session, CustomerLoyalty.__table__).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "shopify_customer_id"],
        set_={k: stmt.excluded[k] for k in values if k not in ("shop_id", "shopify_customer_id")},
    )
    db.session.execute(stmt)
    db.session.commit()
    return True
