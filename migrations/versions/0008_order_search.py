"""The admin's order search: what support types (a name, a phone, a tracking number) kept in indexed columns,
and indexes for newest-first keyset pages and the status, carrier and flag filters.

Revision ID: 0008
Revises: 0007
"""

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _phone_key(value):
    digits = re.sub(r"\D", "", value or "")
    digits = digits[-9:] if len(digits) >= 9 else digits
    return digits if len(digits) >= 8 else None


def upgrade():
    op.add_column("orders", sa.Column("customer_name", sa.String(length=255), nullable=True))
    op.add_column("orders", sa.Column("phone_key", sa.String(length=16), nullable=True))
    op.add_column("fulfillments", sa.Column("tracking_number", sa.String(length=64), nullable=True))

    bind = op.get_bind()
    bind.execute(sa.text("UPDATE orders SET shopify_created_at = created_at WHERE shopify_created_at IS NULL"))
    bind.execute(sa.text("UPDATE orders SET customer_name = customer_first_name WHERE customer_first_name IS NOT NULL"))
    if bind.dialect.name == "postgresql":
        bind.execute(
            sa.text(
                "UPDATE orders SET phone_key = right(regexp_replace(phone, '\\D', '', 'g'), 9) "
                "WHERE length(regexp_replace(phone, '\\D', '', 'g')) >= 8"
            )
        )
        bind.execute(
            sa.text(
                "UPDATE fulfillments SET tracking_number = left(upper(regexp_replace("
                "tracking_numbers::jsonb->>0, '[^[:alnum:]]', '', 'g')), 64) "
                "WHERE CASE WHEN json_typeof(tracking_numbers) = 'array' THEN json_array_length(tracking_numbers) > 0 "
                "ELSE false END"
            )
        )
    else:  # SQLite: the demo's database, small
        for row_id, phone in bind.execute(sa.text("SELECT id, phone FROM orders WHERE phone IS NOT NULL")).all():
            bind.execute(
                sa.text("UPDATE orders SET phone_key = :key WHERE id = :id"), {"key": _phone_key(phone), "id": row_id}
            )
        for row_id, number in bind.execute(
            sa.text(
                "SELECT id, json_extract(tracking_numbers, '$[0]') FROM fulfillments WHERE tracking_numbers IS NOT NULL"
            )
        ).all():
            key = "".join(ch for ch in str(number or "") if ch.isalnum()).upper()[:64] or None
            bind.execute(
                sa.text("UPDATE fulfillments SET tracking_number = :key WHERE id = :id"), {"key": key, "id": row_id}
            )

    op.create_index("ix_orders_shop_id_lower_email", "orders", ["shop_id", sa.text("lower(email)")])
    op.create_index("ix_orders_shop_id_phone_key", "orders", ["shop_id", "phone_key"])
    if bind.dialect.name == "postgresql":
        op.create_index(
            "ix_orders_shop_id_lower_customer_name",
            "orders",
            ["shop_id", sa.text("lower(customer_name) varchar_pattern_ops")],
        )
    else:
        op.create_index("ix_orders_shop_id_lower_customer_name", "orders", ["shop_id", sa.text("lower(customer_name)")])
    op.create_index("ix_orders_shop_id_created_id", "orders", ["shop_id", "shopify_created_at", "id"])
    op.create_index("ix_orders_shop_id_status_created_id", "orders", ["shop_id", "status", "shopify_created_at", "id"])
    op.create_index("ix_fulfillments_shop_id_tracking_number", "fulfillments", ["shop_id", "tracking_number"])
    op.create_index("ix_fulfillments_shop_id_carrier_code", "fulfillments", ["shop_id", "carrier_code"])
    op.create_index(
        "ix_fulfillments_shop_id_delayed",
        "fulfillments",
        ["shop_id"],
        postgresql_where=sa.text("is_delayed"),
        sqlite_where=sa.text("is_delayed"),
    )
    op.create_index(
        "ix_fulfillments_shop_id_stalled",
        "fulfillments",
        ["shop_id"],
        postgresql_where=sa.text("is_stalled"),
        sqlite_where=sa.text("is_stalled"),
    )


def downgrade():
    for name, table in (
        ("ix_fulfillments_shop_id_stalled", "fulfillments"),
        ("ix_fulfillments_shop_id_delayed", "fulfillments"),
        ("ix_fulfillments_shop_id_carrier_code", "fulfillments"),
        ("ix_fulfillments_shop_id_tracking_number", "fulfillments"),
        ("ix_orders_shop_id_status_created_id", "orders"),
        ("ix_orders_shop_id_created_id", "orders"),
        ("ix_orders_shop_id_lower_customer_name", "orders"),
        ("ix_orders_shop_id_phone_key", "orders"),
        ("ix_orders_shop_id_lower_email", "orders"),
    ):
        op.drop_index(name, table_name=table)
    op.drop_column("fulfillments", "tracking_number")
    op.drop_column("orders", "phone_key")
    op.drop_column("orders", "customer_name")
