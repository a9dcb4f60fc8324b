"""What processing changed to store a delivery: `webhook_events.notes`.

A signed payload whose fields cannot be stored as sent (a control character, text longer than its column, a
field of the wrong type) is cleaned and kept instead of failing; the notes list each change, by field name
only, so the merchant can see it (app/orders/cleaning.py).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("webhook_events", sa.Column("notes", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("webhook_events", "notes")
