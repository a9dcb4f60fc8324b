"""Orders found by their name in any case: an index on (shop_id, upper(name)).

Shops using Shopify's order-ID prefix or suffix show orders as `EU-1237-B`; the tracking page and the returns
portal look the order up by that name (app/orders/queries.py), so it needs an index like the order number's.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_orders_shop_id_upper_name", "orders", ["shop_id", sa.text("upper(name)")])


def downgrade():
    op.drop_index("ix_orders_shop_id_upper_name", table_name="orders")
