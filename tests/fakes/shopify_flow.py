"""The Shopify Flow part of the fake Admin API: `flowTriggerReceive(handle:, payload:)`, checked as Shopify does.

- `handle` must name a trigger the app has deployed (`FakeShop.flow_triggers`, or any when None) and `payload`
  must be a JSON object; the deprecated `body` is refused next to them;
- a payload over 50 KB is refused with a userError, and nothing runs;
- an accepted call runs the shop's workflows: it is appended to `FakeShop.flow_runs` as (handle, payload).
Throttling is the fake's own leaky bucket (THROTTLED) and scripted 429s, as for every mutation.
"""

from __future__ import annotations

import json
from typing import Any

MUTATION_FIELDS = frozenset({"flowTriggerReceive"})
PAYLOAD_LIMIT = 50_000


def _error(field: str, message: str) -> dict[str, Any]:
    return {"userErrors": [{"field": [field], "message": message}]}


def flow_trigger_receive(shop: Any, args: dict[str, Any]) -> dict[str, Any]:
    handle, payload = args.get("handle"), args.get("payload")
    if args.get("body") is not None and (handle is not None or payload is not None):
        return _error("body", "body cannot be used with handle and payload")
    if not isinstance(handle, str) or not handle:
        return _error("handle", "Handle can't be blank")
    if shop.flow_triggers is not None and handle not in shop.flow_triggers:
        return _error("handle", f"Invalid handle '{handle}': no trigger with this handle")
    if not isinstance(payload, dict):
        return _error("payload", "Payload must be a JSON object")
    size = len(json.dumps(payload, ensure_ascii=False).encode())
    if size > PAYLOAD_LIMIT:
        return _error("payload", f"Payload is {size} bytes, which exceeds the limit of 50 KB")
    shop.flow_runs.append((handle, payload))
    return {"userErrors": []}
