"""Indexes the admin's pages were missing at a million orders (benchmarks/admin.py): an order's domain events
(the order page reads when its parcels were flagged delayed or stalled) and a shop's handled alerts, newest first
(the exceptions queue).

Revision ID: 0027
Revises: 0026
"""

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_domain_events_shop_id_shopify_order_id", "domain_events", ["shop_id", "shopify_order_id"])
    op.create_index("ix_merchant_alerts_shop_id_handled_at", "merchant_alerts", ["shop_id", "handled_at"])


def downgrade():
    op.drop_index("ix_merchant_alerts_shop_id_handled_at", table_name="merchant_alerts")
    op.drop_index("ix_domain_events_shop_id_shopify_order_id", table_name="domain_events")
