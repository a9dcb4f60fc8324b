"""One normalised status model for shipments and orders, and how raw Shopify/carrier values map onto it."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    ORDERED = "ordered"
    CONFIRMED = "confirmed"
    LABEL_CREATED = "label_created"
    SHIPPED = "shipped"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    ATTEMPTED_DELIVERY = "attempted_delivery"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELAYED = "delayed"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"
    CANCELLED = "cancelled"


# The happy path the progress bar shows; other states sit on the step they interrupt.
STEPS: tuple[Status, ...] = (
    Status.CONFIRMED,
    Status.SHIPPED,
    Status.IN_TRANSIT,
    Status.OUT_FOR_DELIVERY,
    Status.DELIVERED,
)

_STEP_OF: dict[Status, int] = {
    Status.ORDERED: 0,
    Status.CONFIRMED: 0,
    Status.LABEL_CREATED: 0,
    Status.SHIPPED: 1,
    Status.IN_TRANSIT: 2,
    Status.DELAYED: 2,
    Status.EXCEPTION: 2,
    Status.OUT_FOR_DELIVERY: 3,
    Status.ATTEMPTED_DELIVERY: 3,
    Status.READY_FOR_PICKUP: 3,
    Status.RETURNED_TO_SENDER: 2,
    Status.DELIVERED: 4,
    Status.CANCELLED: 0,
}

PROBLEM_STATES = frozenset({Status.ATTEMPTED_DELIVERY, Status.DELAYED, Status.EXCEPTION, Status.RETURNED_TO_SENDER})
FINISHED_STATES = frozenset({Status.DELIVERED, Status.RETURNED_TO_SENDER, Status.CANCELLED})
# States in which a parcel is with the carrier and scans are expected.
MOVING_STATES = frozenset(
    {Status.SHIPPED, Status.IN_TRANSIT, Status.OUT_FOR_DELIVERY, Status.ATTEMPTED_DELIVERY, Status.EXCEPTION}
)


def step_index(status: Status) -> int:
    return _STEP_OF[status]


# Shopify's FulfillmentEventStatus / shipment_status values (webhooks use the lowercase form),
# including those added after 2024-04 and the Customer Account API's extra values.
_SHOPIFY_EVENT_STATUS: dict[str, Status] = {
    "confirmed": Status.CONFIRMED,
    "label_printed": Status.LABEL_CREATED,
    "label_purchased": Status.LABEL_CREATED,
    "ready_for_pickup": Status.READY_FOR_PICKUP,
    "ready_for_recipient_pickup": Status.READY_FOR_PICKUP,
    "carrier_picked_up": Status.SHIPPED,
    "picked_up": Status.DELIVERED,  # the buyer collected it
    "in_transit": Status.IN_TRANSIT,
    "out_for_delivery": Status.OUT_FOR_DELIVERY,
    "attempted_delivery": Status.ATTEMPTED_DELIVERY,
    "delayed": Status.DELAYED,
    "delivered": Status.DELIVERED,
    "failure": Status.EXCEPTION,
    "buyer_action_required": Status.EXCEPTION,
    "returning_to_sender": Status.RETURNED_TO_SENDER,
    "returned_to_sender": Status.RETURNED_TO_SENDER,
}


def from_shopify_event_status(raw: str | None) -> Status | None:
    """Map a Shopify fulfilment event / shipment status; None for values we do not know.

    Unknown values never crash and never move a shipment: callers keep the raw value verbatim
    and leave the status where the evidence we understand puts it.
    """
    if not raw:
        return None
    return _SHOPIFY_EVENT_STATUS.get(raw.strip().lower().replace(" ", "_"))


def order_status(
    shipment_statuses: list[Status],
    has_unshipped_items: bool,
    is_cancelled: bool,
    is_paid_or_authorised: bool,
) -> Status:
    """The one status shown for a whole order, from its shipments.

    A problem on any parcel is surfaced first; otherwise the order is as far as its least
    advanced parcel (a split order is "delivered" only when everything is).
    """
    if is_cancelled:
        return Status.CANCELLED
    live = [s for s in shipment_statuses if s != Status.CANCELLED]
    if not live:
        return Status.CONFIRMED if is_paid_or_authorised else Status.ORDERED
    for problem in (Status.EXCEPTION, Status.ATTEMPTED_DELIVERY, Status.DELAYED, Status.RETURNED_TO_SENDER):
        if problem in live:
            return problem
    if Status.READY_FOR_PICKUP in live:
        return Status.READY_FOR_PICKUP
    if all(s == Status.DELIVERED for s in live) and not has_unshipped_items:
        return Status.DELIVERED
    if has_unshipped_items and all(s == Status.DELIVERED for s in live):
        return Status.SHIPPED  # partly delivered, more to come
    least = min(live, key=lambda s: (step_index(s), s != Status.LABEL_CREATED))
    return least
