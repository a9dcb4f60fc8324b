"""Reviews: the outbox of review planning (`review_plans`: a request is timed, a hold opened or released, even
when Redis was down as the event was handed over; a sweeper queues what was left), and the product block's index
(benchmarks/engagement.py: with 2,000 reviews the count and average read 2,000 rows from the table, and the page
was sorted again for its id tie-break; now both come from the index, the rating included).

Revision ID: 0031
Revises: 0030
"""

from alembic import op
import sqlalchemy as sa


revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "review_plans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("domain_event_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_review_plans_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_plans")),
        sa.UniqueConstraint("domain_event_id", name=op.f("uq_review_plans_domain_event_id")),
    )
    op.create_index(op.f("ix_review_plans_shop_id"), "review_plans", ["shop_id"], unique=False)
    op.create_index(
        "ix_reviews_product_page",
        "reviews",
        ["shop_id", "shopify_product_id", "status", "created_at", "id"],
        postgresql_include=["rating"],
    )
    op.drop_index("ix_reviews_shop_product_status", table_name="reviews")


def downgrade():
    op.create_index(
        "ix_reviews_shop_product_status", "reviews", ["shop_id", "shopify_product_id", "status", "created_at"]
    )
    op.drop_index("ix_reviews_product_page", table_name="reviews")
    op.drop_index(op.f("ix_review_plans_shop_id"), table_name="review_plans")
    op.drop_table("review_plans")
