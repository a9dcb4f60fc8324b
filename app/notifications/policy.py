"""Who may be sent what, and when: consent and opt-out, quiet hours, a per-order cap, the per-shopper marketing
cap (one frequency policy: each message's category decides what applies), staleness, and the horizon past which
an event is history, not news.

Checked when a notification is queued and again just before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.notifications.models import ContactPreference, NotificationSettings
from app.notifications.preferences import get_preference
from app.orders.models import Fulfillment, Order
from app.orders.status import FINISHED_STATES, Status, step_index

# Channels that wake a phone: held during quiet hours. Email waits in the inbox, so it is not held.
INTERRUPTING = frozenset({"sms", "line"})

# The frequency cap counts messages on a channel for one order over this window.
CAP_WINDOW = timedelta(days=1)

# A shopper message about an event older than this is suppressed (the merchant may change it per shop).
DEFAULT_HORIZON_HOURS = 72
MAX_HORIZON_HOURS = 24 * 30

# The shipment state each shipment trigger announces (for staleness).
TRIGGER_STATE: dict[str, Status] = {
    "shipped": Status.SHIPPED,
    "in_transit": Status.IN_TRANSIT,
    "out_for_delivery": Status.OUT_FOR_DELIVERY,
    "delivered": Status.DELIVERED,
    "attempted_delivery": Status.ATTEMPTED_DELIVERY,
    "ready_for_pickup": Status.READY_FOR_PICKUP,
    "exception": Status.EXCEPTION,
}


@dataclass(frozen=True)
class Decision:
    action: str  # "send" | "suppress" | "defer"
    reason: str | None = None
    not_before: datetime | None = None

    @classmethod
    def send(cls) -> Decision:
        return cls("send")

    @classmethod
    def suppress(cls, reason: str) -> Decision:
        return cls("suppress", reason)


def consent_allows(
    session: Session, shop_id: int, channel: str, address: str | None, marketing: bool = False
) -> str | None:
    """None when allowed; otherwise the reason it is not."""
    preference = get_preference(session, shop_id, channel, address) if address else None
    return consent_refusal(preference, channel, address, marketing)


def consent_refusal(
    preference: ContactPreference | None, channel: str, address: str | None, marketing: bool = False
) -> str | None:
    """`consent_allows` on the address's preference row, already read (None: the address has none)."""
    if not address:
        return f"no {channel} address for this shopper"
    if preference is not None and preference.is_opted_out:
        return f"{channel} opted out"
    if channel in INTERRUPTING and (preference is None or not preference.updates_consent):
        return f"no consent for {channel} updates"
    if marketing and (preference is None or not preference.marketing_consent):
        return "no marketing consent"
    if marketing and preference.marketing_held_for:
        return "marketing held: the shopper's unhappy survey answer awaits the shop's follow-up"
    return None


def quiet_hours_release(now: datetime, tz: ZoneInfo, start_hour: int, end_hour: int) -> datetime | None:
    """When a message due `now` may go out: None if now is allowed, else the end of quiet hours.

    Quiet hours run from start_hour to end_hour in the recipient's time zone (default 21:00-08:00).
    """
    local = now.astimezone(tz)
    hour = local.hour
    in_quiet = (hour >= start_hour or hour < end_hour) if start_hour > end_hour else (start_hour <= hour < end_hour)
    if start_hour == end_hour or not in_quiet:
        return None
    release = local.replace(hour=end_hour, minute=0, second=0, microsecond=0)
    if release <= local:
        release += timedelta(days=1)
    return release.astimezone(now.tzinfo)


def is_stale(trigger: str, shipment: Fulfillment | None, order: Order | None) -> str | None:
    """None when still worth saying; otherwise why not (never "out for delivery" after "delivered")."""
    if order is not None and order.cancelled_at is not None and trigger != "order_cancelled":
        return "order cancelled"
    if trigger == "delayed":
        if shipment is not None and (shipment.shipment_state in (s.value for s in FINISHED_STATES)):
            return f"shipment already {shipment.shipment_state}"
        if shipment is not None and not (shipment.is_delayed or shipment.is_stalled):
            return "no longer delayed"
        return None
    announced = TRIGGER_STATE.get(trigger)
    if announced is None or shipment is None or not shipment.shipment_state:
        return None
    current = Status(shipment.shipment_state)
    if current == announced:
        return None
    if current in FINISHED_STATES or _news_rank(current) > _news_rank(announced):
        return f"shipment already {current.value}"
    return None


def _news_rank(status: Status) -> int:
    # "It shipped" is still news while the parcel is merely in transit; only a later message supersedes it.
    if status in (Status.SHIPPED, Status.IN_TRANSIT, Status.DELAYED):
        return 1
    return step_index(status)


# The shop's per-order daily limit is a storm guard, not a frequency cap: it holds back only news that can repeat
# for one order in a day, once per parcel of a split order or again on a flapping carrier feed (in transit, a
# failed attempt, a delay, an exception). Milestones (confirmed, shipped, out for delivery, delivered, ready for
# pickup, cancelled), returns, surveys, review requests and replies are never held by it: a same-day delivery
# once lost its "delivered" message to a limit of four.
STORM_GUARDED_TRIGGERS = frozenset({"in_transit", "attempted_delivery", "delayed", "exception"})

