"""Packing-slip inserts: each shop's insert settings, the QR codes' scans, batch prints, and the outbox of the
order metafield the packing-slip snippet reads.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "insert_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_insert_batches_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insert_batches")),
    )
    op.create_index(op.f("ix_insert_batches_shop_id"), "insert_batches", ["shop_id"], unique=False)
    op.create_table(
        "insert_link_syncs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_insert_link_syncs_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insert_link_syncs")),
        sa.UniqueConstraint("shop_id", "order_id", name=op.f("uq_insert_link_syncs_shop_id_order_id")),
    )
    op.create_index(op.f("ix_insert_link_syncs_shop_id"), "insert_link_syncs", ["shop_id"], unique=False)
    op.create_table(
        "insert_scans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("scans", sa.Integer(), nullable=False),
        sa.Column("first_scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_insert_scans_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insert_scans")),
        sa.UniqueConstraint("shop_id", "order_id", "code", name=op.f("uq_insert_scans_shop_id_order_id_code")),
    )
    op.create_index(op.f("ix_insert_scans_shop_id"), "insert_scans", ["shop_id"], unique=False)
    op.create_table(
        "insert_settings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("size", sa.String(length=8), nullable=False),
        sa.Column("note_en", sa.Text(), nullable=True),
        sa.Column("note_th", sa.Text(), nullable=True),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.Column("packing_slip", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_insert_settings_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insert_settings")),
        sa.UniqueConstraint("shop_id", name=op.f("uq_insert_settings_shop_id")),
    )
    op.create_index(op.f("ix_insert_settings_shop_id"), "insert_settings", ["shop_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_insert_settings_shop_id"), table_name="insert_settings")
    op.drop_table("insert_settings")
    op.drop_index(op.f("ix_insert_scans_shop_id"), table_name="insert_scans")
    op.drop_table("insert_scans")
    op.drop_index(op.f("ix_insert_link_syncs_shop_id"), table_name="insert_link_syncs")
    op.drop_table("insert_link_syncs")
    op.drop_index(op.f("ix_insert_batches_shop_id"), table_name="insert_batches")
    op.drop_table("insert_batches")
