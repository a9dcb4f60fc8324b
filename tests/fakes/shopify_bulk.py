"""The catalogue and bulk-operations part of the fake Admin API (tests/fakes/shopify.py routes these here).

Implements, in Shopify's shapes: `bulkOperationRunQuery(query:)` (the inner query is parsed; one query
operation per shop at a time, else a `userErrors` entry as Shopify gives), `currentBulkOperation(type:)`
(CREATED -> RUNNING -> COMPLETED over a few polls, `objectCount` as a string, `url` when done), and the
result file itself: JSONL served by GET from the fake's origin (as Shopify's signed storage URL would be),
one line per object, nested connection nodes on their own lines carrying `__parentId`.
"""

from __future__ import annotations

import json
from typing import Any

QUERY_FIELDS = frozenset({"currentBulkOperation"})
MUTATION_FIELDS = frozenset({"bulkOperationRunQuery"})
RESULTS_PATH = "/bulk-results/"
PRODUCT_CHILD_TYPES = {"variants": "ProductVariant", "collections": "Collection"}


class BulkState:
    """Products (GraphQL Product nodes with `variants` and `collections` lists) and bulk operations."""

    def __init__(self) -> None:
        self.products: dict[str, dict[str, Any]] = {}
        self.operations: list[dict[str, Any]] = []
        # How many status polls an operation answers RUNNING before it completes.
        self.polls_before_done = 1
        self.fail_with: str | None = None  # e.g. "INTERNAL_SERVER_ERROR": the next export ends FAILED


def product_node(
    product_id: int,
    title: str,
    *,
    product_type: str = "Tops",
    sizes: list[str] | None = None,
    price: str = "390.00",
    available: bool = True,
    status: str = "ACTIVE",
    published: bool = True,
    collections: list[tuple[int, str]] | None = None,
    updated_at: str = "2026-10-01T03:00:00Z",
) -> dict[str, Any]:
    sizes = sizes or ["One size"]
    return {
        "id": f"gid://shopify/Product/{product_id}",
        "legacyResourceId": str(product_id),
        "title": title,
        "handle": title.lower().replace(" ", "-"),
        "productType": product_type,
        "vendor": "Demo",
        "status": status,
        "publishedAt": "2026-10-01T03:00:00Z" if published else None,
        "tags": ["summer"],
        "updatedAt": updated_at,
        "featuredImage": {"url": f"https://cdn.shopify.com/s/files/{product_id}.jpg"},
        "options": [{"name": "Size", "position": 1}],
        "variants": [
            {
                "id": f"gid://shopify/ProductVariant/{product_id * 100 + i}",
                "legacyResourceId": str(product_id * 100 + i),
                "title": size,
                "sku": f"SKU-{product_id}-{size}",
                "position": i,
                "price": price,
                "availableForSale": available,
                "selectedOptions": [{"name": "Size", "value": size}],
                "image": None,
            }
            for i, size in enumerate(sizes, start=1)
        ],
        "collections": [
            {"id": f"gid://shopify/Collection/{cid}", "legacyResourceId": str(cid), "title": ctitle}
            for cid, ctitle in collections or []
        ],
    }


def _edge_node(conn: Any) -> Any | None:
    for child in conn.selections or []:
        if child.name == "nodes":
            return child
        if child.name == "edges":
            for edge_child in child.selections or []:
                if edge_child.name == "node":
                    return edge_child
    return None


def _jsonl(fake: Any, shop: Any, source: str) -> bytes:
    from tests.fakes.shopify import Field, _error, _GraphQLErrors, _resolve, parse

    operation = parse(source)
    if operation.kind != "query" or len(operation.selections) != 1 or operation.selections[0].name != "products":
        raise _GraphQLErrors([_error("The fake exports products only")])
    node = _edge_node(operation.selections[0])
    if node is None:
        raise _GraphQLErrors([_error("Bulk queries must contain at least one connection.")])

    def args_of(f: Any) -> dict[str, Any]:
        return _resolve(f.args, {}, operation.defaults)

    connections = [c for c in node.selections or [] if _edge_node(c) is not None]
    plain = Field(node.name, None, {}, [c for c in node.selections or [] if _edge_node(c) is None])
    lines = []
    for product in shop.bulk_state.products.values():
        lines.append(fake._project(product, plain, "Product", args_of))
        for conn in connections:
            child_node = _edge_node(conn)
            for item in product.get(conn.name) or []:
                line = fake._project(item, child_node, PRODUCT_CHILD_TYPES.get(conn.name, "Node"), args_of)
                line["__parentId"] = product["id"]
                lines.append(line)
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def execute(fake: Any, shop: Any, kind: str, f: Any, args: dict[str, Any], args_of: Any) -> Any:
    state: BulkState = shop.bulk_state
    if kind == "mutation":
        running = next((op for op in state.operations if op["status"] in ("CREATED", "RUNNING")), None)
        if running is not None:
            payload = {
                "bulkOperation": None,
                "userErrors": [
                    {
                        "field": None,
                        "message": "A bulk query operation for this app and shop is already in progress: "
                        f"{running['id']}.",
                    }
                ],
            }
            return fake._project(payload, f, "BulkOperationRunQueryPayload", args_of)
        number = len(state.operations) + 1
        operation = {
            "id": f"gid://shopify/BulkOperation/{number}",
            "status": "CREATED",
            "errorCode": None,
            "objectCount": "0",
            "url": None,
            "partialDataUrl": None,
            "_body": _jsonl(fake, shop, str(args.get("query") or "")),
            "_polls": state.polls_before_done,
            "_fail": state.fail_with,
        }
        state.operations.append(operation)
        return fake._project({"bulkOperation": operation, "userErrors": []}, f, "BulkOperationRunQueryPayload", args_of)
    if not state.operations:
        return None
    operation = state.operations[-1]
    if operation["status"] in ("CREATED", "RUNNING"):
        lines = operation["_body"].count(b"\n")
        if operation["_polls"] > 0:
            operation["_polls"] -= 1
            operation["status"] = "RUNNING"
            operation["objectCount"] = str(lines // 2)
        elif operation["_fail"]:
            operation["status"], operation["errorCode"] = "FAILED", operation["_fail"]
        else:
            operation["status"] = "COMPLETED"
            operation["objectCount"] = str(lines)
            number = operation["id"].rsplit("/", 1)[-1]
            operation["url"] = f"{fake.origin}{RESULTS_PATH}{shop.domain}/{number}.jsonl" if lines else None
    return fake._project(operation, f, "BulkOperation", args_of)


def results_file(fake: Any, path: str) -> bytes | None:
    """The JSONL of a completed export, or None (404) for anything else."""
    try:
        domain, name = path[len(RESULTS_PATH) :].split("/", 1)
        number = int(name.removesuffix(".jsonl"))
    except ValueError:
        return None
    shop = fake.shops.get(domain)
    if shop is None or not 0 < number <= len(shop.bulk_state.operations):
        return None
    operation = shop.bulk_state.operations[number - 1]
    return operation["_body"] if operation["status"] == "COMPLETED" else None
