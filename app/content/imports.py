"""Importing content from a product metafield (Shopify's standard `descriptors.care_guide` by default): every
product with a value becomes, or updates, one care entry of that product (English text; the merchant adds Thai)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.content.models import ContentEntry
from app.shopify.graphql import AdminClient, GraphQLError

DEFAULT_METAFIELD = "descriptors.care_guide"
PAGE_SIZE = 50
MAX_PAGES = 40  # 2,000 products a run

PRODUCTS_WITH_METAFIELD = """
query ContentImport($first: Int!, $after: String, $namespace: String!, $key: String!) {
  products(first: $first, after: $after) {
    nodes { id title metafield(namespace: $namespace, key: $key) { value type } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


class ImportFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _legacy_id(gid: str) -> str | None:
    tail = str(gid).rsplit("/", 1)[-1]
    return tail if tail.isdigit() else None


def _text(metafield: dict[str, Any] | None) -> str:
    """A metafield's value as plain text: multi-line text as is; rich text's leaves joined by paragraph."""
    if not metafield or not isinstance(metafield.get("value"), str):
        return ""
    value = metafield["value"].strip()
    if metafield.get("type") == "rich_text_field":
        try:
            tree = json.loads(value)
        except ValueError:
            return ""
        paragraphs: list[str] = []

        def walk(node: Any, into: list[str]) -> None:
            if isinstance(node, dict):
                if node.get("type") == "text" and isinstance(node.get("value"), str):
                    into.append(node["value"])
                for child in node.get("children") or []:
                    walk(child, into)

        for block in tree.get("children") or []:
            words: list[str] = []
            walk(block, words)
            if "".join(words).strip():
                paragraphs.append("".join(words).strip())
        return "\n".join(paragraphs)
    return value


def import_from_metafield(session: Session, shop_id: int, metafield: str, delay_days: int) -> int:
    """Create or update one care entry per product whose metafield has a value; returns how many. Raises
    ImportFailed with Shopify's reason. Does not commit."""
    namespace, key = metafield.split(".", 1)
    source = f"metafield:{metafield}"
    existing = {
        entry.scope_value: entry
        for entry in session.execute(
            select(ContentEntry).where(ContentEntry.shop_id == shop_id, ContentEntry.source == source)
        ).scalars()
    }
    count = 0
    after = None
    try:
        with AdminClient(shop_id) as client:
            for _ in range(MAX_PAGES):
                data = client.execute(
                    PRODUCTS_WITH_METAFIELD,
                    {"first": PAGE_SIZE, "after": after, "namespace": namespace, "key": key},
                )
                page = data.get("products") or {}
                for node in page.get("nodes") or []:
                    product_id = _legacy_id(node.get("id", ""))
                    body = _text(node.get("metafield"))[:5000]
                    if not product_id or not body:
                        continue
                    title = str(node.get("title") or "")[:200]
                    entry = existing.get(product_id)
                    if entry is None:
                        entry = ContentEntry(
                            shop_id=shop_id, kind="care", scope="product", scope_value=product_id, source=source
                        )
                        session.add(entry)
                        existing[product_id] = entry
                    texts = dict(entry.texts or {})
                    texts["en"] = {"title": title, "body": body}
                    entry.texts = texts
                    entry.delay_days = delay_days
                    entry.is_active = True
                    count += 1
                info = page.get("pageInfo") or {}
                if not info.get("hasNextPage"):
                    break
                after = info.get("endCursor")
    except GraphQLError as exc:
        raise ImportFailed(str(exc)[:200]) from exc
    session.flush()
    return count
