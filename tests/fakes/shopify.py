"""A fake Shopify on 127.0.0.1: the OAuth token endpoint and the Admin GraphQL API, in Shopify's wire format.

What it implements, and checks, the way Shopify does (SHOPIFY-FACTS.md §3.2, §6.1):
- `POST /admin/oauth/access_token`: token exchange (client credentials, grant and token types, a
  session token signed with the app secret for the shop named by the Host header, `expiring: 1`)
  and the refresh grant (rotating refresh tokens; the previous one stays usable until its
  replacement is first used; unknown or expired ones get 400 `invalid_grant`).
- `POST /admin/api/<version>/graphql.json`: `X-Shopify-Access-Token` must be a live token of the
  shop in the Host header (401 otherwise); a real (small) GraphQL parser; fields are projected
  from the stored objects, so asking for a field that isn't there is an error, as it is on Shopify;
  a leaky bucket per shop with Shopify's cost rules (objects 1, connections 2 + first x node),
  `extensions.cost` on every answer, THROTTLED with HTTP 200 when the bucket can't cover a query,
  MAX_COST_EXCEEDED over 1000 points; scripted 429/5xx answers; `shop`, `orders` (keyset pages,
  UPDATED_AT sort, `updated_at:>=` search), `order(id:)` and the `tagsAdd` mutation; `flowTriggerReceive`
  (tests/fakes/shopify_flow.py) and `products` with metafields (tests/fakes/shopify_products.py).
Every request is recorded with the response it got, for tests to assert on.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest

from app.config import Settings
from tests.fakes import shopify_bulk, shopify_flow, shopify_metafields, shopify_products
from tests.fakes.shopify_returns import MUTATION_FIELDS as RETURNS_MUTATION_FIELDS
from tests.fakes.shopify_returns import QUERY_FIELDS as RETURNS_QUERY_FIELDS
from tests.fakes.shopify_returns import ReturnsState
from tests.fakes.shopify_returns import execute as execute_returns_field

TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"
ONLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:online-access-token"
INVALID_TOKEN_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
MAX_QUERY_COST = 1000
MUTATION_COST = 10
MAX_PAGE_SIZE = 250


# --- a small GraphQL parser: operations, fields, aliases, arguments, variables ---------------------


class GraphQLSyntaxError(ValueError):
    pass


_TOKEN_RE = re.compile(
    r"""
    (?P<skip>[\s,\ufeff]+|\#[^\n]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[{}()\[\]:!$=@|&])
  | (?P<string>"(?:\\.|[^"\\\n])*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Var:
    name: str


@dataclass
class Field:
    name: str
    alias: str | None
    args: dict[str, Any]
    selections: list[Field] | None

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Operation:
    kind: str
    name: str | None
    defaults: dict[str, Any]
    selections: list[Field]


