"""The returns part of the fake Admin API (tests/fakes/shopify.py routes these root fields here).

Implements, with Shopify's payload shapes and `userErrors` (field, message, code): the queries
`returnableFulfillments`, `return`, and `order { returns, transactions }` (data on the order node), and the
mutations returnRequest, returnCreate, returnApproveRequest, returnDeclineRequest,
reverseDeliveryCreateWithShipping, returnProcess, storeCreditAccountCredit and giftCardCreate.
Status rules follow Shopify's: only REQUESTED returns are approved or declined, only OPEN ones processed,
quantities never exceed what was fulfilled and not yet returned.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

QUERY_FIELDS = frozenset({"returnableFulfillments", "return", "customer"})
MUTATION_FIELDS = frozenset(
    {
        "returnRequest",
        "returnCreate",
        "returnApproveRequest",
        "returnDeclineRequest",
        "reverseDeliveryCreateWithShipping",
        "returnProcess",
        "storeCreditAccountCredit",
        "giftCardCreate",
    }
)
DECLINE_REASONS = {"RETURN_PERIOD_ENDED", "FINAL_SALE", "OTHER"}
PAYLOAD_TYPES = {
    "returnRequest": "ReturnRequestPayload",
    "returnCreate": "ReturnCreatePayload",
    "returnApproveRequest": "ReturnApproveRequestPayload",
    "returnDeclineRequest": "ReturnDeclineRequestPayload",
    "reverseDeliveryCreateWithShipping": "ReverseDeliveryCreateWithShippingPayload",
    "returnProcess": "ReturnProcessPayload",
    "storeCreditAccountCredit": "StoreCreditAccountCreditPayload",
    "giftCardCreate": "GiftCardCreatePayload",
}


def _user_error(field: list[str], message: str, code: str = "INVALID") -> dict[str, Any]:
    return {"field": field, "message": message, "code": code}


class ReturnsState:
    """What the fake shop holds about returns, store credit and gift cards."""

    def __init__(self) -> None:
        self.returns: dict[str, dict[str, Any]] = {}
        self.next_id = 945000000
        self.refunds: list[dict[str, Any]] = []
        self.store_credits: list[dict[str, Any]] = []
        self.gift_cards: list[dict[str, Any]] = []
        # Mutations whose answer is lost after Shopify applied them (the client sees an HTTP 500).
        self.lose_answers = 0
        # Lifetime figures per customer GID: {"amountSpent": {...}, "tags": [...]} (numberOfOrders from the order).
        self.customers: dict[str, dict[str, Any]] = {}

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


def execute(fake: Any, shop: Any, kind: str, f: Any, args: dict[str, Any], args_of: Any) -> Any:
    state: ReturnsState = shop.returns_state
    if kind == "query":
        if f.name == "returnableFulfillments":
            node = shop.orders.get(str(args.get("orderId")))
            if node is None:
                from tests.fakes.shopify import _error, _GraphQLErrors

                raise _GraphQLErrors([_error("Order does not exist", "NOT_FOUND")])
            items = _returnable(state, node)
            keyed = [([i], item) for i, item in enumerate(items)]
            return fake._connection(keyed, f, args, "ReturnableFulfillment", args_of)
        if f.name == "customer":
            customer = _customer(shop, state, str(args.get("id")))
            return None if customer is None else fake._project(customer, f, "Customer", args_of)
        found = state.returns.get(str(args.get("id")))
        return None if found is None else fake._project(found, f, "Return", args_of)
    handler = {
        "returnRequest": _return_request,
        "returnCreate": _return_create,
        "returnApproveRequest": _approve,
        "returnDeclineRequest": _decline,
        "reverseDeliveryCreateWithShipping": _reverse_delivery,
        "returnProcess": _process,
        "storeCreditAccountCredit": _store_credit,
        "giftCardCreate": _gift_card,
    }[f.name]
    payload = handler(shop, state, args)
    if state.lose_answers > 0 and not payload.get("userErrors"):
        state.lose_answers -= 1
        raise RuntimeError("the answer was lost after the mutation ran")
    return fake._project(payload, f, PAYLOAD_TYPES[f.name], args_of)


def _returnable(state: ReturnsState, order: dict[str, Any]) -> list[dict[str, Any]]:
    taken: dict[str, int] = {}
    for ret in state.returns.values():
        if ret["order"]["id"] != order["id"] or ret["status"] in ("DECLINED", "CANCELED"):
            continue
        for item in ret["returnLineItems"]:
            taken[item["fulfillmentLineItemId"]] = taken.get(item["fulfillmentLineItemId"], 0) + item["quantity"]
    result = []
    for fulfillment in order.get("fulfillments") or []:
        lines = []
        for fli in fulfillment.get("fulfillmentLineItems") or []:
            left = int(fli["quantity"]) - taken.get(fli["id"], 0)
            if left > 0:
                lines.append({"quantity": left, "fulfillmentLineItem": {"id": fli["id"], "lineItem": fli["lineItem"]}})
        if lines:
            result.append(
                {"id": fulfillment["id"], "fulfillment": fulfillment, "returnableFulfillmentLineItems": lines}
            )
    return result


def _new_return(shop: Any, state: ReturnsState, data: dict[str, Any], status: str, prefix: str) -> dict[str, Any]:
    order = shop.orders.get(str(data.get("orderId")))
    if order is None:
        return {"return": None, "userErrors": [_user_error([prefix, "orderId"], "Order does not exist", "NOT_FOUND")]}
    available = {
        line["fulfillmentLineItem"]["id"]: line["quantity"]
        for fulfillment in _returnable(state, order)
        for line in fulfillment["returnableFulfillmentLineItems"]
    }
    lines = data.get("returnLineItems") or []
    if not lines:
        return {"return": None, "userErrors": [_user_error([prefix, "returnLineItems"], "Return must have items")]}
    errors = []
    for index, line in enumerate(lines):
        quantity = int(line.get("quantity") or 0)
        if quantity <= 0 or quantity > available.get(str(line.get("fulfillmentLineItemId")), 0):
            errors.append(
                _user_error(
                    [prefix, "returnLineItems", str(index), "quantity"],
                    "Quantity is not available for return.",
                    "INVALID",
                )
            )
    exchanges = data.get("exchangeLineItems") or []
    for index, line in enumerate(exchanges):
        if not str(line.get("variantId") or "").startswith("gid://shopify/ProductVariant/"):
            errors.append(_user_error([prefix, "exchangeLineItems", str(index), "variantId"], "Variant does not exist"))
    if errors:
        return {"return": None, "userErrors": errors}
    order.setdefault("returns", [])
    number = len(order["returns"]) + 1
    return_id = state.new_id()
    ret = {
        "id": f"gid://shopify/Return/{return_id}",
        "name": f"{order['name']}-R{number}",
        "status": status,
        "order": {"id": order["id"]},
        "returnLineItems": [
            {
                "id": f"gid://shopify/ReturnLineItem/{state.new_id()}",
                "quantity": int(line["quantity"]),
                "processedQuantity": 0,
                "fulfillmentLineItemId": str(line["fulfillmentLineItemId"]),
            }
            for line in lines
        ],
        "exchangeLineItems": [
            {
                "id": f"gid://shopify/ExchangeLineItem/{state.new_id()}",
                "quantity": int(line.get("quantity") or 1),
                "processedQuantity": 0,
                "variantId": line["variantId"],
            }
            for line in exchanges
        ],
        "reverseFulfillmentOrders": [],
        "reverseDeliveries": [],
        "decline": None,
        "returnShippingFee": data.get("returnShippingFee"),
    }
    if status == "OPEN":
        _open(state, ret)
    state.returns[ret["id"]] = ret
    order["returns"].append(ret)
    return {"return": ret, "userErrors": []}


def _open(state: ReturnsState, ret: dict[str, Any]) -> None:
    ret["status"] = "OPEN"
    if not ret["reverseFulfillmentOrders"]:
        ret["reverseFulfillmentOrders"] = [{"id": f"gid://shopify/ReverseFulfillmentOrder/{state.new_id()}"}]


def _return_request(shop: Any, state: ReturnsState, args: dict[str, Any]) -> dict[str, Any]:
    data = args.get("input") or {}
    if data.get("exchangeLineItems"):
        return {"return": None, "userErrors": [_user_error(["input"], "exchangeLineItems is not an input field")]}
    return _new_return(shop, state, data, "REQUESTED", "input")


def _return_create(shop: Any, state: ReturnsState, args: dict[str, Any]) -> dict[str, Any]:
    return _new_return(shop, state, args.get("returnInput") or {}, "OPEN", "returnInput")


def _find(state: ReturnsState, return_id: Any) -> dict[str, Any] | None:
    return state.returns.get(str(return_id))


def _approve(shop: Any, state: ReturnsState, args: dict[str, Any]) -> dict[str, Any]:
    ret = _find(state, (args.get("input") or {}).get("id"))
    if ret is None:
        return {"return": None, "userErrors": [_user_error(["input", "id"], "Return does not exist", "NOT_FOUND")]}
    if ret["status"] != "REQUESTED":
        message = "Return is not approvable. Only returns with status REQUESTED can be approved."
        return {"return": None, "userErrors": [_user_error(["input", "id"], message, "INVALID_STATE")]}
    _open(state, ret)
    return {"return": ret, "userErrors": []}


def _decline(shop: Any, state: ReturnsState, args: dict[str, Any]) -> dict[str, Any]:
    data = args.get("input") or {}
    ret = _find(state, data.get("id"))
    if ret is None:
        return {"return": None, "userErrors": [_user_error(["input", "id"], "Return does not exist", "NOT_FOUND")]}
    if data.get("declineReason") not in DECLINE_REASONS:
        return {"return": None, "userErrors": [_user_error(["input", "declineReason"], "Decline reason is invalid")]}
    if ret["status"] != "REQUESTED":
        message = "Return is not declinable. Only returns with status REQUESTED can be declined."
        return {"return": None, "userErrors": [_user_error(["input", "id"], message, "INVALID_STATE")]}
    ret["status"] = "DECLINED"
    ret["decline"] = {"reason": data["declineReason"], "note": data.get("declineNote")}
    return {"return": ret, "userErrors": []}


def _reverse_delivery(shop: Any, state: ReturnsState, args: dict[str, Any]) -> dict[str, Any]:
    rfo_id = str(args.get("reverseFulfillmentOrderId"))
    for ret in state.returns.values():
        if any(rfo["id"] == rfo_id for rfo in ret["reverseFulfillmentOrders"]):
            if ret["status"] != "OPEN":
                message = "Reverse fulfillment order is not open."
                return {"reverseDelivery": None, "userErrors": [_user_error(["reverseFulfillmentOrderId"], message)]}
            delivery = {
                "id": f"gid://shopify/ReverseDelivery/{state.new_id()}",
                "tracking": args.get("trackingInput"),
            }
            ret["reverseDeliveries"].append(delivery)
            return {"reverseDelivery": delivery, "userErrors": []}
    message = "Reverse fulfillment order does not exist"
    return {"reverseDelivery": None, "userErrors": [_user_error(["reverseFulfillmentOrderId"], message, "NOT_FOUND")]}


def _process(shop: Any, state: ReturnsState, args: dict[str, Any]) -> dict[str, Any]:
    data = args.get("input") or {}
    ret = _find(state, data.get("returnId"))
    if ret is None:
        return {
            "return": None,
            "userErrors": [_user_error(["input", "returnId"], "Return does not exist", "NOT_FOUND")],
        }
    if ret["status"] != "OPEN":
        message = "Return must be open to be processed."
        return {"return": None, "userErrors": [_user_error(["input", "returnId"], message, "INVALID_STATE")]}
    for key in ("returnLineItems", "exchangeLineItems"):
        items = {item["id"]: item for item in ret[key]}
        for index, line in enumerate(data.get(key) or []):
            item = items.get(str(line.get("id")))
            if item is None or int(line["quantity"]) > item["quantity"] - item["processedQuantity"]:
                field = ["input", key, str(index), "quantity"]
                return {"return": None, "userErrors": [_user_error(field, "Quantity exceeds unprocessed quantity.")]}
    refund = ((data.get("financialTransfer") or {}).get("issueRefund")) or None
    if refund is not None:
        order = shop.orders[ret["order"]["id"]]
        parents = {t["id"]: t for t in order.get("transactions") or []}
        for index, tx in enumerate(refund.get("orderTransactions") or []):
            if str(tx.get("parentId")) not in parents:
                field = ["input", "financialTransfer", "issueRefund", "orderTransactions", str(index), "parentId"]
                return {"return": None, "userErrors": [_user_error(field, "Transaction does not exist", "NOT_FOUND")]}
            amount = Decimal(str(tx["transactionAmount"]["amount"]))
            paid = Decimal(str(order["totalPriceSet"]["shopMoney"]["amount"]))
            if amount > paid:
                field = ["input", "financialTransfer"]
                return {"return": None, "userErrors": [_user_error(field, "Refund exceeds the amount paid.")]}
            state.refunds.append({"return_id": ret["id"], "amount": amount, "parent_id": tx["parentId"]})
    for key in ("returnLineItems", "exchangeLineItems"):
        items = {item["id"]: item for item in ret[key]}
        for line in data.get(key) or []:
            items[str(line["id"])]["processedQuantity"] += int(line["quantity"])
    if all(item["processedQuantity"] >= item["quantity"] for item in ret["returnLineItems"]):
        ret["status"] = "CLOSED"
    return {"return": ret, "userErrors": []}


def _store_credit(shop: Any, state: ReturnsState, args: dict[str, Any]) -> dict[str, Any]:
    owner = str(args.get("id") or "")
    customers = {(order.get("customer") or {}).get("id") for order in shop.orders.values() if order.get("customer")}
    if owner not in customers:
        return {
            "storeCreditAccountTransaction": None,
            "userErrors": [_user_error(["id"], "Owner does not exist", "ACCOUNT_NOT_FOUND")],
        }
    money = ((args.get("creditInput") or {}).get("creditAmount")) or {}
    if Decimal(str(money.get("amount") or "0")) <= 0:
        field = ["creditInput", "creditAmount", "amount"]
        return {
            "storeCreditAccountTransaction": None,
            "userErrors": [
                _user_error(
                    field, "A positive amount must be used to credit a store credit account.", "NEGATIVE_OR_ZERO_AMOUNT"
                )
            ],
        }
    transaction = {
        "id": f"gid://shopify/StoreCreditAccountCreditTransaction/{state.new_id()}",
        "amount": money,
        "owner": owner,
    }
    state.store_credits.append(transaction)
    return {"storeCreditAccountTransaction": transaction, "userErrors": []}


def _gift_card(shop: Any, state: ReturnsState, args: dict[str, Any]) -> dict[str, Any]:
    data = args.get("input") or {}
    if Decimal(str(data.get("initialValue") or "0")) <= 0:
        return {
            "giftCard": None,
            "userErrors": [_user_error(["input", "initialValue"], "Initial value must be positive")],
        }
    card = {"id": f"gid://shopify/GiftCard/{state.new_id()}", "initialValue": data["initialValue"]}
    state.gift_cards.append(card)
    return {"giftCard": card, "giftCardCode": None, "userErrors": []}


def _customer(shop: Any, state: ReturnsState, gid: str) -> dict[str, Any] | None:
    for order in shop.orders.values():
        customer = order.get("customer") or {}
        if customer.get("id") == gid:
            extra = state.customers.get(gid, {})
            return {
                **customer,
                "amountSpent": extra.get("amountSpent", {"amount": "0.0", "currencyCode": "USD"}),
                "tags": extra.get("tags", []),
            }
    return None
