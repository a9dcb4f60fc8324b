"""Wiring: the privacy registry. Every table that holds customer data is covered by one entry's eraser and
exporter (tests/test_architecture.py walks the schema to hold it so); app/shopify/compliance.py runs them.

The order is the order of erasure: features that find a customer through their orders come before the
orders lose the customer's email and ids.
"""

from __future__ import annotations

from app.admin.models import OrderActivity
from app.admin.privacy import erase_order_activity, export_order_activity
from app.content.models import ContentRelease
from app.content.privacy import erase_customer_content, export_customer_content
from app.extension_api.models import ThankYouAnswer
from app.extension_api.privacy import erase_customer_answers, export_customer_answers
from app.flows.models import FlowEnrolment
from app.flows.privacy import erase_customer_flows, export_customer_flows
from app.inserts.models import InsertBatch, InsertLinkSync, InsertScan
from app.inserts.privacy import erase_customer_inserts, export_customer_inserts
from app.integrations.models import OutgoingEvent
from app.integrations.privacy import erase_customer_events, export_customer_events
from app.notifications.models import ContactPreference, Notification
from app.notifications.privacy import erase_customer_notifications, export_customer_notifications
from app.orders.models import Customer, Order
from app.orders.privacy import erase_customer_data, export_customer_data
from app.recommendations.models import OrderBasket, RecommendationClick
from app.recommendations.privacy import erase_customer_recommendation_data, export_customer_recommendation_data
from app.registry import PrivacyEntry
from app.returns.models import CustomerLoyalty, ReturnFile, ReturnRequest, ReturnStep
from app.returns.privacy import erase_customer_returns, export_customer_returns
from app.reviews.models import Review, ReviewAsk, ReviewHold, ReviewPhoto, ReviewReply, ReviewRequest
from app.reviews.privacy import erase_customer_reviews, export_customer_reviews
from app.shopify.compliance import WEBHOOK_PAYLOADS_PRIVACY
from app.surveys.models import Survey
from app.surveys.privacy import erase_customer_surveys, export_customer_surveys

PRIVACY: tuple[PrivacyEntry, ...] = (
    PrivacyEntry(
        "returns",
        erase=erase_customer_returns,
        export=export_customer_returns,
        tables=tuple(m.__tablename__ for m in (ReturnRequest, ReturnStep, ReturnFile, CustomerLoyalty)),
    ),
    PrivacyEntry(
        "reviews",
        erase=erase_customer_reviews,
        export=export_customer_reviews,
        tables=tuple(m.__tablename__ for m in (Review, ReviewPhoto, ReviewReply, ReviewRequest, ReviewAsk, ReviewHold)),
    ),
    PrivacyEntry(
        "recommendations",
        erase=erase_customer_recommendation_data,
        export=export_customer_recommendation_data,
        tables=(OrderBasket.__tablename__, RecommendationClick.__tablename__),
    ),
    PrivacyEntry(
        "flows",
        erase=erase_customer_flows,
        export=export_customer_flows,
        tables=(FlowEnrolment.__tablename__,),
    ),
    PrivacyEntry(
        "integrations",
        erase=erase_customer_events,
        export=export_customer_events,
        tables=(OutgoingEvent.__tablename__,),
    ),
    PrivacyEntry(
        "order_activity",
        erase=erase_order_activity,
        export=export_order_activity,
        tables=(OrderActivity.__tablename__,),
    ),
    PrivacyEntry(
        "inserts",
        erase=erase_customer_inserts,
        export=export_customer_inserts,
        tables=tuple(m.__tablename__ for m in (InsertScan, InsertLinkSync, InsertBatch)),
    ),
    PrivacyEntry(
        "surveys",
        erase=erase_customer_surveys,
        export=export_customer_surveys,
        tables=(Survey.__tablename__,),
    ),
    PrivacyEntry(
        "thank_you_answers",
        erase=erase_customer_answers,
        export=export_customer_answers,
        tables=(ThankYouAnswer.__tablename__,),
    ),
    PrivacyEntry(
        "content",
        erase=erase_customer_content,
        export=export_customer_content,
        tables=(ContentRelease.__tablename__,),
    ),
    PrivacyEntry(
        "orders",
        erase=erase_customer_data,
        export=export_customer_data,
        tables=(Order.__tablename__, Customer.__tablename__),
    ),
    PrivacyEntry(
        "notifications",
        erase=erase_customer_notifications,
        export=export_customer_notifications,
        tables=(Notification.__tablename__, ContactPreference.__tablename__),
    ),
    WEBHOOK_PAYLOADS_PRIVACY,
)