def _tokenize(source: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(source):
        match = _TOKEN_RE.match(source, pos)
        if not match:
            raise GraphQLSyntaxError(f"Parse error on {source[pos]!r} at offset {pos}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "skip":
            tokens.append((kind, match.group()))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise GraphQLSyntaxError("Parse error: unexpected end of document")
        if (value is not None and token[1] != value) or (kind is not None and token[0] != kind):
            raise GraphQLSyntaxError(f"Parse error on {token[1]!r} (expected {value or kind})")
        self.pos += 1
        return token[1]

    def at(self, value: str) -> bool:
        token = self.peek()
        return token is not None and token[1] == value and token[0] != "string"

    def document(self) -> Operation:
        operation = self.operation()
        if self.peek() is not None:
            raise GraphQLSyntaxError("only one operation per document is supported by the fake")
        return operation

    def operation(self) -> Operation:
        if self.at("{"):
            return Operation("query", None, {}, self.selection_set())
        kind = self.take(kind="name")
        if kind not in ("query", "mutation"):
            raise GraphQLSyntaxError(f"Parse error on {kind!r}: expected query or mutation")
        name = self.take(kind="name") if self.peek() and self.peek()[0] == "name" else None  # type: ignore[index]
        defaults: dict[str, Any] = {}
        if self.at("("):
            self.take("(")
            while not self.at(")"):
                self.take("$")
                var = self.take(kind="name")
                self.take(":")
                self.type_ref()
                if self.at("="):
                    self.take("=")
                    defaults[var] = self.value(const=True)
            self.take(")")
        return Operation(kind, name, defaults, self.selection_set())

    def type_ref(self) -> None:
        if self.at("["):
            self.take("[")
            self.type_ref()
            self.take("]")
        else:
            self.take(kind="name")
        if self.at("!"):
            self.take("!")

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields = []
        while not self.at("}"):
            if self.at("..."):
                raise GraphQLSyntaxError("fragments are not supported by the fake")
            fields.append(self.field())
        self.take("}")
        if not fields:
            raise GraphQLSyntaxError("Parse error: empty selection set")
        return fields

    def field(self) -> Field:
        name = self.take(kind="name")
        alias = None
        if self.at(":"):
            self.take(":")
            alias, name = name, self.take(kind="name")
        args: dict[str, Any] = {}
        if self.at("("):
            self.take("(")
            while not self.at(")"):
                arg = self.take(kind="name")
                self.take(":")
                args[arg] = self.value()
            self.take(")")
        selections = self.selection_set() if self.at("{") else None
        return Field(name, alias, args, selections)

    def value(self, const: bool = False) -> Any:
        token = self.peek()
        if token is None:
            raise GraphQLSyntaxError("Parse error: unexpected end of document")
        kind, text = token
        if kind == "punct" and text == "$" and not const:
            self.take("$")
            return Var(self.take(kind="name"))
        if kind == "string":
            self.pos += 1
            return json.loads(text)
        if kind == "number":
            self.pos += 1
            return float(text) if any(c in text for c in ".eE") else int(text)
        if kind == "name":
            self.pos += 1
            return {"true": True, "false": False, "null": None}.get(text, text)
        if text == "[":
            self.take("[")
            items = []
            while not self.at("]"):
                items.append(self.value(const))
            self.take("]")
            return items
        if text == "{":
            self.take("{")
            obj = {}
            while not self.at("}"):
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value(const)
            self.take("}")
            return obj
        raise GraphQLSyntaxError(f"Parse error on {text!r}")


def parse(source: str) -> Operation:
    return _Parser(source).document()


def _resolve(value: Any, variables: dict[str, Any], defaults: dict[str, Any]) -> Any:
    if isinstance(value, Var):
        return variables.get(value.name, defaults.get(value.name))
    if isinstance(value, list):
        return [_resolve(v, variables, defaults) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, variables, defaults) for k, v in value.items()}
    return value


# --- the Admin API's cost rules -------------------------------------------------------------------

# Fields that are Relay connections (first/last, nodes/edges/pageInfo) in the Admin API.
CONNECTION_FIELDS = frozenset(
    {
        "orders",
        "lineItems",
        "fulfillmentLineItems",
        # returns (tests/fakes/shopify_returns.py)
        "returns",
        "returnLineItems",
        "exchangeLineItems",
        "reverseFulfillmentOrders",
        "returnableFulfillmentLineItems",
    }
)
# Child object types, for error messages that name the type as Shopify does.
CHILD_TYPES = {
    "deletedMetafields": "MetafieldIdentifier",
    "customer": "Customer",
    "defaultEmailAddress": "CustomerEmailAddress",
    "defaultPhoneNumber": "CustomerPhoneNumber",
    "lineItems": "LineItem",
    "lineItem": "LineItem",
    "fulfillmentLineItems": "FulfillmentLineItem",
    "shippingAddress": "MailingAddress",
    "shippingLine": "ShippingLine",
    "fulfillments": "Fulfillment",
    "trackingInfo": "FulfillmentTrackingInfo",
    "currentTotalPriceSet": "MoneyBag",
    "originalUnitPriceSet": "MoneyBag",
    "shopMoney": "MoneyV2",
    "variant": "ProductVariant",
    "product": "Product",
    "pageInfo": "PageInfo",
    "node": "Order",
}


def _node_selections(conn: Field) -> list[Field]:
    selections: list[Field] = []
    for child in conn.selections or []:
        if child.name == "nodes":
            selections.extend(child.selections or [])
        elif child.name == "edges":
            for edge_child in child.selections or []:
                if edge_child.name == "node":
                    selections.extend(edge_child.selections or [])
    return selections


def requested_cost(fields: list[Field], args_of: Any) -> int:
    """Shopify's static cost: scalars 0, objects 1, connections 2 + first x (node cost), lists n x item."""
    total = 0
    for f in fields:
        if f.selections is None or f.name in ("pageInfo", "__typename"):
            continue
        args = args_of(f)
        if f.name in CONNECTION_FIELDS:
            size = int(args.get("first") or args.get("last") or 0)
            total += 2 + size * (1 + requested_cost(_node_selections(f), args_of))
        else:
            size = int(args.get("first") or 1)
            total += size * (1 + requested_cost(f.selections, args_of))
    return total


def _actual_cost(data: Any) -> int:
    """What was really returned: 1 per object (page info and edge wrappers free)."""
    if isinstance(data, list):
        return sum(_actual_cost(item) for item in data)
    if isinstance(data, dict):
        own = 0 if ("hasNextPage" in data or "node" in data) else 1
        return own + sum(_actual_cost(v) for v in data.values())
    return 0


@dataclass
class Bucket:
    maximum: float = 2000.0
    available: float = 2000.0
    restore_rate: float = 100.0
    updated: float = field(default_factory=time.monotonic)

    def refill(self) -> None:
        now = time.monotonic()
        self.available = min(self.maximum, self.available + (now - self.updated) * self.restore_rate)
        self.updated = now

    def status(self) -> dict[str, Any]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": int(self.available),
            "restoreRate": self.restore_rate,
        }


