"""Wiring: every blueprint the app serves, by audience, and the admin's navigation."""

from __future__ import annotations

from flask import Blueprint

from app.admin import admin_bp, first_webhook_received, reconciliation_ran
from app.alerts.admin import alerts_admin_bp, alerts_ready
from app.alerts.admin import order_panel as alerts_order_panel
from app.alerts.admin import order_summary as alerts_order_summary
from app.analytics.admin import analytics_admin_bp
from app.content.admin import content_admin_bp
from app.extension_api.admin import extension_admin_bp
from app.extension_api.api import order_status_bp, thank_you_bp
from app.flows.admin import flows_admin_bp
from app.health import health_bp
from app.helpdesk.admin import helpdesk_admin_bp, helpdesk_ready
from app.helpdesk.feed import helpdesk_bp
from app.i18n import N_
from app.inserts.admin import inserts_admin_bp
from app.inserts.admin import order_panel as insert_order_panel
from app.inserts.links import insert_links_bp
from app.integrations.admin import integrations_admin_bp, integrations_ready
from app.integrations.flow import flow_lifecycle_bp
from app.notifications.admin import email_ready, line_ready, notifications_admin_bp, sms_ready
from app.notifications.admin import order_panel as messages_order_panel
from app.notifications.admin import order_summary as messages_order_summary
from app.notifications.hooks import provider_hooks_bp
from app.notifications.links import notification_links_bp
from app.recommendations.admin import recommendations_admin_bp, recommendations_cli_bp
from app.recommendations.attribution import recommendation_links_bp
from app.registry import NavItem, OrderPanel, SetupStep
from app.returns.admin import order_panel as returns_order_panel
from app.returns.admin import order_summary as returns_order_summary
from app.returns.admin import returns_admin_bp
from app.returns.storefront import returns_links_bp, returns_storefront_bp
from app.reviews.admin import reviews_admin_bp
from app.reviews.storefront import reviews_links_bp, reviews_storefront_bp
from app.surveys.admin import surveys_admin_bp
from app.surveys.storefront import survey_links_bp
from app.tracking.admin import order_panel as parcels_order_panel
from app.tracking.admin import order_summary as parcels_order_summary
from app.tracking.admin import tracking_admin_bp
from app.tracking.storefront import tracking_links_bp, tracking_storefront_bp

BLUEPRINTS: tuple[Blueprint, ...] = (
    health_bp,
    # merchant, in the Shopify admin (/app)
    admin_bp,
    alerts_admin_bp,
    tracking_admin_bp,
    notifications_admin_bp,
    returns_admin_bp,
    recommendations_admin_bp,
    helpdesk_admin_bp,
    integrations_admin_bp,
    inserts_admin_bp,
    surveys_admin_bp,
    reviews_admin_bp,
    extension_admin_bp,
    content_admin_bp,
    analytics_admin_bp,
    flows_admin_bp,
    # a help desk holding the shop's token (/helpdesk)
    helpdesk_bp,
    # shopper, through the app proxy (/proxy)
    tracking_storefront_bp,
    returns_storefront_bp,
    reviews_storefront_bp,
    # Shopify's checkout and customer-account UI extensions, with their session token (/ext)
    order_status_bp,
    thank_you_bp,
    # anyone holding a signed link (/l)
    tracking_links_bp,
    returns_links_bp,
    notification_links_bp,
    recommendation_links_bp,
    insert_links_bp,
    survey_links_bp,
    reviews_links_bp,
    # SMS and LINE providers (/hooks)
    provider_hooks_bp,
    # Shopify Flow's trigger lifecycle callback (/flow), signed like a webhook
    flow_lifecycle_bp,
    # command line (`flask recs ...`)
    recommendations_cli_bp,
)

# Labels are catalog keys: the admin shows them in the merchant's language.
ADMIN_NAV: tuple[NavItem, ...] = (
    NavItem(N_("admin.nav.orders"), "admin.orders_page"),
    NavItem(N_("admin.nav.analytics"), "analytics_admin.analytics_page"),
    NavItem(N_("admin.nav.attention"), "alerts_admin.attention_page"),
    NavItem(N_("admin.nav.returns"), "returns_admin.list_returns"),
    NavItem(N_("admin.nav.return_rules"), "returns_admin.policy_page"),
    NavItem(N_("admin.nav.tracking_page"), "tracking_admin.settings_page"),
    NavItem(N_("admin.nav.notifications"), "notifications_admin.notifications_page"),
    NavItem(N_("admin.nav.messages"), "notifications_admin.notification_log"),
    NavItem(N_("admin.nav.reviews"), "reviews_admin.reviews_page"),
    NavItem(N_("admin.nav.flows"), "flows_admin.flows_page"),
    NavItem(N_("admin.nav.recommendations"), "recommendations_admin.recommendations_page"),
    NavItem(N_("admin.nav.inserts"), "inserts_admin.inserts_page"),
    NavItem(N_("admin.nav.surveys"), "surveys_admin.surveys_page"),
    NavItem(N_("admin.nav.thank_you"), "extension_admin.thank_you_page"),
    NavItem(N_("admin.nav.content"), "content_admin.content_page"),
    NavItem(N_("admin.nav.helpdesk"), "helpdesk_admin.helpdesk_page"),
    NavItem(N_("admin.nav.integrations"), "integrations_admin.integrations_page"),
)

# The order page (the support agent's 360° view), top to bottom: each feature's part of it.
ORDER_PANELS: tuple[OrderPanel, ...] = (
    OrderPanel("admin/tracking/order_panel.html", parcels_order_panel, "parcels", parcels_order_summary),
    OrderPanel("admin/alerts/order_panel.html", alerts_order_panel, "alerts", alerts_order_summary),
    OrderPanel("admin/notifications/order_panel.html", messages_order_panel, "messages", messages_order_summary),
    OrderPanel("admin/returns/order_panel.html", returns_order_panel, "returns", returns_order_summary),
    OrderPanel("admin/inserts/order_panel.html", insert_order_panel),
)

# The home page's setup guide, in the order a new merchant does it; each step reads the real state.
SETUP_STEPS: tuple[SetupStep, ...] = (
    SetupStep("webhooks", N_("admin.setup.webhooks"), "admin.home", first_webhook_received),
    SetupStep("reconcile", N_("admin.setup.reconcile"), "admin.home", reconciliation_ran),
    SetupStep("theme_block", N_("admin.setup.theme_block"), "tracking_admin.settings_page", tickable=True),
    SetupStep("email", N_("admin.setup.email"), "notifications_admin.notifications_page", email_ready),
    SetupStep("sms", N_("admin.setup.sms"), "notifications_admin.notifications_page", sms_ready, optional=True),
    SetupStep("line", N_("admin.setup.line"), "notifications_admin.notifications_page", line_ready, optional=True),
    SetupStep("alerts", N_("admin.setup.alerts"), "alerts_admin.alert_settings_page", alerts_ready),
    SetupStep("helpdesk", N_("admin.setup.helpdesk"), "helpdesk_admin.helpdesk_page", helpdesk_ready, optional=True),
    SetupStep(
        "integrations",
        N_("admin.setup.integrations"),
        "integrations_admin.integrations_page",
        integrations_ready,
        optional=True,
    ),
)