# The one place a message's category is said. "transactional": what the shopper asked for or must know (status
# updates, returns, a survey about their delivery, a review request or reply), never held by the marketing cap and
# never delayed by marketing; "marketing" (follow-up flows) needs marketing consent on its channel; "content"
# (the product content library: product information about what the shopper bought) needs only that they have
# not opted out. Marketing and content share one per-shopper cap across channels plus quiet hours on every
# channel. A trigger not named here is transactional; a feature that adds a marketing or content trigger adds
# it here.
MARKETING = "marketing"
CONTENT = "content"
TRANSACTIONAL = "transactional"
MESSAGE_CATEGORY: dict[str, str] = {
    "flow_step": MARKETING,
    "product_content": CONTENT,
}
CAPPED_CATEGORIES = frozenset({MARKETING, CONTENT})

# The shop's marketing cap when it set none: at most one a day and three a week per shopper, all channels.
DEFAULT_MARKETING_PER_DAY = 1
DEFAULT_MARKETING_PER_WEEK = 3
MAX_MARKETING_PER_DAY = 10
MAX_MARKETING_PER_WEEK = 50
MARKETING_DAY = timedelta(days=1)
MARKETING_WEEK = timedelta(days=7)


def message_category(trigger: str) -> str:
    return MESSAGE_CATEGORY.get(trigger, TRANSACTIONAL)


def is_marketing(trigger: str) -> bool:
    """Whether a message is marketing or content: the shopper's cap and quiet hours on every channel."""
    return message_category(trigger) in CAPPED_CATEGORIES


def needs_marketing_consent(trigger: str) -> bool:
    """Whether the shopper must have said yes to marketing on the channel (content needs only no opt-out)."""
    return message_category(trigger) == MARKETING


def capped_triggers() -> tuple[str, ...]:
    """Every trigger the per-shopper marketing cap counts."""
    return tuple(sorted(trigger for trigger, category in MESSAGE_CATEGORY.items() if category in CAPPED_CATEGORIES))


def shopper_key(email: str | None, shopify_customer_id: int | None) -> str | None:
    """Who a marketing message goes to, whatever the channel: the shopper's email, else their customer id."""
    address = (email or "").strip().lower()
    if address:
        return address[:320]
    return f"customer:{shopify_customer_id}" if shopify_customer_id else None


def marketing_limits(settings: NotificationSettings) -> tuple[int, int]:
    return (
        settings.marketing_per_day or DEFAULT_MARKETING_PER_DAY,
        settings.marketing_per_week or DEFAULT_MARKETING_PER_WEEK,
    )


def marketing_release(
    sent_day: int,
    sent_week: int,
    oldest_in_day: datetime | None,
    oldest_in_week: datetime | None,
    settings: NotificationSettings,
    now: datetime,
) -> tuple[datetime, str] | None:
    """None while the shopper's marketing cap has room; else (when a place frees, the reason it is held)."""
    per_day, per_week = marketing_limits(settings)
    if sent_week >= per_week:
        release = (oldest_in_week or now) + MARKETING_WEEK
        return max(release, now + timedelta(minutes=1)), f"marketing cap: {per_week} a week per shopper reached"
    if sent_day >= per_day:
        release = (oldest_in_day or now) + MARKETING_DAY
        return max(release, now + timedelta(minutes=1)), f"marketing cap: {per_day} a day per shopper reached"
    return None


# Transactional product information (how to get started with what arrived, how to care for it): no marketing
# consent needed, an opt-out respected like any update.
CONTENT_TRIGGERS = frozenset(trigger for trigger, category in MESSAGE_CATEGORY.items() if category == CONTENT)


def is_storm_guarded(trigger: str) -> bool:
    """Whether a message counts towards, and is held by, the shop's per-order daily storm guard."""
    return trigger in STORM_GUARDED_TRIGGERS


def storm_guard_reached(sent: int, settings: NotificationSettings) -> bool:
    """`sent`: the order's storm-guarded messages on this channel in the last 24 hours."""
    return sent >= (settings.max_per_order_per_day or 4)


def too_old(event_at: datetime | None, now: datetime, settings: NotificationSettings) -> str | None:
    """None when the event is recent enough to tell the shopper; otherwise why not ("too old: ...").

    The horizon is the shop's `message_horizon_hours` (default 72): installing on a shop with history,
    reconciliation, a replay or a late redelivery must never mail shoppers about the past. A message
    without an event time (none recorded) is not held back by it."""
    if event_at is None:
        return None
    hours = settings.message_horizon_hours or DEFAULT_HORIZON_HOURS
    if now - event_at <= timedelta(hours=hours):
        return None
    return f"too old: the event happened {event_at:%Y-%m-%d %H:%M} UTC, more than {hours} hours before"
