"""Products with metafields in the fake Admin API: `products(first:, after:)` with `metafield(namespace:, key:)` on
each node (the content library's import reads Shopify's `descriptors.care_guide` this way).

Products live on `FakeShop.products` (GID -> {"id", "title", "metafields": {"namespace.key": {"value", "type"}}}).
Pages are keyset pages by id; `metafield` without both arguments is an error, as on Shopify."""

from __future__ import annotations

from typing import Any

QUERY_FIELDS = frozenset({"products"})


class ProductsError(Exception):
    pass


def _legacy(gid: str) -> int:
    return int(gid.rsplit("/", 1)[-1])


def products(shop: Any, field: Any, args: dict[str, Any], args_of: Any) -> dict[str, Any]:
    first = args.get("first")
    if not isinstance(first, int) or not 0 < first <= 250:
        raise ProductsError("The value of first must be between 1 and 250")
    nodes = sorted(shop.products.values(), key=lambda node: _legacy(node["id"]))
    after = args.get("after")
    if after:
        nodes = [node for node in nodes if _legacy(node["id"]) > int(after)]
    page, more = nodes[:first], len(nodes) > first
    result: dict[str, Any] = {}
    for child in field.selections or []:
        if child.name == "nodes":
            result[child.key] = [_node(node, child, args_of) for node in page]
        elif child.name == "pageInfo":
            info = {"hasNextPage": more, "endCursor": str(_legacy(page[-1]["id"])) if page else None}
            result[child.key] = {c.key: info[c.name] for c in child.selections or []}
        else:
            raise ProductsError(f"Field '{child.name}' doesn't exist on type 'ProductConnection'")
    return result


def _node(node: dict[str, Any], field: Any, args_of: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in field.selections or []:
        if child.name in ("id", "title"):
            out[child.key] = node[child.name]
        elif child.name == "metafield":
            args = args_of(child)
            if not args.get("namespace") or not args.get("key"):
                raise ProductsError("metafield needs namespace and key")
            found = (node.get("metafields") or {}).get(f"{args['namespace']}.{args['key']}")
            out[child.key] = None if found is None else {c.key: found[c.name] for c in child.selections or []}
        else:
            raise ProductsError(f"Field '{child.name}' doesn't exist on type 'Product'")
    return out
