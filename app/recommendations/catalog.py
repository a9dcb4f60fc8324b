"""The catalogue: products/create|update|delete webhooks and the initial bulk sync (bulk operations, JSONL).

Both sources are normalised to one shape and land in the same upsert, keyed by Shopify ids with the
product's `updated_at` deciding between versions, so webhooks and a sync in any order converge. A deleted
product leaves a tombstone so a late update cannot bring it back.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import dialect_insert, utcnow
from app.orders.services import PayloadError, parse_timestamp
from app.recommendations.models import CatalogCollection, CatalogProduct, CatalogSync, CatalogVariant

log = logging.getLogger(__name__)

_SIZE_OPTION = re.compile(r"size|ขนาด|ไซ[ซส]์", re.IGNORECASE)
IMPORT_BATCH = 200

# One line per product, variant and collection membership; children carry `__parentId` (bulk operations).
BULK_PRODUCTS_QUERY = """
{
  products {
    edges {
      node {
        id
        legacyResourceId
        title
        handle
        productType
        vendor
        status
        publishedAt
        tags
        updatedAt
        featuredImage { url }
        options { name position }
        variants {
          edges {
            node {
              id
              legacyResourceId
              title
              sku
              position
              price
              availableForSale
              selectedOptions { name value }
              image { url }
            }
          }
        }
        collections {
          edges {
            node { id legacyResourceId title }
          }
        }
      }
    }
  }
}
"""

RUN_BULK_QUERY = """
mutation RunCatalogExport($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

CURRENT_BULK_OPERATION = """
query CatalogExportStatus {
  currentBulkOperation(type: QUERY) { id status errorCode objectCount url partialDataUrl }
}
"""


class BulkSyncError(RuntimeError):
    """The bulk operation could not be started or ended without data (permanent for this sync)."""


def _price(raw: Any) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):  # MoneyV2
        raw = raw.get("amount")
    try:
        return Decimal(str(raw))
    except InvalidOperation as exc:
        raise PayloadError(f"bad price {raw!r}") from exc


def _int_id(value: Any) -> int | None:
    text = str(value or "")
    if text.startswith("gid://"):
        text = text.rsplit("/", 1)[-1]
    return int(text) if text.isdigit() else None


def _tags(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(t).strip() for t in raw if str(t).strip()]
    return [t.strip() for t in str(raw or "").split(",") if t.strip()]


def _size_option(option_names: list[tuple[int, str]]) -> int | None:
    for position, name in option_names:
        if _SIZE_OPTION.search(name or "") and 1 <= position <= 3:
            return position
    return None


def product_from_rest(payload: dict[str, Any]) -> dict[str, Any]:
    """A products/create|update webhook body (REST shape) in our normalised form. Raises PayloadError."""
    if not isinstance(payload, dict):
        raise PayloadError("product payload is not an object")
    product_id = _int_id(payload.get("id"))
    if product_id is None:
        raise PayloadError("product payload has no usable 'id'")
    images = {img.get("id"): img.get("src") for img in payload.get("images") or [] if isinstance(img, dict)}
    featured = (payload.get("image") or {}).get("src") if isinstance(payload.get("image"), dict) else None
    variants = []
    for raw in payload.get("variants") or []:
        variant_id = _int_id(raw.get("id"))
        if variant_id is None:
            continue
        quantity = raw.get("inventory_quantity")
        tracked = raw.get("inventory_management") not in (None, "")
        available = (
            not tracked or raw.get("inventory_policy") == "continue" or (isinstance(quantity, int) and quantity > 0)
        )
        variants.append(
            {
                "shopify_variant_id": variant_id,
                "title": raw.get("title"),
                "sku": raw.get("sku"),
                "position": int(raw.get("position") or 1),
                "option1": raw.get("option1"),
                "option2": raw.get("option2"),
                "option3": raw.get("option3"),
                "price": _price(raw.get("price")),
                "image_url": images.get(raw.get("image_id")),
                "is_available": bool(available),
            }
        )
    options = [
        (int(o.get("position") or i + 1), str(o.get("name") or "")) for i, o in enumerate(payload.get("options") or [])
    ]
    return {
        "shopify_product_id": product_id,
        "title": str(payload.get("title") or "")[:255],
        "handle": payload.get("handle"),
        "product_type": (payload.get("product_type") or None),
        "vendor": payload.get("vendor"),
        "status": str(payload.get("status") or "active").lower(),
        "is_published": payload.get("published_at") not in (None, ""),
        "image_url": featured or (next(iter(images.values()), None)),
        "tags": _tags(payload.get("tags")),
        "size_option": _size_option(options),
        "shopify_updated_at": parse_timestamp(payload.get("updated_at")) or utcnow(),
        "variants": variants,
        "collection_ids": None,  # webhooks don't say; keep what the last sync found
    }


