"""Shopper messages are dated by their event, and none goes out about the past.

`domain_events.happened_at`: when a change happened by its source's clock (a scan, a fulfilment's update,
when Shopify triggered the webhook). `notifications.event_at`: that time, kept with each message.
`notification_settings.message_horizon_hours` (default 72): a message whose event is older is suppressed, so
installing on a shop with history, reconciliation, a replay or a late redelivery never mails about the past.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("domain_events", sa.Column("happened_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("notifications", sa.Column("event_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "notification_settings",
        sa.Column("message_horizon_hours", sa.Integer(), server_default="72", nullable=False),
    )


def downgrade():
    op.drop_column("notification_settings", "message_horizon_hours")
    op.drop_column("notifications", "event_at")
    op.drop_column("domain_events", "happened_at")
