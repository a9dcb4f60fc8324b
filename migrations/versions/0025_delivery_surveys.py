"""Delivery surveys: one per delivered order (its answer on the row) and each shop's survey settings; a marketing
hold on a shopper's email while their unhappy answer awaits the shop.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "survey_settings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("question", sa.String(length=8), nullable=False),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_survey_settings_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_settings")),
        sa.UniqueConstraint("shop_id", name=op.f("uq_survey_settings_shop_id")),
    )
    op.create_index(op.f("ix_survey_settings_shop_id"), "survey_settings", ["shop_id"], unique=False)
    op.create_table(
        "surveys",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("shopify_order_id", sa.BigInteger(), nullable=False),
        sa.Column("shopify_fulfillment_id", sa.BigInteger(), nullable=True),
        sa.Column("shopify_customer_id", sa.BigInteger(), nullable=True),
        sa.Column("order_name", sa.String(length=64), nullable=True),
        sa.Column("carrier", sa.String(length=255), nullable=True),
        sa.Column("origin_country", sa.String(length=64), nullable=True),
        sa.Column("destination_country", sa.String(length=2), nullable=True),
        sa.Column("destination_province", sa.String(length=64), nullable=True),
        sa.Column("product_ids", sa.JSON(), nullable=True),
        sa.Column("question", sa.String(length=8), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("csat_score", sa.Integer(), nullable=True),
        sa.Column("nps_score", sa.Integer(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_via", sa.String(length=16), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detractor_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detractor_handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detractor_handled_by", sa.String(length=255), nullable=True),
        sa.Column("detractor_cycle", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_surveys_shop_id_shops"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("public_id", name=op.f("uq_surveys_public_id")),
        sa.UniqueConstraint("shop_id", "shopify_order_id", name=op.f("uq_surveys_shop_id_shopify_order_id")),
    )
    op.create_index(op.f("ix_surveys_shop_id"), "surveys", ["shop_id"], unique=False)
    op.create_index("ix_surveys_shop_id_answered_at", "surveys", ["shop_id", "answered_at"], unique=False)
    op.create_index("ix_surveys_status_due_at", "surveys", ["status", "due_at"], unique=False)
    op.add_column("contact_preferences", sa.Column("marketing_held_for", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("contact_preferences", "marketing_held_for")
    op.drop_index("ix_surveys_status_due_at", table_name="surveys")
    op.drop_index("ix_surveys_shop_id_answered_at", table_name="surveys")
    op.drop_index(op.f("ix_surveys_shop_id"), table_name="surveys")
    op.drop_table("surveys")
    op.drop_index(op.f("ix_survey_settings_shop_id"), table_name="survey_settings")
    op.drop_table("survey_settings")
