"""Analytics (issue 19): monthly rollups, equal to the sum of each month's daily rows, so a long range reads whole
months; and the shipping rate the shopper chose (the order's first shipping line), for the breakdown by service.
Existing daily rows are summed into months here; orders keep no service until Shopify sends them again.

Revision ID: 0033
Revises: 0032
"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "analytics_monthly",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("dim", sa.String(length=200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("hist", sa.JSON(), nullable=True),
        sa.Column("shop_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["shop_id"], ["shops.id"], name=op.f("fk_analytics_monthly_shop_id_shops"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_monthly")),
        sa.UniqueConstraint(
            "shop_id", "month", "metric", "dim", name=op.f("uq_analytics_monthly_shop_id_month_metric_dim")
        ),
    )
    op.create_index(op.f("ix_analytics_monthly_shop_id"), "analytics_monthly", ["shop_id"], unique=False)
    op.create_index(
        "ix_analytics_monthly_shop_id_metric_month", "analytics_monthly", ["shop_id", "metric", "month"], unique=False
    )
    op.add_column("orders", sa.Column("shipping_service", sa.String(length=120), nullable=True))
    _months_from_days()


def _months_from_days():
    conn = op.get_bind()
    month = "date_trunc('month', day)::date" if conn.dialect.name == "postgresql" else "date(day, 'start of month')"
    conn.execute(
        sa.text(
            "INSERT INTO analytics_monthly (shop_id, month, metric, dim, count, amount)"
            f" SELECT shop_id, {month}, metric, dim, sum(count), sum(amount) FROM analytics_daily"
            f" GROUP BY shop_id, {month}, metric, dim"
        )
    )
    update = sa.text(
        "UPDATE analytics_monthly SET hist = :hist"
        " WHERE shop_id = :shop_id AND month = :month AND metric = :metric AND dim = :dim"
    )
    rows = conn.execute(
        sa.text(
            f"SELECT shop_id, {month} AS month, metric, dim, hist FROM analytics_daily WHERE hist IS NOT NULL"
            f" ORDER BY shop_id, {month}, metric, dim"
        )
    )
    key, merged, batch = None, {}, []
    for shop_id, first_day, metric, dim, hist in rows:
        if (shop_id, first_day, metric, dim) != key:
            if key is not None:
                batch.append(_row(key, merged))
            key, merged = (shop_id, first_day, metric, dim), {}
        for days, count in (json.loads(hist) if isinstance(hist, str) else hist or {}).items():
            merged[str(days)] = merged.get(str(days), 0) + int(count)
    if key is not None:
        batch.append(_row(key, merged))
    for start in range(0, len(batch), 1000):
        conn.execute(update, batch[start : start + 1000])


def _row(key, merged):
    shop_id, first_day, metric, dim = key
    return {"shop_id": shop_id, "month": first_day, "metric": metric, "dim": dim, "hist": json.dumps(merged)}


def downgrade():
    op.drop_column("orders", "shipping_service")
    op.drop_index("ix_analytics_monthly_shop_id_metric_month", table_name="analytics_monthly")
    op.drop_index(op.f("ix_analytics_monthly_shop_id"), table_name="analytics_monthly")
    op.drop_table("analytics_monthly")
