"""Webhook inbox payloads compressed with LZ4 instead of pglz (PostgreSQL).

Every delivery's raw body (often 5-20 KB) is TOASTed on insert; pglz compression was a measurable share of
PostgreSQL's CPU per webhook on the intake path (benchmarks/webhook_ingest.py). LZ4 compresses several times
faster. Existing rows keep their compression; new rows use LZ4. No-op on SQLite (the demo).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE webhook_events ALTER COLUMN payload SET COMPRESSION lz4")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE webhook_events ALTER COLUMN payload SET COMPRESSION DEFAULT")
