"""Follow-up flows (issue 18): the shop's flows, the shoppers enrolled (due steps found on a partial index of the
active rows' `next_due_at`), the repeat-purchase intervals learned per product; and the one frequency policy's
per-shopper marketing cap (settings per day and week, and the shopper a marketing message goes to).

Revision ID: 0032
Revises: 0031
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "flow_enrolments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("flow_id", sa.BigInteger(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("shopify_order_id", sa.BigInteger(), nullable=False),
        sa.Column("shopify_customer_id", sa.BigInteger(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("exit_reason", sa.String(length=255), nullable=True),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("steps_sent", sa.Integer(), nullable=False),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_wait_days", sa.Float(), nullable=True),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_flow_enrolments_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_enrolments")),
        sa.UniqueConstraint("shop_id", "dedupe_key", name=op.f("uq_flow_enrolments_shop_id_dedupe_key")),
    )
    op.create_index(
        "ix_flow_enrolments_due",
        "flow_enrolments",
        ["next_due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )
    op.create_index("ix_flow_enrolments_flow_id_status", "flow_enrolments", ["flow_id", "status"], unique=False)
    op.create_index(op.f("ix_flow_enrolments_shop_id"), "flow_enrolments", ["shop_id"], unique=False)
    op.create_index(
        "ix_flow_enrolments_shop_id_customer", "flow_enrolments", ["shop_id", "shopify_customer_id"], unique=False
    )
    op.create_index("ix_flow_enrolments_shop_id_email", "flow_enrolments", ["shop_id", "email"], unique=False)
    op.create_table(
        "flows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("starts_on", sa.String(length=32), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_flows_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
        sa.UniqueConstraint("shop_id", "kind", name=op.f("uq_flows_shop_id_kind")),
    )
    op.create_index(op.f("ix_flows_shop_id"), "flows", ["shop_id"], unique=False)
    op.create_table(
        "product_repeat_intervals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("median_days", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_product_repeat_intervals_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_repeat_intervals")),
        sa.UniqueConstraint("shop_id", "product_id", name=op.f("uq_product_repeat_intervals_shop_id_product_id")),
    )
    op.create_index(op.f("ix_product_repeat_intervals_shop_id"), "product_repeat_intervals", ["shop_id"], unique=False)
    op.add_column(
        "notification_settings", sa.Column("marketing_per_day", sa.Integer(), server_default="1", nullable=False)
    )
    op.add_column(
        "notification_settings", sa.Column("marketing_per_week", sa.Integer(), server_default="3", nullable=False)
    )
    op.add_column("notifications", sa.Column("shopper_key", sa.String(length=320), nullable=True))
    op.create_index(
        "ix_notifications_shop_id_shopper_key_sent_at",
        "notifications",
        ["shop_id", "shopper_key", "sent_at"],
        unique=False,
        postgresql_where=sa.text("shopper_key IS NOT NULL"),
        sqlite_where=sa.text("shopper_key IS NOT NULL"),
    )


def downgrade():
    op.drop_index(
        "ix_notifications_shop_id_shopper_key_sent_at",
        table_name="notifications",
        postgresql_where=sa.text("shopper_key IS NOT NULL"),
        sqlite_where=sa.text("shopper_key IS NOT NULL"),
    )
    op.drop_column("notifications", "shopper_key")
    op.drop_column("notification_settings", "marketing_per_week")
    op.drop_column("notification_settings", "marketing_per_day")
    op.drop_index(op.f("ix_product_repeat_intervals_shop_id"), table_name="product_repeat_intervals")
    op.drop_table("product_repeat_intervals")
    op.drop_index(op.f("ix_flows_shop_id"), table_name="flows")
    op.drop_table("flows")
    op.drop_index("ix_flow_enrolments_shop_id_email", table_name="flow_enrolments")
    op.drop_index("ix_flow_enrolments_shop_id_customer", table_name="flow_enrolments")
    op.drop_index(op.f("ix_flow_enrolments_shop_id"), table_name="flow_enrolments")
    op.drop_index("ix_flow_enrolments_flow_id_status", table_name="flow_enrolments")
    op.drop_index(
        "ix_flow_enrolments_due",
        table_name="flow_enrolments",
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )
    op.drop_table("flow_enrolments")
