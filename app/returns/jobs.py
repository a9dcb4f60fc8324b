"""RQ entry points of the returns package (they take ids)."""

from __future__ import annotations

from app.jobs import with_app_context


@with_app_context
def run_return_sync(op_id: int) -> str:
    """Send one queued Shopify mutation of a return (app/returns/shopify_sync.py). Job id `return-sync-<op id>`."""
    from app.returns.shopify_sync import run_sync_op

    return run_sync_op(op_id)


@with_app_context
def refresh_customer_loyalty(shop_id: int, shopify_customer_id: int) -> bool:
    """Refresh one customer's tier inputs from Shopify. Job id `loyalty-<shop>-<customer>`."""
    from app.returns.shopify_sync import refresh_customer_loyalty as refresh

    return refresh(shop_id, shopify_customer_id)