def product_from_bulk(
    node: dict[str, Any], variants: list[dict[str, Any]], collections: list[dict[str, Any]]
) -> dict[str, Any]:
    """A bulk-export product line with its variant and collection lines, in the normalised form."""
    product_id = _int_id(node.get("legacyResourceId") or node.get("id"))
    if product_id is None:
        raise PayloadError("bulk product line has no id")
    options = [
        (int(o.get("position") or i + 1), str(o.get("name") or "")) for i, o in enumerate(node.get("options") or [])
    ]
    names = [name for _, name in sorted(options)]
    normalised_variants = []
    for raw in variants:
        variant_id = _int_id(raw.get("legacyResourceId") or raw.get("id"))
        if variant_id is None:
            continue
        values = {o.get("name"): o.get("value") for o in raw.get("selectedOptions") or []}
        option_values = [values.get(name) for name in names] + [None, None, None]
        normalised_variants.append(
            {
                "shopify_variant_id": variant_id,
                "title": raw.get("title"),
                "sku": raw.get("sku"),
                "position": int(raw.get("position") or 1),
                "option1": option_values[0],
                "option2": option_values[1],
                "option3": option_values[2],
                "price": _price(raw.get("price")),
                "image_url": (raw.get("image") or {}).get("url"),
                "is_available": bool(raw.get("availableForSale", True)),
            }
        )
    return {
        "shopify_product_id": product_id,
        "title": str(node.get("title") or "")[:255],
        "handle": node.get("handle"),
        "product_type": node.get("productType") or None,
        "vendor": node.get("vendor"),
        "status": str(node.get("status") or "ACTIVE").lower(),
        "is_published": node.get("publishedAt") not in (None, ""),
        "image_url": (node.get("featuredImage") or {}).get("url"),
        "tags": _tags(node.get("tags")),
        "size_option": _size_option(options),
        "shopify_updated_at": parse_timestamp(node.get("updatedAt")) or utcnow(),
        "variants": normalised_variants,
        "collection_ids": sorted(
            {cid for cid in (_int_id(c.get("legacyResourceId") or c.get("id")) for c in collections) if cid}
        ),
        "collection_titles": {_int_id(c.get("legacyResourceId") or c.get("id")): c.get("title") for c in collections},
    }