# --- per-shop state -------------------------------------------------------------------------------


@dataclass
class RefreshGrant:
    expires_at: float
    predecessor: str | None = None


@dataclass
class FakeShop:
    domain: str
    name: str
    scopes: str
    access_tokens: dict[str, float | None] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    bucket: Bucket = field(default_factory=Bucket)
    scripted: deque[list[Any]] = field(default_factory=deque)
    returns_state: ReturnsState = field(default_factory=ReturnsState)
    bulk_state: shopify_bulk.BulkState = field(default_factory=shopify_bulk.BulkState)
    # Metafields set with metafieldsSet, by (owner GID, namespace, key); known_products limits the owners.
    metafields: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    # Each metafieldsDelete call that deleted (or found nothing to delete): the identifiers asked for.
    deleted_metafield_calls: list[list[tuple[str, str, str]]] = field(default_factory=list)
    known_products: set[str] | None = None
    # Shopify Flow: the trigger handles the app has deployed (None: any) and each accepted flowTriggerReceive.
    flow_triggers: set[str] | None = None
    flow_runs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Products with their metafields, for `products { nodes { metafield(namespace:, key:) } }`.
    products: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Recorded:
    method: str
    path: str
    host: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    response: Any = None

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class _GraphQLErrors(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors


def _error(message: str, code: str | None = None, **extensions: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if code:
        error["extensions"] = {"code": code, **extensions}
    return error


def _cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _uncursor(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise _GraphQLErrors([_error(f"Invalid cursor for current pagination sort: {cursor!r}")]) from exc


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_UPDATED_AT_FILTER = re.compile(r"updated_at:(>=|<=|>|<)'?([^'\s]+)'?")


def _legacy_id(gid: str) -> int:
    return int(gid.rsplit("/", 1)[-1])


# --- the server -----------------------------------------------------------------------------------


class FakeShopify:
    """Start with start() (or the `fake_shopify` fixture); `origin` is what SHOPIFY_ADMIN_ORIGIN should be."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        api_version: str,
        scopes: str = "read_orders,read_fulfillments,read_customers",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_version = api_version
        self.default_scopes = scopes
        self.access_token_ttl = 3600
        self.refresh_token_ttl = 90 * 24 * 3600
        self.require_expiring = True
        # Seconds the token endpoint takes to answer (widens races in concurrency tests).
        self.token_endpoint_delay = 0.0
        self.requests: list[Recorded] = []
        self.shops: dict[str, FakeShop] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---

    def start(self) -> FakeShopify:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5

            def do_POST(self) -> None:  # noqa: N802
                fake._serve(self)

            def do_GET(self) -> None:  # noqa: N802
                fake._serve(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-shopify", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def origin(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- test controls ---

    def shop(self, domain: str) -> FakeShop:
        with self._lock:
            if domain not in self.shops:
                self.shops[domain] = FakeShop(domain=domain, name=domain.split(".")[0], scopes=self.default_scopes)
            return self.shops[domain]

    def put_order(self, domain: str, node: dict[str, Any]) -> None:
        """Add or replace an order (a complete GraphQL Order node, see `order_node`)."""
        with self._lock:
            self.shop(domain).orders[node["id"]] = node

    def set_bucket(
        self, domain: str, *, maximum: float = 2000, available: float | None = None, restore_rate: float = 100
    ) -> None:
        with self._lock:
            self.shop(domain).bucket = Bucket(
                maximum=maximum,
                available=maximum if available is None else available,
                restore_rate=restore_rate,
            )

    def script(
        self,
        domain: str,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        after_requests: int = 0,
    ) -> None:
        """Answer one of the shop's coming GraphQL requests (after the token check) with this instead.

        Scripted answers are used in order; `after_requests` lets that many requests through first.
        """
        if body is None:
            body = {"errors": HTTPStatus(status).phrase}
        with self._lock:
            self.shop(domain).scripted.append([after_requests, status, headers or {}, body])

    def revoke_tokens(self, domain: str) -> None:
        """What uninstalling does: every access and refresh token of the shop stops working."""
        with self._lock:
            shop = self.shop(domain)
            shop.access_tokens.clear()
            shop.refresh_tokens.clear()

    def graphql_requests(self, domain: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r for r in self.requests if r.path.endswith("/graphql.json") and (domain is None or r.host == domain)
            ]

    def token_requests(self, grant_type: str | None = None, domain: str | None = None) -> list[Recorded]:
        with self._lock:
            found = [r for r in self.requests if r.path == "/admin/oauth/access_token"]
        return [
            r
            for r in found
            if (grant_type is None or (r.json or {}).get("grant_type") == grant_type)
            and (domain is None or r.host == domain)
        ]

    def live_access_tokens(self, domain: str) -> set[str]:
        now = time.time()
        with self._lock:
            return {t for t, exp in self.shop(domain).access_tokens.items() if exp is None or exp > now}

    # --- HTTP plumbing ---

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        host = (handler.headers.get("Host") or "").split(":")[0].lower()
        record = Recorded(
            method=handler.command,
            path=handler.path.split("?")[0],
            host=host,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(record)
        try:
            status, headers, payload = self._route(record)
        except Exception as exc:  # a bug in the fake must show up as a failing test, not a hang
            status, headers, payload = 500, {}, {"errors": f"fake Shopify crashed: {exc!r}"}
        record.status, record.response = status, payload
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("X-Request-Id", str(uuid.uuid4()))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, record: Recorded) -> tuple[int, dict[str, str], Any]:
        if record.method == "GET" and record.path.startswith(shopify_bulk.RESULTS_PATH):
            with self._lock:
                body = shopify_bulk.results_file(self, record.path)
            return (200, {}, body) if body is not None else (404, {}, {"errors": "Not Found"})
        if record.method != "POST":
            return 404, {}, {"errors": "Not Found"}
        if not record.host.endswith(".myshopify.com"):
            return 404, {}, {"errors": "Not Found"}
        if record.path == "/admin/oauth/access_token":
            return self._token_endpoint(record)
        match = re.fullmatch(r"/admin/api/([^/]+)/graphql\.json", record.path)
        if match:
            if match.group(1) != self.api_version:
                return 404, {}, {"errors": "Not Found"}
            return self._graphql_endpoint(record)
        return 404, {}, {"errors": "Not Found"}

    # --- OAuth token endpoint ---

    def _issue(self, shop: FakeShop, *, expiring: bool, predecessor: str | None = None) -> dict[str, Any]:
        now = time.time()
        access = "shpat_" + secrets.token_hex(16)
        if not expiring:
            shop.access_tokens[access] = None
            return {"access_token": access, "scope": shop.scopes}
        refresh = "shprt_" + secrets.token_hex(16)
        shop.access_tokens[access] = now + self.access_token_ttl
        shop.refresh_tokens[refresh] = RefreshGrant(expires_at=now + self.refresh_token_ttl, predecessor=predecessor)
        return {
            "access_token": access,
            "scope": shop.scopes,
            "expires_in": self.access_token_ttl,
            "refresh_token": refresh,
            "refresh_token_expires_in": self.refresh_token_ttl,
        }

    def _token_endpoint(self, record: Recorded) -> tuple[int, dict[str, str], Any]:
        if self.token_endpoint_delay:
            time.sleep(self.token_endpoint_delay)
        body = record.json
        if not isinstance(body, dict) or "json" not in record.headers.get("content-type", ""):
            return 400, {}, {"error": "invalid_request", "error_description": "expected a JSON body"}
        if body.get("client_id") != self.client_id or body.get("client_secret") != self.client_secret:
            return 401, {}, {"error": "invalid_client", "error_description": "Client authentication failed"}
        grant = body.get("grant_type")
        with self._lock:
            shop = self.shop(record.host)
            if grant == TOKEN_EXCHANGE_GRANT:
                return self._token_exchange(shop, body)
            if grant == "refresh_token":
                return self._refresh(shop, body)
        return 400, {}, {"error": "unsupported_grant_type"}

    def _token_exchange(self, shop: FakeShop, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        if body.get("subject_token_type") != ID_TOKEN_TYPE:
            return 400, {}, {"error": "invalid_request", "error_description": "subject_token_type"}
        if body.get("requested_token_type") not in (OFFLINE_TOKEN_TYPE, ONLINE_TOKEN_TYPE):
            return 400, {}, {"error": "invalid_request", "error_description": "requested_token_type"}
        try:
            claims = jwt.decode(
                str(body.get("subject_token") or ""),
                self.client_secret,
                algorithms=["HS256"],
                audience=self.client_id,
                leeway=10,
            )
        except jwt.PyJWTError as exc:
            return 400, {}, {"error": "invalid_subject_token", "error_description": str(exc)}
        if str(claims.get("dest", "")).removeprefix("https://") != shop.domain:
            return (
                400,
                {},
                {"error": "invalid_subject_token", "error_description": "token is for another shop"},
            )
        expiring = body.get("expiring") in (1, "1", True)
        if self.require_expiring and not expiring:
            return 400, {}, {"error": "invalid_request", "error_description": "expiring tokens are required"}
        return 200, {}, self._issue(shop, expiring=expiring)

    def _refresh(self, shop: FakeShop, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        token = str(body.get("refresh_token") or "")
        grant = shop.refresh_tokens.get(token)
        if grant is None or grant.expires_at <= time.time():
            return (
                400,
                {},
                {"error": "invalid_grant", "error_description": "refresh token is invalid or expired"},
            )
        # Using a refresh token retires the one it replaced.
        if grant.predecessor:
            shop.refresh_tokens.pop(grant.predecessor, None)
            grant.predecessor = None
        return 200, {}, self._issue(shop, expiring=True, predecessor=token)

    # --- Admin GraphQL API ---

    def _graphql_endpoint(self, record: Recorded) -> tuple[int, dict[str, str], Any]:
        token = record.headers.get("x-shopify-access-token", "")
        with self._lock:
            shop = self.shop(record.host)
            expires = shop.access_tokens.get(token, 0.0)
            if not token or (expires is not None and expires <= time.time()):
                return 401, {}, INVALID_TOKEN_BODY
            if shop.scripted:
                if shop.scripted[0][0] > 0:
                    shop.scripted[0][0] -= 1
                else:
                    _, status, headers, payload = shop.scripted.popleft()
                    return status, headers, payload
            body = record.json
            if not isinstance(body, dict) or not isinstance(body.get("query"), str):
                return 400, {}, {"errors": {"query": "Required parameter missing or invalid"}}
            variables = body.get("variables") or {}
            try:
                operation = parse(body["query"])
            except GraphQLSyntaxError as exc:
                return 200, {}, {"errors": [_error(str(exc))]}

            def args_of(f: Field) -> dict[str, Any]:
                return _resolve(f.args, variables, operation.defaults)

            cost = (
                MUTATION_COST if operation.kind == "mutation" else max(1, requested_cost(operation.selections, args_of))
            )
            bucket = shop.bucket
            bucket.refill()
            if cost > MAX_QUERY_COST:
                message = f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_QUERY_COST})."
                return (
                    200,
                    {},
                    {"errors": [_error(message, "MAX_COST_EXCEEDED", cost=cost, maxCost=MAX_QUERY_COST)]},
                )
            if cost > bucket.available:
                return (
                    200,
                    {},
                    {
                        "errors": [
                            _error(
                                "Throttled",
                                "THROTTLED",
                                documentation="https://shopify.dev/api/usage/rate-limits",
                            )
                        ],
                        "extensions": {
                            "cost": {
                                "requestedQueryCost": cost,
                                "actualQueryCost": None,
                                "throttleStatus": bucket.status(),
                            }
                        },
                    },
                )
            try:
                data = self._execute(shop, operation, args_of)
            except _GraphQLErrors as exc:
                return 200, {}, {"errors": exc.errors}
            returned = sum(_actual_cost(value) for value in data.values())
            actual = MUTATION_COST if operation.kind == "mutation" else max(1, min(cost, returned))
            bucket.available -= actual
            return (
                200,
                {},
                {
                    "data": data,
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": cost,
                            "actualQueryCost": actual,
                            "throttleStatus": bucket.status(),
                        }
                    },
                },
            )

    def _execute(self, shop: FakeShop, operation: Operation, args_of: Any) -> dict[str, Any]:
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        root_type = "Mutation" if operation.kind == "mutation" else "QueryRoot"
        for f in operation.selections:
            args = args_of(f)
            if operation.kind == "query" and f.name == "shop":
                value: Any = self._project(
                    {"name": shop.name, "myshopifyDomain": shop.domain, "currencyCode": "USD"},
                    f,
                    "Shop",
                    args_of,
                )
            elif operation.kind == "query" and f.name == "orders":
                value = self._orders(shop, f, args, args_of)
            elif operation.kind == "query" and f.name == "order":
                node = shop.orders.get(str(args.get("id")))
                value = None if node is None else self._project(node, f, "Order", args_of)
            elif f.name in (RETURNS_QUERY_FIELDS if operation.kind == "query" else RETURNS_MUTATION_FIELDS):
                value = execute_returns_field(self, shop, operation.kind, f, args, args_of)
            elif f.name in (shopify_bulk.QUERY_FIELDS if operation.kind == "query" else shopify_bulk.MUTATION_FIELDS):
                value = shopify_bulk.execute(self, shop, operation.kind, f, args, args_of)
            elif operation.kind == "mutation" and f.name == "metafieldsDelete":
                payload = shopify_metafields.metafields_delete(shop, args)
                value = self._project(payload, f, "MetafieldsDeletePayload", args_of)
            elif (
                operation.kind == "mutation"
                and f.name in shopify_metafields.MUTATION_FIELDS
                and not _owners_are_orders(args)
            ):
                # Product metafields (the reviews' standard definitions); order metafields (the inserts' links)
                # are kept on the order node below.
                value = self._project(shopify_metafields.metafields_set(shop, args), f, "MetafieldsSetPayload", args_of)
            elif operation.kind == "mutation" and f.name in shopify_flow.MUTATION_FIELDS:
                value = self._project(
                    shopify_flow.flow_trigger_receive(shop, args), f, "FlowTriggerReceivePayload", args_of
                )
            elif operation.kind == "query" and f.name in shopify_products.QUERY_FIELDS:
                try:
                    value = shopify_products.products(shop, f, args, args_of)
                except shopify_products.ProductsError as exc:
                    raise _GraphQLErrors([_error(str(exc))]) from exc
            elif operation.kind == "mutation" and f.name == "tagsAdd":
                value = self._project(self._tags_add(shop, args), f, "TagsAddPayload", args_of)
            elif operation.kind == "mutation" and f.name == "metafieldsSet":
                value = self._project(self._metafields_set(shop, args), f, "MetafieldsSetPayload", args_of)
            else:
                errors.append(
                    _error(
                        f"Field '{f.name}' doesn't exist on type '{root_type}'",
                        "undefinedField",
                        typeName=root_type,
                        fieldName=f.name,
                    )
                )
                continue
            data[f.key] = value
        if errors:
            raise _GraphQLErrors(errors)
        return data

    def _tags_add(self, shop: FakeShop, args: dict[str, Any]) -> dict[str, Any]:
        node = shop.orders.get(str(args.get("id")))
        tags = args.get("tags") or []
        if node is None:
            return {"node": None, "userErrors": [{"field": ["id"], "message": "Order does not exist"}]}
        if not tags:
            return {"node": None, "userErrors": [{"field": ["tags"], "message": "Tags can't be blank"}]}
        node.setdefault("tags", [])
        node["tags"] = sorted(set(node["tags"]) | {str(t) for t in tags})
        return {"node": {"id": node["id"], "__typename": "Order"}, "userErrors": []}

    def _metafields_set(self, shop: FakeShop, args: dict[str, Any]) -> dict[str, Any]:
        """Shopify's metafieldsSet: at most 25 inputs, all or nothing; the owner must exist; a `json` value must
        parse. Each set replaces the value (kept on the order node under `metafields`)."""
        inputs = args.get("metafields") or []
        errors: list[dict[str, Any]] = []
        if len(inputs) > 25:
            errors.append(
                {
                    "field": ["metafields"],
                    "message": "Exceeded the maximum metafields input limit of 25.",
                    "code": "LESS_THAN_OR_EQUAL_TO",
                }
            )
        for index, item in enumerate(inputs):
            node = shop.orders.get(str(item.get("ownerId")))
            if node is None:
                errors.append(
                    {
                        "field": ["metafields", str(index), "ownerId"],
                        "message": "Owner does not exist.",
                        "code": "INVALID",
                    }
                )
            elif not item.get("namespace") or not item.get("key") or not item.get("type"):
                errors.append({"field": ["metafields", str(index)], "message": "can't be blank", "code": "BLANK"})
            elif item["type"] == "json":
                try:
                    json.loads(item.get("value") or "")
                except ValueError:
                    errors.append(
                        {
                            "field": ["metafields", str(index), "value"],
                            "message": "Value is invalid JSON.",
                            "code": "INVALID_VALUE",
                        }
                    )
        if errors:
            return {"metafields": None, "userErrors": errors}
        written = []
        for item in inputs:
            node = shop.orders[str(item["ownerId"])]
            key = f"{item['namespace']}.{item['key']}"
            stored = node.setdefault("metafields", {})
            existing = stored.get(key)
            metafield_id = existing["id"] if existing else f"gid://shopify/Metafield/{len(stored) + 1}"
            stored[key] = {
                "id": metafield_id,
                "namespace": item["namespace"],
                "key": item["key"],
                "type": item["type"],
                "value": item["value"],
            }
            written.append(stored[key])
        return {"metafields": written, "userErrors": []}

    def _orders(self, shop: FakeShop, f: Field, args: dict[str, Any], args_of: Any) -> dict[str, Any]:
        nodes = list(shop.orders.values())
        search = str(args.get("query") or "")
        for op, value in _UPDATED_AT_FILTER.findall(search):
            bound = _parse_time(value)
            compare = {
                ">=": lambda t, b=bound: t >= b,
                ">": lambda t, b=bound: t > b,
                "<=": lambda t, b=bound: t <= b,
                "<": lambda t, b=bound: t < b,
            }[op]
            nodes = [n for n in nodes if compare(_parse_time(n["updatedAt"]))]
        sort_key = args.get("sortKey") or "ID"
        if sort_key == "UPDATED_AT":

            def key(n: dict[str, Any]) -> list[Any]:
                return [_parse_time(n["updatedAt"]).timestamp(), _legacy_id(n["id"])]
        elif sort_key == "ID":

            def key(n: dict[str, Any]) -> list[Any]:
                return [_legacy_id(n["id"])]
        else:
            raise _GraphQLErrors([_error(f"sortKey {sort_key} is not supported by the fake")])
        return self._connection([(key(n), n) for n in nodes], f, args, "Order", args_of)

    def _connection(
        self,
        keyed: list[tuple[Any, dict[str, Any]]],
        f: Field,
        args: dict[str, Any],
        type_name: str,
        args_of: Any,
    ) -> dict[str, Any]:
        first = args.get("first")
        if first is None:
            raise _GraphQLErrors([_error("you must provide one of first or last", "argumentLiteralsIncompatible")])
        if int(first) > MAX_PAGE_SIZE or int(first) < 0:
            raise _GraphQLErrors([_error(f"The value of first must be between 0 and {MAX_PAGE_SIZE}")])
        keyed = sorted(keyed, key=lambda pair: pair[0], reverse=bool(args.get("reverse")))
        after = args.get("after")
        if after:
            bound = _uncursor(after)
            keyed = [p for p in keyed if (p[0] < bound if args.get("reverse") else p[0] > bound)]
        page = keyed[: int(first)]
        has_next = len(keyed) > len(page)
        result: dict[str, Any] = {}
        for child in f.selections or []:
            if child.name == "nodes":
                result[child.key] = [self._project(n, child, type_name, args_of) for _, n in page]
            elif child.name == "edges":
                edges = []
                for k, n in page:
                    edge: dict[str, Any] = {}
                    for edge_child in child.selections or []:
                        if edge_child.name == "cursor":
                            edge[edge_child.key] = _cursor(k)
                        elif edge_child.name == "node":
                            edge[edge_child.key] = self._project(n, edge_child, type_name, args_of)
                        else:
                            raise _GraphQLErrors([_error(f"Field '{edge_child.name}' doesn't exist on type 'Edge'")])
                    edges.append(edge)
                result[child.key] = edges
            elif child.name == "pageInfo":
                info = {
                    "hasNextPage": has_next,
                    "hasPreviousPage": bool(after),
                    "startCursor": _cursor(page[0][0]) if page else None,
                    "endCursor": _cursor(page[-1][0]) if page else None,
                }
                result[child.key] = self._project(info, child, "PageInfo", args_of)
            else:
                raise _GraphQLErrors([_error(f"Field '{child.name}' doesn't exist on type '{type_name}Connection'")])
        return result

    def _project(self, obj: dict[str, Any], f: Field, type_name: str, args_of: Any) -> dict[str, Any]:
        if f.selections is None:
            raise _GraphQLErrors([_error(f"Field '{f.name}' of type '{type_name}' must have a selection of subfields")])
        result: dict[str, Any] = {}
        for child in f.selections:
            if child.name == "__typename":
                result[child.key] = type_name
                continue
            if child.name not in obj:
                raise _GraphQLErrors(
                    [
                        _error(
                            f"Field '{child.name}' doesn't exist on type '{type_name}'",
                            "undefinedField",
                            typeName=type_name,
                            fieldName=child.name,
                        )
                    ]
                )
            value = obj[child.name]
            child_type = CHILD_TYPES.get(child.name, child.name[:1].upper() + child.name[1:])
            args = args_of(child)
            if child.name in CONNECTION_FIELDS:
                keyed = [([i], item) for i, item in enumerate(value or [])]
                result[child.key] = self._connection(keyed, child, args, child_type, args_of)
            elif isinstance(value, list) and value and all(v is None or isinstance(v, dict) for v in value):
                # A list of objects; GraphQL lists of a nullable type may hold nulls (deletedMetafields).
                items = value[: int(args["first"])] if args.get("first") is not None else value
                result[child.key] = [
                    None if item is None else self._project(item, child, child_type, args_of) for item in items
                ]
            elif isinstance(value, dict):
                result[child.key] = self._project(value, child, child_type, args_of)
            elif value is None or (isinstance(value, list) and not value):
                result[child.key] = value
            elif child.selections is not None:
                raise _GraphQLErrors([_error(f"Selections can't be made on scalars (field '{child.name}')")])
            else:
                result[child.key] = value
        return result


# --- building blocks for tests --------------------------------------------------------------------


def make_id_token(
    shop: str,
    *,
    secret: str = "test-secret",
    api_key: str = "test-api-key",
    lifetime: int = 60,
    **overrides: Any,
) -> str:
    """A session token as App Bridge mints it (HS256 with the app secret)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"https://{shop}/admin",
        "dest": f"https://{shop}",
        "aud": api_key,
        "sub": "42",
        "exp": now + lifetime,
        "nbf": now - 1,
        "iat": now - 1,
        "jti": str(uuid.uuid4()),
        "sid": secrets.token_hex(16),
    }
    claims.update(overrides)
    return jwt.encode(claims, secret, algorithm="HS256")


def _gid(kind: str, legacy: int) -> str:
    return f"gid://shopify/{kind}/{legacy}"


def fulfillment_node(
    fulfillment_id: int,
    *,
    name: str,
    updated_at: str,
    created_at: str | None = None,
    status: str = "SUCCESS",
    display_status: str = "IN_TRANSIT",
    tracking: list[tuple[str | None, str | None, str | None]] | None = None,
    line_items: list[tuple[dict[str, Any], int]] | None = None,
) -> dict[str, Any]:
    """A GraphQL Fulfillment node.

    `tracking` holds (company, number, url) triples, `line_items` (line item node, quantity) pairs.
    """
    return {
        "id": _gid("Fulfillment", fulfillment_id),
        "legacyResourceId": str(fulfillment_id),
        "name": name,
        "status": status,
        "displayStatus": display_status,
        "createdAt": created_at or updated_at,
        "updatedAt": updated_at,
        "estimatedDeliveryAt": None,
        "trackingInfo": [{"company": c, "number": n, "url": u} for c, n, u in (tracking or [])],
        "fulfillmentLineItems": [
            {
                "id": _gid("FulfillmentLineItem", fulfillment_id * 100 + i),
                "quantity": quantity,
                "lineItem": item,
            }
            for i, (item, quantity) in enumerate(line_items or [])
        ],
    }


def line_item_node(
    line_item_id: int,
    *,
    title: str,
    quantity: int = 1,
    price: str = "10.0",
    currency: str = "USD",
    sku: str | None = None,
    variant_id: int | None = None,
    product_id: int | None = None,
    variant_title: str | None = None,
    discount: str = "0.00",
) -> dict[str, Any]:
    money = {"amount": price, "currencyCode": currency}
    return {
        "id": _gid("LineItem", line_item_id),
        "title": title,
        "name": title if not variant_title else f"{title} - {variant_title}",
        "variantTitle": variant_title,
        "sku": sku,
        "quantity": quantity,
        "variant": {"id": _gid("ProductVariant", variant_id)} if variant_id else None,
        "product": {"id": _gid("Product", product_id)} if product_id else None,
        "originalUnitPriceSet": {"shopMoney": money, "presentmentMoney": money},
        "totalDiscountSet": {"shopMoney": {"amount": discount, "currencyCode": currency}},
    }


def order_node(
    order_id: int,
    *,
    updated_at: str,
    number: int = 1001,
    name: str | None = None,
    created_at: str | None = None,
    email: str | None = "jon@example.com",
    phone: str | None = None,
    financial_status: str | None = "PAID",
    fulfillment_status: str = "UNFULFILLED",
    total: str = "10.0",
    currency: str = "USD",
    customer_id: int | None = 115310627314723954,
    customer_first_name: str | None = "Jon",
    customer_last_name: str | None = "Snow",
    customer_locale: str | None = "en",
    customer_orders: int = 1,
    locale: str | None = "en",
    shipping_country: str | None = None,
    shipping_province: str | None = None,
    shipping_line: dict[str, Any] | None = None,
    cancelled_at: str | None = None,
    closed_at: str | None = None,
    line_items: list[dict[str, Any]] | None = None,
    fulfillments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A GraphQL Order node with every field the Admin API would give for the ones we model."""
    money = {"amount": total, "currencyCode": currency}
    customer = None
    if customer_id:
        customer = {
            "id": _gid("Customer", customer_id),
            "firstName": customer_first_name,
            "lastName": customer_last_name,
            "locale": customer_locale,
            "numberOfOrders": str(customer_orders),
            "updatedAt": updated_at,
            "defaultEmailAddress": {"emailAddress": email} if email else None,
            "defaultPhoneNumber": {"phoneNumber": phone} if phone else None,
        }
    return {
        "id": _gid("Order", order_id),
        "legacyResourceId": str(order_id),
        "name": name or f"#{number}",
        "number": number,
        "email": email,
        "phone": phone,
        "displayFinancialStatus": financial_status,
        "displayFulfillmentStatus": fulfillment_status,
        "currentTotalPriceSet": {"shopMoney": money, "presentmentMoney": money},
        "totalPriceSet": {"shopMoney": money, "presentmentMoney": money},
        "currencyCode": currency,
        "createdAt": created_at or updated_at,
        "updatedAt": updated_at,
        "processedAt": created_at or updated_at,
        "cancelledAt": cancelled_at,
        "closedAt": closed_at,
        "customerLocale": locale,
        "shippingAddress": (
            {"countryCodeV2": shipping_country, "provinceCode": shipping_province, "city": "Ottawa"}
            if shipping_country
            else None
        ),
        "shippingLine": shipping_line,
        "note": None,
        "tags": [],
        "test": False,
        "customer": customer,
        "lineItems": line_items if line_items is not None else [line_item_node(order_id * 10, title="Item")],
        "fulfillments": fulfillments or [],
    }


@pytest.fixture()
def fake_shopify(base_settings: Settings) -> Iterator[FakeShopify]:
    """A running fake Shopify that knows this app's client id, secret and API version."""
    fake = FakeShopify(
        client_id=base_settings.shopify_api_key,
        client_secret=base_settings.shopify_api_secret,
        api_version=base_settings.shopify_api_version,
    ).start()
    yield fake
    fake.stop()


def _owners_are_orders(args: dict[str, Any]) -> bool:
    inputs = args.get("metafields") or []
    return bool(inputs) and all(
        isinstance(item, dict) and str(item.get("ownerId", "")).startswith("gid://shopify/Order/") for item in inputs
    )
