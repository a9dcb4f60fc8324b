"""Notifications: delivery log, settings, templates, contact preferences, link clicks; domain event dispatch mark.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('contact_preferences',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('shopify_customer_id', sa.BigInteger(), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('is_opted_out', sa.Boolean(), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updates_consent', sa.Boolean(), nullable=False),
    sa.Column('marketing_consent', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_contact_preferences_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_preferences')),
    sa.UniqueConstraint('shop_id', 'channel', 'address', name=op.f('uq_contact_preferences_shop_id_channel_address'))
    )
    op.create_index('ix_contact_preferences_channel_address', 'contact_preferences', ['channel', 'address'], unique=False)
    op.create_index(op.f('ix_contact_preferences_shop_id'), 'contact_preferences', ['shop_id'], unique=False)
    op.create_index(op.f('ix_contact_preferences_shopify_customer_id'), 'contact_preferences', ['shopify_customer_id'], unique=False)
    op.create_table('link_clicks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('notification_id', sa.BigInteger(), nullable=True),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('clicked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_link_clicks_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_clicks'))
    )
    op.create_index(op.f('ix_link_clicks_notification_id'), 'link_clicks', ['notification_id'], unique=False)
    op.create_index(op.f('ix_link_clicks_shop_id'), 'link_clicks', ['shop_id'], unique=False)
    op.create_table('notification_settings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sender_name', sa.String(length=120), nullable=True),
    sa.Column('reply_to', sa.String(length=320), nullable=True),
    sa.Column('triggers', sa.JSON(), nullable=True),
    sa.Column('quiet_hours_start', sa.Integer(), nullable=False),
    sa.Column('quiet_hours_end', sa.Integer(), nullable=False),
    sa.Column('max_per_order_per_day', sa.Integer(), nullable=False),
    sa.Column('fallback_to_email', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_notification_settings_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_settings')),
    sa.UniqueConstraint('shop_id', name=op.f('uq_notification_settings_shop_id'))
    )
    op.create_index(op.f('ix_notification_settings_shop_id'), 'notification_settings', ['shop_id'], unique=False)
    op.create_table('notification_templates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_notification_templates_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_templates')),
    sa.UniqueConstraint('shop_id', 'trigger', 'channel', 'locale', name=op.f('uq_notification_templates_shop_id_trigger_channel_locale'))
    )
    op.create_index(op.f('ix_notification_templates_shop_id'), 'notification_templates', ['shop_id'], unique=False)
    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('trigger', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('shopify_order_id', sa.BigInteger(), nullable=True),
    sa.Column('shopify_fulfillment_id', sa.BigInteger(), nullable=True),
    sa.Column('domain_event_id', sa.BigInteger(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body_text', sa.Text(), nullable=True),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('provider_message_id', sa.String(length=255), nullable=True),
    sa.Column('sending_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resend_of_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_notifications_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('shop_id', 'dedupe_key', name=op.f('uq_notifications_shop_id_dedupe_key'))
    )
    op.create_index('ix_notifications_channel_provider_message_id', 'notifications', ['channel', 'provider_message_id'], unique=False)
    op.create_index('ix_notifications_channel_recipient', 'notifications', ['channel', 'recipient'], unique=False)
    op.create_index(op.f('ix_notifications_shop_id'), 'notifications', ['shop_id'], unique=False)
    op.create_index('ix_notifications_shop_id_shopify_order_id', 'notifications', ['shop_id', 'shopify_order_id'], unique=False)
    op.create_index('ix_notifications_status_scheduled_for', 'notifications', ['status', 'scheduled_for'], unique=False)
    op.add_column('domain_events', sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True))
    # Events recorded before notifications existed are history, not news: never message about them.
    op.execute("UPDATE domain_events SET dispatched_at = occurred_at")



def downgrade():

    op.drop_column('domain_events', 'dispatched_at')
    op.drop_index('ix_notifications_status_scheduled_for', table_name='notifications')
    op.drop_index('ix_notifications_shop_id_shopify_order_id', table_name='notifications')
    op.drop_index(op.f('ix_notifications_shop_id'), table_name='notifications')
    op.drop_index('ix_notifications_channel_recipient', table_name='notifications')
    op.drop_index('ix_notifications_channel_provider_message_id', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index(op.f('ix_notification_templates_shop_id'), table_name='notification_templates')
    op.drop_table('notification_templates')
    op.drop_index(op.f('ix_notification_settings_shop_id'), table_name='notification_settings')
    op.drop_table('notification_settings')
    op.drop_index(op.f('ix_link_clicks_shop_id'), table_name='link_clicks')
    op.drop_index(op.f('ix_link_clicks_notification_id'), table_name='link_clicks')
    op.drop_table('link_clicks')
    op.drop_index(op.f('ix_contact_preferences_shopify_customer_id'), table_name='contact_preferences')
    op.drop_index(op.f('ix_contact_preferences_shop_id'), table_name='contact_preferences')
    op.drop_index('ix_contact_preferences_channel_address', table_name='contact_preferences')
    op.drop_table('contact_preferences')