def upsert_product(session: Session, shop_id: int, product: dict[str, Any]) -> bool:
    """Store a normalised product with its variants unless what we hold is newer or deleted.

    Key: (shop_id, shopify_product_id); `shopify_updated_at` decides between versions; a tombstone wins.
    Returns True when the product was written.
    """
    variants = product["variants"]
    prices = [v["price"] for v in variants if v["price"] is not None]
    values = {
        "shop_id": shop_id,
        "shopify_product_id": product["shopify_product_id"],
        "title": product["title"],
        "handle": product["handle"],
        "product_type": product["product_type"],
        "vendor": product["vendor"],
        "status": product["status"],
        "is_published": product["is_published"],
        "is_available": any(v["is_available"] for v in variants),
        "image_url": product["image_url"] or next((v["image_url"] for v in variants if v["image_url"]), None),
        "min_price": min(prices) if prices else None,
        "size_option": product["size_option"],
        "tags": product["tags"],
        "shopify_updated_at": product["shopify_updated_at"],
        "updated_at": utcnow(),
    }
    if product.get("collection_ids") is not None:
        values["collection_ids"] = product["collection_ids"]
    table = CatalogProduct.__table__
    stmt = dialect_insert(session, table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "shopify_product_id"],
        set_={c: stmt.excluded[c] for c in values if c not in ("shop_id", "shopify_product_id")},
        where=table.c.deleted_at.is_(None)
        & (table.c.shopify_updated_at.is_(None) | (table.c.shopify_updated_at <= stmt.excluded.shopify_updated_at)),
    )
    if session.execute(stmt.returning(table.c.id)).first() is None:
        return False
    _replace_variants(session, shop_id, product["shopify_product_id"], variants)
    if product.get("collection_ids") is not None:
        _replace_collections(session, shop_id, product)
    return True


def _replace_variants(session: Session, shop_id: int, product_id: int, variants: list[dict[str, Any]]) -> None:
    keep = [v["shopify_variant_id"] for v in variants]
    session.execute(
        delete(CatalogVariant).where(
            CatalogVariant.shop_id == shop_id,
            CatalogVariant.shopify_product_id == product_id,
            CatalogVariant.shopify_variant_id.not_in(keep) if keep else CatalogVariant.shopify_variant_id.is_not(None),
        )
    )
    table = CatalogVariant.__table__
    for variant in variants:
        row = {"shop_id": shop_id, "shopify_product_id": product_id, **variant}
        stmt = dialect_insert(session, table).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=["shop_id", "shopify_variant_id"],
            set_={c: stmt.excluded[c] for c in row if c not in ("shop_id", "shopify_variant_id")},
        )
        session.execute(stmt)


def _replace_collections(session: Session, shop_id: int, product: dict[str, Any]) -> None:
    product_id = product["shopify_product_id"]
    session.execute(
        delete(CatalogCollection).where(
            CatalogCollection.shop_id == shop_id, CatalogCollection.shopify_product_id == product_id
        )
    )
    titles = product.get("collection_titles") or {}
    for collection_id in product["collection_ids"]:
        session.add(
            CatalogCollection(
                shop_id=shop_id,
                shopify_collection_id=collection_id,
                shopify_product_id=product_id,
                title=(titles.get(collection_id) or None),
            )
        )


def delete_product(session: Session, shop_id: int, payload: dict[str, Any]) -> None:
    """products/delete (`{"id": ...}`): keep a tombstone so a late create/update cannot resurrect it."""
    product_id = _int_id((payload or {}).get("id")) if isinstance(payload, dict) else None
    if product_id is None:
        raise PayloadError("product delete payload has no usable 'id'")
    now = utcnow()
    table = CatalogProduct.__table__
    stmt = dialect_insert(session, table).values(
        shop_id=shop_id, shopify_product_id=product_id, title="", status="deleted", deleted_at=now, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["shop_id", "shopify_product_id"], set_={"deleted_at": now, "status": "deleted"}
    )
    session.execute(stmt)
    session.execute(
        delete(CatalogVariant).where(CatalogVariant.shop_id == shop_id, CatalogVariant.shopify_product_id == product_id)
    )


# --- bulk sync ----------------------------------------------------------------------------------------


def start_bulk_sync(session: Session, shop_id: int, client: Any) -> CatalogSync:
    """Ask Shopify to export the catalogue (bulkOperationRunQuery); the sync row records progress.

    Raises BulkSyncError on userErrors (e.g. an export already running), and the client's typed errors
    (Throttled, TransientError) for the job queue to retry.
    """
    from app.shopify.graphql import UserErrors

    try:
        payload = client.mutate(RUN_BULK_QUERY, {"query": BULK_PRODUCTS_QUERY}, "bulkOperationRunQuery")
    except UserErrors as exc:
        sync = CatalogSync(shop_id=shop_id, status="failed", error=str(exc), finished_at=utcnow())
        session.add(sync)
        session.commit()
        raise BulkSyncError(str(exc)) from exc
    operation = payload.get("bulkOperation") or {}
    sync = CatalogSync(shop_id=shop_id, status="running", bulk_operation_id=operation.get("id"))
    session.add(sync)
    session.commit()
    return sync


