"""Wiring: the one webhook topic -> handler map. tests/shopify/test_topics.py keeps it equal to shopify.app.toml.

What else reacts to an order or a refund is listed in app/subscribers.py, not here."""

from __future__ import annotations

from app.orders.handlers import on_order_changed, on_refund_created
from app.recommendations.handlers import on_bulk_operation_finished, on_product_changed, on_product_deleted
from app.registry import Handler
from app.returns.handlers import (
    on_return_approved,
    on_return_canceled,
    on_return_closed,
    on_return_declined,
    on_return_reopened,
    on_return_requested,
    on_return_updated,
)
from app.shopify.compliance import on_customers_data_request, on_customers_redact, on_shop_redact
from app.shopify.lifecycle import on_app_scopes_update, on_app_uninstalled
from app.tracking.handlers import on_fulfillment_changed, on_fulfillment_event_created

HANDLERS: dict[str, Handler] = {
    "app/uninstalled": on_app_uninstalled,
    "app/scopes_update": on_app_scopes_update,
    "orders/create": on_order_changed,
    "orders/updated": on_order_changed,
    "orders/cancelled": on_order_changed,
    "fulfillments/create": on_fulfillment_changed,
    "fulfillments/update": on_fulfillment_changed,
    "fulfillment_events/create": on_fulfillment_event_created,
    "refunds/create": on_refund_created,
    "returns/request": on_return_requested,
    "returns/approve": on_return_approved,
    "returns/decline": on_return_declined,
    "returns/cancel": on_return_canceled,
    "returns/close": on_return_closed,
    "returns/reopen": on_return_reopened,
    "returns/update": on_return_updated,
    "products/create": on_product_changed,
    "products/update": on_product_changed,
    "products/delete": on_product_deleted,
    "bulk_operations/finish": on_bulk_operation_finished,
}

COMPLIANCE_HANDLERS: dict[str, Handler] = {
    "customers/data_request": on_customers_data_request,
    "customers/redact": on_customers_redact,
    "shop/redact": on_shop_redact,
}
