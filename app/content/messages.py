"""What other features show of the content library: what a content message says, and the content on the delivered
tracking page. Imports no other feature (notifications and tracking import this)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.models import ContentEntry, ContentRelease
from app.validation import web_url


def _texts(entry: ContentEntry, locale: str) -> dict[str, str]:
    """The entry's words in the shopper's language, else in English, else in the language it has."""
    texts = entry.texts or {}
    return texts.get(locale) or texts.get("en") or next(iter(texts.values()), {"title": "", "body": ""})


def _shown(entry: ContentEntry, locale: str) -> dict[str, Any]:
    words = _texts(entry, locale)
    return {
        "kind": entry.kind,
        "title": words.get("title") or "",
        "body": words.get("body") or "",
        "paragraphs": [p.strip() for p in (words.get("body") or "").split("\n") if p.strip()],
        "video_url": web_url(entry.video_url),
    }


def content_message_facts(session: Session, shop_id: int, entry_id: int, locale: str) -> dict[str, Any]:
    """For a content message: its title, text and video link in the shopper's language. Empty when the entry is not
    the shop's (or was deleted)."""
    entry = session.execute(
        select(ContentEntry).where(ContentEntry.id == entry_id, ContentEntry.shop_id == shop_id)
    ).scalar_one_or_none()
    if entry is None:
        return {}
    shown = _shown(entry, locale)
    return {
        "content_title": shown["title"],
        "content_body": shown["body"],
        "content_video_url": shown["video_url"],
        "content_kind": entry.kind,
    }


# Order states in which the page shows the questions and answers released for it (the parcel has shipped).
FAQ_ORDER_STATES = frozenset(
    {"shipped", "in_transit", "out_for_delivery", "ready_for_pickup", "delivered", "delayed", "attempted_delivery"}
)
_KIND_ORDER = {"getting_started": 0, "care": 1, "faq": 2}


def tracking_page_content(session: Session, shop_id: int, order: Any, locale: str) -> list[dict[str, Any]]:
    """The content released for the order for its tracking page: once delivered, everything (getting started
    first, the questions and answers last); from shipping until then, only the questions and answers."""
    if order is None or order.status not in FAQ_ORDER_STATES:
        return []
    query = (
        select(ContentEntry)
        .join(ContentRelease, ContentRelease.entry_id == ContentEntry.id)
        .where(
            ContentRelease.shop_id == shop_id,
            ContentRelease.shopify_order_id == order.shopify_order_id,
            ContentRelease.status == "released",
            ContentEntry.shop_id == shop_id,
            ContentEntry.is_active.is_(True),
        )
        .order_by(ContentEntry.id)
    )
    if order.status != "delivered":
        query = query.where(ContentEntry.kind == "faq")
    entries = sorted(session.execute(query).scalars().all(), key=lambda entry: _KIND_ORDER.get(entry.kind, 9))
    return [_shown(entry, locale) for entry in entries]
