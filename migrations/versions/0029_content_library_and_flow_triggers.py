"""The product content library (entries per product, variant, product type or collection, and one release per
order and entry, found by their due time) and which Shopify Flow triggers each shop uses (Flow's lifecycle
callback).

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "content_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("scope_value", sa.String(length=255), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("video_url", sa.String(length=2048), nullable=True),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_content_entries_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_entries")),
    )
    op.create_index(op.f("ix_content_entries_shop_id"), "content_entries", ["shop_id"], unique=False)
    op.create_index(
        "ix_content_entries_shop_id_scope", "content_entries", ["shop_id", "scope", "scope_value"], unique=False
    )
    op.create_table(
        "flow_trigger_uses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("handle", sa.String(length=64), nullable=False),
        sa.Column("has_enabled_flow", sa.Boolean(), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_flow_trigger_uses_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_trigger_uses")),
        sa.UniqueConstraint("shop_id", "handle", name=op.f("uq_flow_trigger_uses_shop_id_handle")),
    )
    op.create_index(op.f("ix_flow_trigger_uses_shop_id"), "flow_trigger_uses", ["shop_id"], unique=False)
    op.create_table(
        "content_releases",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shopify_order_id", sa.BigInteger(), nullable=False),
        sa.Column("shopify_fulfillment_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["content_entries.id"],
            name=op.f("fk_content_releases_entry_id_content_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_content_releases_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_releases")),
        sa.UniqueConstraint(
            "shop_id",
            "shopify_order_id",
            "entry_id",
            name=op.f("uq_content_releases_shop_id_shopify_order_id_entry_id"),
        ),
    )
    op.create_index(op.f("ix_content_releases_shop_id"), "content_releases", ["shop_id"], unique=False)
    op.create_index("ix_content_releases_status_due_at", "content_releases", ["status", "due_at"], unique=False)


def downgrade():
    op.drop_index("ix_content_releases_status_due_at", table_name="content_releases")
    op.drop_index(op.f("ix_content_releases_shop_id"), table_name="content_releases")
    op.drop_table("content_releases")
    op.drop_index(op.f("ix_flow_trigger_uses_shop_id"), table_name="flow_trigger_uses")
    op.drop_table("flow_trigger_uses")
    op.drop_index("ix_content_entries_shop_id_scope", table_name="content_entries")
    op.drop_index(op.f("ix_content_entries_shop_id"), table_name="content_entries")
    op.drop_table("content_entries")
