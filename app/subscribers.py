"""Wiring: who hears about domain events. The one list per kind of event; the machinery is app/events.py."""

from __future__ import annotations

from app.alerts.services import plan_alert
from app.content.services import plan_content_releases
from app.events import ORDER_UPSERTED, REFUND_CREATED
from app.flows.services import on_domain_event as follow_up_flows
from app.flows.services import on_order_upserted as follow_up_flows_for_order
from app.inserts.metafields import queue_insert_links
from app.integrations.services import plan_outgoing_events
from app.notifications.handlers import (
    hold_marketing_for_unhappy_shopper,
    plan_news_held_for_the_order,
    record_checkout_consent,
)
from app.notifications.triggers import plan_notifications
from app.recommendations.handlers import on_order_upserted as update_recommendations_for_order
from app.registry import EventSubscriber, Handler
from app.returns.handlers import on_refund_created as resolve_return_refunded_in_shopify
from app.reviews.services import plan_review_requests
from app.surveys.services import on_alert_handled as follow_detractor_handled_in_attention_list
from app.surveys.services import plan_survey
from app.tracking.handlers import on_order_upserted as refresh_order_shipments

# Durable domain events, after their transaction commits (each subscriber idempotent on its own keys).
EVENT_SUBSCRIBERS: tuple[EventSubscriber, ...] = (
    plan_review_requests,  # before notifications: a request timed or held by the same event
    plan_notifications,
    plan_alert,
    plan_outgoing_events,
    plan_survey,
    plan_content_releases,  # getting started now, care tips later (released as content.released)
    follow_detractor_handled_in_attention_list,
    hold_marketing_for_unhappy_shopper,
    follow_up_flows,  # enrols on delivered / return resolved / survey answered; exits on a problem
)

# Changes announced inside the webhook's transaction, by kind, in the order the subscribers run.
IN_TRANSACTION_SUBSCRIBERS: dict[str, tuple[Handler, ...]] = {
    ORDER_UPSERTED: (
        update_recommendations_for_order,
        record_checkout_consent,
        refresh_order_shipments,
        plan_news_held_for_the_order,
        queue_insert_links,
        follow_up_flows_for_order,  # the shopper's next order ends their flows; learns repeat intervals
    ),
    REFUND_CREATED: (resolve_return_refunded_in_shopify,),
}
