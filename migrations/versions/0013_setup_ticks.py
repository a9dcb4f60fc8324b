"""The setup guide's ticks: steps the merchant says are done that the app cannot check, with who and when.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "setup_ticks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("ticked_by", sa.String(length=255), nullable=True),
        sa.Column("ticked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_setup_ticks_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setup_ticks")),
        sa.UniqueConstraint("shop_id", "step", name=op.f("uq_setup_ticks_shop_id_step")),
    )
    op.create_index(op.f("ix_setup_ticks_shop_id"), "setup_ticks", ["shop_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_setup_ticks_shop_id"), table_name="setup_ticks")
    op.drop_table("setup_ticks")
