"""Tracking timeline: shipment state on fulfilments, tracking events, refunds, customers, settings, estimates, domain events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('customers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shopify_customer_id', sa.BigInteger(), nullable=False),
    sa.Column('first_name', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('locale', sa.String(length=20), nullable=True),
    sa.Column('orders_count', sa.Integer(), nullable=True),
    sa.Column('shopify_updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_customers_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('shop_id', 'shopify_customer_id', name=op.f('uq_customers_shop_id_shopify_customer_id'))
    )
    op.create_index(op.f('ix_customers_shop_id'), 'customers', ['shop_id'], unique=False)
    op.create_table('delivery_estimates',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shopify_fulfillment_id', sa.BigInteger(), nullable=False),
    sa.Column('carrier_code', sa.String(length=32), nullable=True),
    sa.Column('destination_country', sa.String(length=2), nullable=True),
    sa.Column('estimate_from', sa.Date(), nullable=False),
    sa.Column('estimate_to', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_delivery_estimates_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_estimates'))
    )
    op.create_index(op.f('ix_delivery_estimates_shop_id'), 'delivery_estimates', ['shop_id'], unique=False)
    op.create_index('ix_delivery_estimates_shop_id_fulfillment', 'delivery_estimates', ['shop_id', 'shopify_fulfillment_id'], unique=False)
    op.create_table('domain_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('shopify_order_id', sa.BigInteger(), nullable=True),
    sa.Column('shopify_fulfillment_id', sa.BigInteger(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_domain_events_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_events')),
    sa.UniqueConstraint('shop_id', 'dedupe_key', name=op.f('uq_domain_events_shop_id_dedupe_key'))
    )
    op.create_index(op.f('ix_domain_events_kind'), 'domain_events', ['kind'], unique=False)
    op.create_index(op.f('ix_domain_events_shop_id'), 'domain_events', ['shop_id'], unique=False)
    op.create_table('refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shopify_refund_id', sa.BigInteger(), nullable=False),
    sa.Column('shopify_order_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('line_items', sa.JSON(), nullable=True),
    sa.Column('shopify_return_id', sa.BigInteger(), nullable=True),
    sa.Column('refunded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_refunds_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('shop_id', 'shopify_refund_id', name=op.f('uq_refunds_shop_id_shopify_refund_id'))
    )
    op.create_index(op.f('ix_refunds_shop_id'), 'refunds', ['shop_id'], unique=False)
    op.create_index(op.f('ix_refunds_shopify_order_id'), 'refunds', ['shopify_order_id'], unique=False)
    op.create_table('tracking_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shopify_fulfillment_id', sa.BigInteger(), nullable=False),
    sa.Column('shopify_order_id', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=True),
    sa.Column('raw_status', sa.String(length=120), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('city', sa.String(length=120), nullable=True),
    sa.Column('province', sa.String(length=120), nullable=True),
    sa.Column('country', sa.String(length=120), nullable=True),
    sa.Column('happened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('estimated_delivery_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_tracking_events_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_events')),
    sa.UniqueConstraint('shop_id', 'source', 'external_id', name=op.f('uq_tracking_events_shop_id_source_external_id'))
    )
    op.create_index(op.f('ix_tracking_events_shop_id'), 'tracking_events', ['shop_id'], unique=False)
    op.create_index('ix_tracking_events_shop_id_shopify_fulfillment_id', 'tracking_events', ['shop_id', 'shopify_fulfillment_id'], unique=False)
    op.create_table('tracking_settings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('logo_url', sa.Text(), nullable=True),
    sa.Column('accent_color', sa.String(length=7), nullable=False),
    sa.Column('text_color', sa.String(length=7), nullable=False),
    sa.Column('background_color', sa.String(length=7), nullable=False),
    sa.Column('font', sa.String(length=40), nullable=False),
    sa.Column('radius_px', sa.Integer(), nullable=False),
    sa.Column('custom_message', sa.JSON(), nullable=True),
    sa.Column('faq', sa.JSON(), nullable=True),
    sa.Column('contact_email', sa.String(length=320), nullable=True),
    sa.Column('contact_url', sa.Text(), nullable=True),
    sa.Column('handling_days', sa.Integer(), nullable=False),
    sa.Column('default_transit', sa.JSON(), nullable=True),
    sa.Column('weekend_days', sa.JSON(), nullable=True),
    sa.Column('holidays', sa.JSON(), nullable=True),
    sa.Column('stall_after_days', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shop_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_tracking_settings_shop_id_shops'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_settings')),
    sa.UniqueConstraint('shop_id', name=op.f('uq_tracking_settings_shop_id'))
    )
    op.create_index(op.f('ix_tracking_settings_shop_id'), 'tracking_settings', ['shop_id'], unique=False)
    op.add_column('fulfillments', sa.Column('line_items', sa.JSON(), nullable=True))
    op.add_column('fulfillments', sa.Column('destination_country', sa.String(length=2), nullable=True))
    op.add_column('fulfillments', sa.Column('shipment_state', sa.String(length=32), nullable=True))
    op.add_column('fulfillments', sa.Column('carrier_code', sa.String(length=32), nullable=True))
    op.add_column('fulfillments', sa.Column('carrier_name', sa.String(length=255), nullable=True))
    op.add_column('fulfillments', sa.Column('tracking_url', sa.Text(), nullable=True))
    op.add_column('fulfillments', sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('fulfillments', sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('fulfillments', sa.Column('last_scan_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('fulfillments', sa.Column('carrier_estimated_delivery_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('fulfillments', sa.Column('estimate_from', sa.Date(), nullable=True))
    op.add_column('fulfillments', sa.Column('estimate_to', sa.Date(), nullable=True))
    op.add_column('fulfillments', sa.Column('estimate_source', sa.String(length=16), nullable=True))
    op.add_column('fulfillments', sa.Column('is_delayed', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('fulfillments', sa.Column('is_stalled', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('orders', sa.Column('shipping_country', sa.String(length=2), nullable=True))
    op.add_column('orders', sa.Column('shipping_province', sa.String(length=64), nullable=True))
    # Existing rows start as 'ordered'; `flask refresh-tracking` derives their real state.
    op.add_column('orders', sa.Column('status', sa.String(length=32), nullable=False, server_default='ordered'))
    op.add_column('orders', sa.Column('is_fulfillment_overdue', sa.Boolean(), nullable=False, server_default=sa.false()))



def downgrade():

    op.drop_column('orders', 'is_fulfillment_overdue')
    op.drop_column('orders', 'status')
    op.drop_column('orders', 'shipping_province')
    op.drop_column('orders', 'shipping_country')
    op.drop_column('fulfillments', 'is_stalled')
    op.drop_column('fulfillments', 'is_delayed')
    op.drop_column('fulfillments', 'estimate_source')
    op.drop_column('fulfillments', 'estimate_to')
    op.drop_column('fulfillments', 'estimate_from')
    op.drop_column('fulfillments', 'carrier_estimated_delivery_at')
    op.drop_column('fulfillments', 'last_scan_at')
    op.drop_column('fulfillments', 'delivered_at')
    op.drop_column('fulfillments', 'shipped_at')
    op.drop_column('fulfillments', 'tracking_url')
    op.drop_column('fulfillments', 'carrier_name')
    op.drop_column('fulfillments', 'carrier_code')
    op.drop_column('fulfillments', 'shipment_state')
    op.drop_column('fulfillments', 'destination_country')
    op.drop_column('fulfillments', 'line_items')
    op.drop_index(op.f('ix_tracking_settings_shop_id'), table_name='tracking_settings')
    op.drop_table('tracking_settings')
    op.drop_index('ix_tracking_events_shop_id_shopify_fulfillment_id', table_name='tracking_events')
    op.drop_index(op.f('ix_tracking_events_shop_id'), table_name='tracking_events')
    op.drop_table('tracking_events')
    op.drop_index(op.f('ix_refunds_shopify_order_id'), table_name='refunds')
    op.drop_index(op.f('ix_refunds_shop_id'), table_name='refunds')
    op.drop_table('refunds')
    op.drop_index(op.f('ix_domain_events_shop_id'), table_name='domain_events')
    op.drop_index(op.f('ix_domain_events_kind'), table_name='domain_events')
    op.drop_table('domain_events')
    op.drop_index('ix_delivery_estimates_shop_id_fulfillment', table_name='delivery_estimates')
    op.drop_index(op.f('ix_delivery_estimates_shop_id'), table_name='delivery_estimates')
    op.drop_table('delivery_estimates')
    op.drop_index(op.f('ix_customers_shop_id'), table_name='customers')
    op.drop_table('customers')

