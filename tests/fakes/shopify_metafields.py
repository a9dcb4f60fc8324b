"""The metafields part of the fake Admin API: the `metafieldsSet` and `metafieldsDelete` mutations, checked as
Shopify checks them.

- at most 25 inputs, each with ownerId, namespace, key, type and value (value always a string);
- the standard product review definitions: `reviews.rating` must be type `rating` whose value is JSON
  {"value", "scale_min", "scale_max"} with the value inside the scale; `reviews.rating_count` must be
  `number_integer` and not negative;
- the owner must be a product the fake knows (`FakeShopify.shop(domain).products`, or any when none are set);
- any invalid input fails the whole call with `userErrors` (field, message, code) and sets nothing.
Set values are stored on the shop (`metafields[(owner, namespace, key)] = {"type", "value"}`).

`metafieldsDelete(metafields: [MetafieldIdentifierInput!]!)` (shopify.dev, Admin GraphQL): each input an
ownerId, namespace and key; answers `deletedMetafields` ([MetafieldIdentifier]: ownerId, namespace, key) in the
order asked, `null` for one that did not exist (still a success), and `userErrors` ([UserError]: field, message;
no code on the Admin API's plain UserError) for a blank part or an owner the fake does not know, deleting
nothing then. At least one identifier is required.
"""

from __future__ import annotations

import json
from typing import Any

MUTATION_FIELDS = frozenset({"metafieldsSet", "metafieldsDelete"})
STANDARD_TYPES = {("reviews", "rating"): "rating", ("reviews", "rating_count"): "number_integer"}


def _error(index: int, field: str, message: str, code: str = "INVALID_VALUE") -> dict[str, Any]:
    return {"field": ["metafields", str(index), field], "message": message, "code": code}


def _check(index: int, item: dict[str, Any], known_products: set[str] | None) -> list[dict[str, Any]]:
    for name in ("ownerId", "namespace", "key", "type", "value"):
        if not isinstance(item.get(name), str) or not item[name]:
            return [_error(index, name, f"{name} can't be blank", "BLANK")]
    owner, namespace, key, kind, value = (item[n] for n in ("ownerId", "namespace", "key", "type", "value"))
    if not owner.startswith("gid://shopify/Product/") or (known_products is not None and owner not in known_products):
        return [_error(index, "ownerId", "Owner does not exist", "INVALID")]
    wanted = STANDARD_TYPES.get((namespace, key))
    if wanted and kind != wanted:
        return [_error(index, "type", f"Type must be {wanted} for the standard definition", "INVALID_TYPE")]
    if kind == "rating":
        try:
            rating = json.loads(value)
            low, high, score = float(rating["scale_min"]), float(rating["scale_max"]), float(rating["value"])
        except (ValueError, KeyError, TypeError):
            return [_error(index, "value", "Value must be a rating with value, scale_min and scale_max")]
        if not low <= score <= high:
            return [_error(index, "value", f"Value must be between {low} and {high}")]
    if kind == "number_integer":
        if not value.lstrip("-").isdigit() or int(value) < 0:
            return [_error(index, "value", "Value must be a non-negative integer")]
    return []


def metafields_set(shop: Any, args: dict[str, Any]) -> dict[str, Any]:
    inputs = args.get("metafields") or []
    if len(inputs) > 25:
        return {
            "metafields": None,
            "userErrors": [_error(0, "metafields", "Exceeded the maximum of 25", "LESS_THAN_OR_EQUAL_TO")],
        }
    errors = []
    for index, item in enumerate(inputs):
        errors += _check(index, item if isinstance(item, dict) else {}, shop.known_products)
    if errors:
        return {"metafields": None, "userErrors": errors}
    written = []
    for item in inputs:
        shop.metafields[(item["ownerId"], item["namespace"], item["key"])] = {
            "type": item["type"],
            "value": item["value"],
        }
        written.append(
            {"key": item["key"], "namespace": item["namespace"], "value": item["value"], "type": item["type"]}
        )
    return {"metafields": written, "userErrors": []}


def metafields_delete(shop: Any, args: dict[str, Any]) -> dict[str, Any]:
    inputs = args.get("metafields") or []
    if not inputs:
        return {"deletedMetafields": None, "userErrors": [{"field": ["metafields"], "message": "can't be blank"}]}
    errors = []
    for index, item in enumerate(inputs):
        item = item if isinstance(item, dict) else {}
        parts = ("ownerId", "namespace", "key")
        blank = next((n for n in parts if not isinstance(item.get(n), str) or not item[n]), None)
        if blank:
            errors.append({"field": ["metafields", str(index), blank], "message": f"{blank} can't be blank"})
            continue
        owner = item["ownerId"]
        known = shop.known_products
        if not owner.startswith("gid://shopify/Product/") or (known is not None and owner not in known):
            errors.append({"field": ["metafields", str(index), "ownerId"], "message": "Owner does not exist"})
    if errors:
        return {"deletedMetafields": None, "userErrors": errors}
    deleted: list[dict[str, str] | None] = []
    for item in inputs:
        identifier = (item["ownerId"], item["namespace"], item["key"])
        if shop.metafields.pop(identifier, None) is None:
            deleted.append(None)
        else:
            deleted.append({"ownerId": identifier[0], "namespace": identifier[1], "key": identifier[2]})
    shop.deleted_metafield_calls.append([(i["ownerId"], i["namespace"], i["key"]) for i in inputs])
    return {"deletedMetafields": deleted, "userErrors": []}