def poll_bulk_sync(
    session: Session,
    sync: CatalogSync,
    client: Any,
    *,
    download: Callable[[str], Iterable[str]] | None = None,
    on_progress: Callable[[CatalogSync], None] | None = None,
) -> str:
    """Check the export once; when it has completed, download and import it. Returns the sync's status."""
    if sync.status in ("completed", "failed", "importing"):
        return sync.status
    data = client.execute(CURRENT_BULK_OPERATION)
    operation = data.get("currentBulkOperation") or {}
    if operation.get("id") != sync.bulk_operation_id:
        return _fail(session, sync, "the export was replaced by another bulk operation")
    sync.object_count = int(operation.get("objectCount") or 0)
    status = operation.get("status")
    if status in ("CREATED", "RUNNING", "CANCELING"):
        session.commit()
        return sync.status
    if status != "COMPLETED":
        return _fail(session, sync, f"export ended {status}: {operation.get('errorCode') or 'no error code'}")
    url = operation.get("url")
    sync.status = "importing"
    session.commit()
    if url:  # an empty shop has no file
        try:
            import_jsonl(session, sync, (download or download_lines)(url), on_progress=on_progress)
        except Exception as exc:
            session.rollback()
            _fail(session, sync, f"import failed: {exc!r}"[:2000])
            raise
    sync.status = "completed"
    sync.finished_at = utcnow()
    session.commit()
    return sync.status


def _fail(session: Session, sync: CatalogSync, reason: str) -> str:
    sync.status, sync.error, sync.finished_at = "failed", reason, utcnow()
    session.commit()
    return sync.status


def download_lines(url: str) -> Iterator[str]:
    """Stream the JSONL result (a signed storage URL, not the Admin API: no token, no rate limit)."""
    with httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0)) as http, http.stream("GET", url) as response:
        response.raise_for_status()
        yield from response.iter_lines()


def import_jsonl(
    session: Session,
    sync: CatalogSync,
    lines: Iterable[str],
    *,
    on_progress: Callable[[CatalogSync], None] | None = None,
) -> int:
    """Import an export: parents come before their children, so a product is complete when the file ends
    (children are not guaranteed to follow their parent immediately). Commits every IMPORT_BATCH products."""
    products: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for raw in lines:
        if not raw.strip():
            continue
        line = json.loads(raw)
        sync.imported_lines += 1
        parent = line.get("__parentId")
        gid = str(line.get("id") or "")
        if parent is None and "/Product/" in gid:
            products[gid] = {"node": line, "variants": [], "collections": []}
            order.append(gid)
        elif parent in products and "/ProductVariant/" in gid:
            products[parent]["variants"].append(line)
        elif parent in products and "/Collection/" in gid:
            products[parent]["collections"].append(line)
    imported = 0
    for start in range(0, len(order), IMPORT_BATCH):
        for gid in order[start : start + IMPORT_BATCH]:
            entry = products[gid]
            try:
                normalised = product_from_bulk(entry["node"], entry["variants"], entry["collections"])
            except PayloadError as exc:
                log.warning("catalogue sync %s: skipped %s: %s", sync.id, gid, exc)
                continue
            upsert_product(session, sync.shop_id, normalised)
            imported += 1
        sync.imported_products = imported
        session.commit()
        if on_progress:
            on_progress(sync)
    return imported


def latest_sync(session: Session, shop_id: int) -> CatalogSync | None:
    return session.execute(
        select(CatalogSync).where(CatalogSync.shop_id == shop_id).order_by(CatalogSync.id.desc()).limit(1)
    ).scalar_one_or_none()
