"""Wiring: the periodic jobs, nothing else. The worker command enqueues each once per interval (deduplicated
across any number of workers by a per-interval job id)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.alerts.services import send_digests
from app.analytics.services import rebuild_recent_history, refresh_rollups, refresh_today
from app.analytics.weekly import send_weekly_summaries
from app.content.services import release_due_content
from app.events import requeue_undispatched_events
from app.flows.services import send_due_flow_steps
from app.integrations.services import requeue_pending_outgoing_events
from app.notifications.services import requeue_pending_notifications
from app.recommendations.jobs import rebuild_all_shops
from app.returns.tracking import poll_return_parcels
from app.reviews.jobs import requeue_pending_rating_syncs
from app.reviews.services import requeue_pending_review_plans, send_due_review_requests
from app.shopify.inbox import purge_processed_payloads, requeue_stranded_webhook_events
from app.shopify.reconcile import reconcile_all_shops
from app.surveys.services import ask_due_surveys
from app.tracking.monitor import detect_delays
from app.tracking.polling import poll_carriers


@dataclass(frozen=True)
class Periodic:
    name: str
    func: Any
    every_seconds: int
    queue: str = "default"


PERIODIC_JOBS: tuple[Periodic, ...] = (
    Periodic("sweep-webhooks", requeue_stranded_webhook_events, 60, "webhooks"),
    Periodic("sweep-domain-events", requeue_undispatched_events, 60),
    Periodic("sweep-notifications", requeue_pending_notifications, 60, "notifications"),
    Periodic("sweep-outgoing-events", requeue_pending_outgoing_events, 60, "notifications"),
    Periodic("reconcile-shops", reconcile_all_shops, 300, "bulk"),
    Periodic("purge-webhook-payloads", purge_processed_payloads, 3600),
    Periodic("detect-delays", detect_delays, 900),
    Periodic("alert-digests", send_digests, 900, "notifications"),
    Periodic("ask-due-surveys", ask_due_surveys, 900),
    Periodic("release-due-content", release_due_content, 900, "notifications"),
    Periodic("poll-carriers", poll_carriers, 1800, "bulk"),
    Periodic("poll-return-parcels", poll_return_parcels, 1800, "bulk"),
    Periodic("flow-steps", send_due_flow_steps, 300, "notifications"),
    Periodic("review-requests", send_due_review_requests, 900, "notifications"),
    Periodic("sweep-review-ratings", requeue_pending_rating_syncs, 300),
    Periodic("sweep-review-plans", requeue_pending_review_plans, 60, "bulk"),
    Periodic("rebuild-recommendations", rebuild_all_shops, 86400, "bulk"),
    # analytics: dirty days from the domain events, today's figures hourly, the last weeks rebuilt nightly
    Periodic("analytics-refresh", refresh_rollups, 300, "bulk"),
    Periodic("analytics-today", refresh_today, 3600, "bulk"),
    Periodic("analytics-nightly", rebuild_recent_history, 86400, "bulk"),
    Periodic("analytics-weekly-email", send_weekly_summaries, 3600, "notifications"),
)
