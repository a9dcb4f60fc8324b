"""The merchant admin at scale: order search, the filtered list, the 360° order view and the exceptions queue
against a million orders.

    .venv/bin/python benchmarks/admin.py [--orders N] [--shops K] [--duration S] [--samples M] [--workers W]
    .venv/bin/python benchmarks/admin.py --tiny          # seconds, for the test suite
    .venv/bin/python benchmarks/admin.py --keep-db ...   # then --reuse-db: skip the load next time

What it does, in order (everything it creates is removed at the end, even on failure or timeout):

1. creates the database `aftercart_bench_admin`, migrates it and loads the tracking benchmark's data set
   (benchmarks/tracking_page.py: N orders across K shops, one fulfilment and three scans each, every fourth
   shop naming its orders with a prefix and suffix, EU-1001-B), then adds what the admin shows: exceptions,
   parcels returned to sender and stalled parcels among those in transit, the domain events the app records
   (a status change per scan, a delay or stall flag), the messages sent (order confirmed, shipped, delivered),
   the merchant alerts of every problem parcel (three in ten still open) and returns on 3% of delivered orders;
   each shop holds an offline token, as an installed shop does. Then VACUUM ANALYZE.
2. times the real request path in-process (create_app + Flask's test client, a session token signed as App
   Bridge signs it: HS256 with the app's API secret), one request at a time, for every page below: server
   time p50/p95/p99, SQL statements per request (a SQLAlchemy event listener), and EXPLAIN ANALYZE of the
   slowest statement seen for that page.
3. starts the app under gunicorn (the repo's gunicorn.conf.py) and the bare WSGI app (benchmarks/bare_app.py)
   under the same settings, loads each page with wrk (benchmarks/tracking_urls.lua) or a Python client:
   requests/s and server time p50/p95/p99 from gunicorn's access log (%(D)s), and the workers' peak RSS.

Pages: search by order number (`#1234`, with the shop's prefix/suffix, `EU-1234-B`), by email, tracking number,
phone and customer name; the list unfiltered, by status (delayed, stalled, exception, returned to sender), by
carrier, by placed date, and a deep keyset page; the order page (a random order, and one with alerts and a
return); the exceptions queue. Target: server-time p95 < 100 ms for each, one at a time and under load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import tracking_page as tp
from _common import (
    BenchError,
    add_service_options,
    bounded_run,
    fill_defaults,
    gunicorn_settings,
    log,
    migrate,
    proc_status,
    resolve_loadgen,
)

ROOT = tp.ROOT
BENCH_DIR = tp.BENCH_DIR
API_KEY = "bench-api-key"
API_SECRET = "bench-admin-api-secret-32-bytes-or-more"  # HS256 wants a key of 32 bytes or more
TARGET_P95_MS = 100.0  # from the issue: server-time p95 of every admin page with 1,000,000 orders
TOKEN_LIFETIME_S = 120  # a load window (<= 60 s) never outlives its session tokens


# --------------------------------------------------------------------------- what the admin shows

# Run in order in one transaction after the tracking data set is loaded. Rows are picked by a hash of their id:
# order i belongs to shop i % K, so a plain `id % n` would put all of a kind in a few shops.
ENRICH_SQL = (
    (
        "problem parcels",
        # Among parcels in transit: 1 in 50 an exception, 1 in 50 back to the sender, 1 in 25 stalled.
        """
        UPDATE fulfillments SET
            shipment_state = CASE WHEN abs(hashint8(id)) %% 50 = 11 THEN 'exception' ELSE 'returned_to_sender' END,
            shipment_status = 'failure',
            estimate_from = NULL, estimate_to = NULL, estimate_source = NULL
        WHERE shipment_state = 'in_transit' AND NOT is_delayed AND abs(hashint8(id)) %% 50 IN (11, 13)
        """,
    ),
    (
        "stalled parcels",
        "UPDATE fulfillments SET is_stalled = true"
        " WHERE shipment_state = 'in_transit' AND NOT is_delayed AND abs(hashint8(id)) %% 25 = 7",
    ),
    (
        "their orders' status",
        """
        UPDATE orders o SET status = f.shipment_state
        FROM fulfillments f
        WHERE f.shop_id = o.shop_id AND f.shopify_order_id = o.shopify_order_id
          AND f.shipment_state IN ('exception', 'returned_to_sender')
        """,
    ),
    (
        "domain events: a status change per scan",
        """
        INSERT INTO domain_events (shop_id, kind, dedupe_key, shopify_order_id, shopify_fulfillment_id, data,
                                   occurred_at, happened_at, dispatched_at)
        SELECT e.shop_id, 'shipment.status_changed', 'shipment.status_changed:' || e.external_id,
               e.shopify_order_id, e.shopify_fulfillment_id, json_build_object('status', e.status),
               e.happened_at, e.happened_at, e.happened_at
        FROM tracking_events e
        """,
    ),
    (
        "domain events: delay and stall flags",
        """
        INSERT INTO domain_events (shop_id, kind, dedupe_key, shopify_order_id, shopify_fulfillment_id, data,
                                   occurred_at, happened_at, dispatched_at)
        SELECT f.shop_id, k.kind, k.kind || ':' || f.shopify_fulfillment_id, f.shopify_order_id,
               f.shopify_fulfillment_id, json_build_object('estimate_to', f.estimate_to),
               f.last_scan_at + interval '2 days', f.last_scan_at + interval '2 days',
               f.last_scan_at + interval '2 days'
        FROM fulfillments f
        JOIN (VALUES ('shipment.delayed'), ('shipment.stalled')) AS k(kind)
          ON (k.kind = 'shipment.delayed' AND f.is_delayed) OR (k.kind = 'shipment.stalled' AND f.is_stalled)
        """,
    ),
    (
        "messages: order confirmed, shipped, delivered",
        """
        INSERT INTO notifications (shop_id, dedupe_key, trigger, channel, recipient, locale, shopify_order_id,
                                   shopify_fulfillment_id, subject, body_text, body_html, status, attempts,
                                   provider_message_id, sent_at, created_at, updated_at)
        SELECT f.shop_id, t.trigger || ':' || f.shopify_fulfillment_id || ':email', t.trigger, 'email',
               lower(o.email), coalesce(o.customer_locale, 'en'), f.shopify_order_id,
               CASE WHEN t.trigger = 'order_confirmed' THEN NULL ELSE f.shopify_fulfillment_id END,
               'Your order ' || o.name || ': ' || t.trigger,
               'Hi ' || coalesce(o.customer_first_name, '') || ', ' || repeat('an update about your order. ', 12),
               '<html><body>' || repeat('<p>An update about your order, with a tracking link.</p>', 30)
                 || '</body></html>',
               'sent', 1, '<' || f.id || '.' || t.trigger || '@bench.invalid>', t.at, t.at, t.at
        FROM fulfillments f
        JOIN orders o ON o.shop_id = f.shop_id AND o.shopify_order_id = f.shopify_order_id
        CROSS JOIN LATERAL (VALUES ('order_confirmed', o.shopify_created_at), ('shipped', f.shipped_at),
                                   ('delivered', f.delivered_at)) AS t(trigger, at)
        WHERE t.at IS NOT NULL
        """,
    ),
    (
        "merchant alerts (3 in 10 open)",
        """
        INSERT INTO merchant_alerts (shop_id, dedupe_key, kind, shopify_order_id, shopify_fulfillment_id, detail,
                                     created_at, emailed_at, resolved_at, handled_at, handled_by)
        SELECT f.shop_id, a.kind || ':' || f.shopify_fulfillment_id, a.kind, f.shopify_order_id,
               f.shopify_fulfillment_id,
               json_build_object('order_name', o.name, 'carrier', f.carrier_name,
                                 'tracking_number', f.tracking_number, 'tracking_url', f.tracking_url),
               f.last_scan_at + interval '1 day', f.last_scan_at + interval '1 day',
               CASE WHEN abs(hashint8(f.id)) %% 10 BETWEEN 3 AND 6 THEN f.last_scan_at + interval '2 days' END,
               CASE WHEN abs(hashint8(f.id)) %% 10 >= 7 THEN f.last_scan_at + interval '3 days' END,
               CASE WHEN abs(hashint8(f.id)) %% 10 >= 7 THEN 'bench-staff' END
        FROM fulfillments f
        JOIN orders o ON o.shop_id = f.shop_id AND o.shopify_order_id = f.shopify_order_id
        CROSS JOIN LATERAL (VALUES
            (CASE WHEN f.shipment_state IN ('exception', 'returned_to_sender', 'attempted_delivery')
                  THEN f.shipment_state END),
            (CASE WHEN f.is_delayed THEN 'delayed' END),
            (CASE WHEN f.is_stalled THEN 'stalled' END)) AS a(kind)
        WHERE a.kind IS NOT NULL
        """,
    ),
    (
        "returns on 3% of delivered orders",
        """
        INSERT INTO return_requests (shop_id, shopify_order_id, order_id, name, idempotency_key, source, status,
                                     resolution, reason_code, comment, locale, is_auto_approved, is_free_shipping,
                                     currency, subtotal, restocking_fee, shipping_fee, credit_bonus, refund_amount,
                                     credit_amount, price_difference, requested_at, resolved_at, created_at,
                                     updated_at)
        SELECT o.shop_id, o.shopify_order_id, o.id, o.name || '-R1', 'bench:' || o.id, 'portal',
               (ARRAY['requested', 'approved', 'in_transit', 'received', 'resolved', 'declined'])[x.h %% 6 + 1],
               'refund', 'too_small', 'It does not fit.', coalesce(o.customer_locale, 'en'), x.h %% 2 = 0, false,
               o.currency, o.total_price, 0, 0, 0, CASE WHEN x.h %% 6 = 4 THEN o.total_price ELSE 0 END, 0, 0,
               o.closed_at + interval '3 days',
               CASE WHEN x.h %% 6 IN (4, 5) THEN o.closed_at + interval '9 days' END,
               o.closed_at + interval '3 days', o.closed_at + interval '3 days'
        FROM orders o
        CROSS JOIN LATERAL (SELECT abs(hashint8(o.id)) AS h) AS x
        WHERE o.status = 'delivered' AND x.h %% 33 = 5
        """,
    ),
    (
        "their steps",
        """
        INSERT INTO return_steps (shop_id, return_request_id, status, actor, note, dedupe_key, occurred_at)
        SELECT r.shop_id, r.id, s.status, s.actor, NULL, 'bench:' || r.id || ':' || s.status, s.at
        FROM return_requests r
        CROSS JOIN LATERAL (VALUES ('requested', 'shopper', r.requested_at),
                                   (r.status, 'bench-staff', r.requested_at + interval '1 day')) AS s(status, actor, at)
        WHERE s.status <> 'requested' OR s.actor = 'shopper'
        """,
    ),
)
EXTRA_TABLES = ("domain_events", "notifications", "merchant_alerts", "return_requests", "return_steps")


def enrich(services: tp.Services, env: dict[str, str]) -> dict[str, float]:
    """What the admin pages read beyond the tracking data set (see ENRICH_SQL), and an offline token per shop
    (encrypted with the run's key) so the session-token check never asks Shopify for one. Seconds per step."""
    from cryptography.fernet import Fernet

    fernet = Fernet(env["TOKEN_ENCRYPTION_KEY"].encode())
    timings: dict[str, float] = {}
    with services.pg(services.database_url, autocommit=False) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        began = time.perf_counter()
        shops = conn.execute("SELECT id FROM shops ORDER BY id").fetchall()
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE shops SET access_token_encrypted = %s, refresh_token_encrypted = %s,"
                " access_token_expires_at = now() + interval '1 hour',"
                " refresh_token_expires_at = now() + interval '90 days' WHERE id = %s",
                [
                    (fernet.encrypt(f"shpat_bench_{sid}".encode()), fernet.encrypt(f"shprt_bench_{sid}".encode()), sid)
                    for (sid,) in shops
                ],
            )
        timings["offline tokens"] = time.perf_counter() - began
        for name, sql in ENRICH_SQL:
            began = time.perf_counter()
            conn.execute(sql, {})
            timings[name] = time.perf_counter() - began
            log(f"  {name}: {timings[name]:.1f} s")
        conn.commit()
    began = time.perf_counter()
    with services.pg(services.database_url) as conn:
        conn.execute("VACUUM ANALYZE")
    timings["VACUUM ANALYZE"] = time.perf_counter() - began
    return timings


def count_extra(services: tp.Services) -> dict[str, int]:
    with services.pg(services.database_url) as conn:
        rows = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in EXTRA_TABLES}
        rows["open alerts"] = conn.execute(
            "SELECT count(*) FROM merchant_alerts WHERE resolved_at IS NULL AND handled_at IS NULL"
        ).fetchone()[0]
        for state in ("exception", "returned_to_sender"):
            rows[f"{state} parcels"] = conn.execute(
                "SELECT count(*) FROM fulfillments WHERE shipment_state = %s", (state,)
            ).fetchone()[0]
        for flag in ("is_delayed", "is_stalled"):
            rows[f"{flag[3:]} parcels"] = conn.execute(f"SELECT count(*) FROM fulfillments WHERE {flag}").fetchone()[0]
    return rows


# --------------------------------------------------------------------------- the requests


@dataclass(frozen=True)
class Sample:
    """One real order and what support would type to find it."""

    shop_id: int
    domain: str
    order_id: int
    name: str
    order_number: int
    email: str
    phone: str | None
    customer_name: str
    tracking_number: str


@dataclass
class Shop:
    id: int
    domain: str
    carrier: str
    deep_cursor: str  # the keyset cursor after the shop's DEEP-th newest order
    placed_from: str
    placed_to: str


@dataclass
class Corpus:
    samples: list[Sample]
    problem_orders: list[tuple[int, str, int]]  # (shop id, domain, order id) with an alert and a return
    shops: list[Shop]


def sample_corpus(services: tp.Services, n_orders: int, count: int, deep: int, seed: int = 16) -> Corpus:
    rng = random.Random(seed)
    ids = rng.sample(range(1, n_orders + 1), min(count, n_orders))
    with services.pg(services.database_url) as conn:
        rows = conn.execute(
            "SELECT o.shop_id, s.domain, o.id, o.name, o.order_number, o.email, o.phone, o.customer_name,"
            " f.tracking_number FROM orders o JOIN shops s ON s.id = o.shop_id"
            " JOIN fulfillments f ON f.shop_id = o.shop_id AND f.shopify_order_id = o.shopify_order_id"
            " WHERE o.id = ANY(%s)",
            (ids,),
        ).fetchall()
        problem = conn.execute(
            "SELECT r.shop_id, s.domain, r.order_id FROM return_requests r JOIN shops s ON s.id = r.shop_id"
            " ORDER BY r.id LIMIT %s",
            (count,),
        ).fetchall()
        problem += conn.execute(
            "SELECT a.shop_id, s.domain, o.id FROM merchant_alerts a JOIN shops s ON s.id = a.shop_id"
            " JOIN orders o ON o.shop_id = a.shop_id AND o.shopify_order_id = a.shopify_order_id"
            " ORDER BY a.id LIMIT %s",
            (count,),
        ).fetchall()
        shops = []
        for shop_id, domain in conn.execute("SELECT id, domain FROM shops ORDER BY id").fetchall():
            carrier = conn.execute(
                "SELECT carrier_code FROM fulfillments WHERE shop_id = %s AND carrier_code IS NOT NULL LIMIT 1",
                (shop_id,),
            ).fetchone()
            deep_row = conn.execute(
                "SELECT shopify_created_at, id FROM orders WHERE shop_id = %s"
                " ORDER BY shopify_created_at DESC, id DESC OFFSET %s LIMIT 1",
                (shop_id, deep),
            ).fetchone()
            if carrier is None or deep_row is None:
                raise BenchError(f"shop {domain} has too few orders for a deep page (--orders too small)")
            today = datetime.now(UTC).date()
            shops.append(
                Shop(
                    shop_id,
                    domain,
                    carrier[0],
                    f"{deep_row[0].isoformat()}|{deep_row[1]}",
                    (today - timedelta(days=45)).isoformat(),
                    (today - timedelta(days=31)).isoformat(),
                )
            )
    if len(rows) != len(ids):
        raise BenchError(f"sampled {len(ids)} order ids, found {len(rows)}")
    samples = [Sample(*row) for row in rows]
    rng.shuffle(samples)
    rng.shuffle(problem)
    if not problem:
        raise BenchError("no order with an alert or a return was loaded")
    return Corpus(samples, problem, shops)


def _spaced(number: str) -> str:
    """A tracking number as support reads it out: groups of four."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _national(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())[-9:]
    return f"0{digits[:2]}-{digits[2:5]}-{digits[5:]}"


Request = tuple[str, str, dict[str, str], int | None]  # (shop domain, path, query, the order a search must find)
Target = tuple[str, str, Callable[[Corpus, int], Request]]


def _search(field_of: Callable[[Sample], str | None]) -> Callable[[Corpus, int], Request]:
    def build(corpus: Corpus, index: int) -> Request:
        for step in range(len(corpus.samples)):
            sample = corpus.samples[(index + step) % len(corpus.samples)]
            value = field_of(sample)
            if value:
                return sample.domain, "/app/orders", {"q": value}, sample.order_id
        raise BenchError("no sampled order has the field this search needs")

    return build


def _listing(params: Callable[[Shop], dict[str, str]]) -> Callable[[Corpus, int], Request]:
    def build(corpus: Corpus, index: int) -> Request:
        shop = corpus.shops[index % len(corpus.shops)]
        return shop.domain, "/app/orders", params(shop), None

    return build


def _order_view(corpus: Corpus, index: int) -> Request:
    sample = corpus.samples[index % len(corpus.samples)]
    return sample.domain, f"/app/orders/{sample.order_id}", {}, None


def _problem_view(corpus: Corpus, index: int) -> Request:
    _, domain, order_id = corpus.problem_orders[index % len(corpus.problem_orders)]
    return domain, f"/app/orders/{order_id}", {}, None


def _attention(corpus: Corpus, index: int) -> Request:
    return corpus.shops[index % len(corpus.shops)].domain, "/app/attention", {}, None


TARGETS: tuple[Target, ...] = (
    ("search_number", "search: order number as #1234", _search(lambda s: f"#{s.order_number}")),
    ("search_name", "search: order name as confirmed (EU-1234-B in every 4th shop)", _search(lambda s: s.name)),
    ("search_email", "search: email", _search(lambda s: s.email.lower())),
    ("search_tracking", "search: tracking number, spaced", _search(lambda s: _spaced(s.tracking_number))),
    ("search_phone", "search: phone, national form", _search(lambda s: _national(s.phone) if s.phone else None)),
    ("search_customer", "search: customer's full name", _search(lambda s: s.customer_name.lower())),
    ("list", "list: newest first, first page", _listing(lambda shop: {})),
    ("list_deep", "list: a deep keyset page", _listing(lambda shop: {"after": shop.deep_cursor})),
    ("list_delayed", "list: delayed", _listing(lambda shop: {"status": "delayed"})),
    ("list_stalled", "list: stalled", _listing(lambda shop: {"status": "stalled"})),
    ("list_exception", "list: exception", _listing(lambda shop: {"status": "exception"})),
    ("list_returned", "list: returned to sender", _listing(lambda shop: {"status": "returned_to_sender"})),
    ("list_carrier", "list: one carrier", _listing(lambda shop: {"carrier": shop.carrier})),
    (
        "list_dates",
        "list: placed between two dates, delivered",
        _listing(lambda shop: {"status": "delivered", "from": shop.placed_from, "to": shop.placed_to}),
    ),
    ("order", "order page: a random order", _order_view),
    ("order_problem", "order page: an order with alerts or a return", _problem_view),
    ("attention", "exceptions queue", _attention),
)
PAGES: list[Target] = list(TARGETS)  # what this run measures (--pages)


def session_token(secret: str, domain: str, lifetime: int = 60) -> str:
    """A session token as App Bridge mints it (tests/fakes/shopify.py's make_id_token): HS256, the app secret."""
    import jwt

    now = int(time.time())
    claims = {
        "iss": f"https://{domain}/admin",
        "dest": f"https://{domain}",
        "aud": API_KEY,
        "sub": "42",
        "exp": now + lifetime,
        "nbf": now - 1,
        "iat": now - 1,
        "jti": str(uuid.uuid4()),
        "sid": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def signed(request: Request, token: str) -> tuple[str, dict[str, str]]:
    """The path and query of a document load in the admin's frame: the session token as `id_token`."""
    domain, path, query, _ = request
    return path, {**query, "shop": domain, "id_token": token}


# --------------------------------------------------------------------------- in-process timing


@dataclass
class PageRun:
    label: str
    totals_ms: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)  # time inside the cursor's execute, per request
    statuses: dict[int, int] = field(default_factory=dict)
    slowest: tuple[float, str, Any] = (0.0, "", None)  # (ms, statement, parameters)
    missed: int = 0  # searches whose page did not list the order searched for


def time_in_process(
    env: dict[str, str], corpus: Corpus, samples: int, profile_dir: Path | None = None
) -> dict[str, PageRun]:
    """Every page through the real request path in this process, one request at a time (with --profile DIR,
    each page's timed requests under cProfile, written to DIR/<page>.prof)."""
    import cProfile

    from sqlalchemy import event

    from app import create_app
    from app.config import Settings
    from app.extensions import db

    app = create_app(Settings.from_env(env))
    with app.app_context():
        engine = db.engine
    current: list[tuple[str, Any, float]] | None = None
    starts: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        starts.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        elapsed = (time.perf_counter() - starts.pop()) * 1000
        if current is not None:
            current.append((statement, parameters, elapsed))

    secret = env["SHOPIFY_API_SECRET"]
    client = app.test_client()
    runs: dict[str, PageRun] = {}
    try:
        for label, _, build in PAGES:
            run = PageRun(label)
            warm = min(5, samples)
            profiler = cProfile.Profile() if profile_dir is not None else None
            for index in range(samples + warm):
                if profiler is not None and index == warm:
                    profiler.enable()
                request = build(corpus, index)
                path, query = signed(request, session_token(secret, request[0]))
                current = []
                began = time.perf_counter()
                response = client.get(path, query_string=query)
                html = response.get_data(as_text=True)
                elapsed = (time.perf_counter() - began) * 1000
                response.close()
                statements, current = current, None
                if index < warm:
                    continue
                run.totals_ms.append(elapsed)
                run.counts.append(len(statements))
                run.sql_ms.append(sum(ms for _, _, ms in statements))
                run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
                if request[3] is not None and f'href="/app/orders/{request[3]}' not in html:
                    run.missed += 1
                for statement, parameters, ms in statements:
                    if ms > run.slowest[0] and not statement.lstrip().upper().startswith(("SELECT 1", "COMMIT")):
                        run.slowest = (ms, statement, parameters)
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(profile_dir / (re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") + ".prof"))
            runs[label] = run
            log(f"  {label}: in-process p95 {tp.pct(run.totals_ms, 95):.1f} ms")
    finally:
        with app.app_context():
            db.session.remove()
            engine.dispose()
    return runs


def explain_generic(services: tp.Services, statement: str, parameters: Any) -> tuple[str, float, float, str]:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement the way the app runs it: prepared, with a generic plan
    (app/db.py's use_generic_plans), executed with the request's own values. A plain EXPLAIN with the values
    inline shows the plan PostgreSQL would pick for those values, which the app never gets."""
    from psycopg import ClientCursor

    names: list[str] = []

    def placeholder(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", placeholder, statement).replace("%%", "%")
    with services.pg(services.database_url) as conn:
        conn.execute("SET plan_cache_mode = force_generic_plan")
        conn.execute(f"PREPARE bench_statement AS {prepared}")
        values = [parameters[name] for name in names]
        arguments = f"({ClientCursor(conn).mogrify(', '.join(['%s'] * len(values)), values)})" if values else ""
        plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE bench_statement{arguments}").fetchone()[0]
    root = plan[0]
    nodes = " > ".join(tp.plan_nodes(root["Plan"]))
    return tp.statement_label(statement), root["Planning Time"], root["Execution Time"], nodes


# --------------------------------------------------------------------------- under load


def url_writer(corpus: Corpus, build: Callable[[Corpus, int], Request], secret: str) -> Callable:
    """Writes `count` URLs of one page for the next load window, each shop's session token signed now."""

    def write(path: Path, count: int, offset: int) -> None:
        tokens: dict[str, str] = {}
        lines = []
        for index in range(offset, offset + count):
            request = build(corpus, index)
            token = tokens.get(request[0])
            if token is None:
                token = tokens[request[0]] = session_token(secret, request[0], TOKEN_LIFETIME_S)
            url_path, query = signed(request, token)
            lines.append(f"{url_path}?{urlencode(query)}")
        path.write_text("\n".join(lines) + "\n")

    return write


# --------------------------------------------------------------------------- report


def report_in_process(runs: dict[str, PageRun], explained: dict[str, tuple[str, float, float, str]]) -> None:
    print()
    print("in-process server time (create_app + Flask test client + the session-token check, one at a time):")
    for label, description, _ in PAGES:
        run = runs[label]
        bad = {s: n for s, n in run.statuses.items() if s != 200}
        print(
            f"{label} in-process p50: {tp.pct(run.totals_ms, 50):.2f} ms, p95: {tp.pct(run.totals_ms, 95):.2f} ms, "
            f"p99: {tp.pct(run.totals_ms, 99):.2f} ms; statements/request: {sum(run.counts) / len(run.counts):.1f} "
            f"(max {max(run.counts)}); SQL p50 {tp.pct(run.sql_ms, 50):.2f} ms, p95 {tp.pct(run.sql_ms, 95):.2f} ms; "
            f"non-200: {sum(bad.values())}{' ' + str(bad) if bad else ''}"
            + (f"; order not found: {run.missed} of {len(run.totals_ms)}" if label.startswith("search_") else "")
            + f"  ({description})"
        )
    print("EXPLAIN ANALYZE of the slowest statement seen for each page (its SQL and values, generic plan as the app):")
    for label, _, _ in PAGES:
        name, planning, execution, summary = explained[label]
        print(
            f"{label} slowest statement: {name} took {runs[label].slowest[0]:.2f} ms; "
            f"EXPLAIN planning {planning:.3f} ms, execution {execution:.3f} ms: {summary}"
        )
    sys.stdout.flush()


def report_http(plan: tp.Plan, settings: dict[str, Any], runs: dict[str, tp.HttpResult]) -> None:
    print()
    print(
        f"HTTP load: gunicorn.conf.py (workers={settings['workers']} worker_class={settings['worker_class']} "
        f"threads={settings['threads']}), {plan.loadgen}, {plan.connections} connections, {plan.duration:g} s per "
        f"page after {plan.warmup:g} s warm-up; server time = gunicorn access log %(D)s of the 200s"
    )
    for label, run in runs.items():
        server = run.server_ms
        print(
            f"{label} under load: {run.rps:.1f} requests/s, server p50 {tp.pct(server, 50):.2f} ms, "
            f"p95 {tp.pct(server, 95):.2f} ms, p99 {tp.pct(server, 99):.2f} ms; client p50 "
            f"{run.client_pct(50):.2f} ms, p95 {run.client_pct(95):.2f} ms; 200s {run.ok200}, "
            f"other {run.other + run.s429}, errors {run.errors}"
        )
    sys.stdout.flush()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=None, help="orders to load (default 1,000,000; 2,000 tiny)")
    parser.add_argument("--shops", type=int, default=None, help="shops the orders are spread over (100; 5 tiny)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load per page (15; 1 tiny)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per page (2; 0 tiny)")
    parser.add_argument("--connections", type=int, default=None, help="concurrent connections (8; 2 tiny)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (gunicorn.conf.py; 2 tiny)")
    parser.add_argument("--samples", type=int, default=None, help="in-process requests per page (200; 8 tiny)")
    parser.add_argument("--tiny", action="store_true", help="a few seconds in all (for the test suite)")
    parser.add_argument("--pages", default="", help="comma-separated page labels to measure (default: all)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    add_service_options(parser, "aftercart_bench_admin", 9)
    parser.add_argument("--profile", type=Path, default=None, help="write each page's cProfile to this folder")
    parser.add_argument("--enforce-target", action="store_true", help="exit 3 when a p95 target is missed")
    args = parser.parse_args(argv)
    defaults = {
        "orders": 2_000 if args.tiny else 1_000_000,
        "shops": 5 if args.tiny else 100,
        "duration": 1.0 if args.tiny else 15.0,
        "warmup": 0.0 if args.tiny else 2.0,
        "connections": 2 if args.tiny else 8,
        "samples": 8 if args.tiny else 200,
        "workers": 2 if args.tiny else None,
    }
    fill_defaults(args, defaults)
    if args.orders < args.shops * 100 or args.shops < 1 or args.duration <= 0 or args.samples < 1:
        parser.error("need orders >= 100 x shops, shops >= 1, and positive --duration and --samples")
    return args


def run(
    args: argparse.Namespace,
    plan: tp.Plan,
    services: tp.Services,
    env: dict[str, str],
    settings: dict[str, Any],
    workdir: Path,
    servers: list[tp.Gunicorn],
) -> int:
    background = tp.background_cpu(0.5 if args.tiny else 1.0)
    stats = tp.reusable(services, args.orders, args.shops) if args.reuse_db else None
    if stats is None:
        services.create()
    else:
        services.clear_app_keys()
    app_server = tp.Gunicorn("app", "app:create_app()", env, workdir)
    bare_server = tp.Gunicorn("bare", "bare_app:app", env, workdir, ("--pythonpath", str(BENCH_DIR)))
    servers.extend((app_server, bare_server))
    for server in servers:
        server.launch()
    enrich_s: dict[str, float] = {}
    if stats is not None:
        log(f"reusing database {services.db_name} (--reuse-db): nothing loaded; migrating it to this code's head")
        migrate(env, timeout=600)
    else:
        log(f"created database {services.db_name}; migrating")
        migrate(env, timeout=180)
        log(f"loading {args.orders:,} orders over {args.shops} shops")
        stats = tp.load_data(services, tp.DataSet(args.orders, args.shops, affixes=True))
        log("adding what the admin shows")
        enrich_s = enrich(services, env)
        tp.count_rows(services, stats)
    extra = count_extra(services)
    print("Aftercart merchant admin benchmark")
    print(
        f"  machine: {os.cpu_count()} CPUs shared by PostgreSQL, Redis, gunicorn and the load generator; "
        f"CPU busy before the run (other processes): {background:.0%}"
    )
    rows = stats.rows
    print(
        f"load: {rows['orders']:,} orders, {rows['fulfillments']:,} fulfillments, "
        f"{rows['tracking_events']:,} tracking events, {rows['shops']} shops"
    )
    print("admin data: " + ", ".join(f"{count:,} {name}" for name, count in extra.items()))
    if enrich_s:
        print(
            f"load time: {stats.seconds + sum(enrich_s.values()):.1f} s (tracking data set {stats.seconds:.1f} s, "
            f"admin data {sum(enrich_s.values()):.1f} s); database size "
            f"{tp.count_rows(services, tp.LoadStats()).db_bytes / 2**20:.0f} MB"
        )
    else:
        print("load time: 0 s (reused the database of an earlier run)")
    sys.stdout.flush()
    for server in servers:
        server.wait_ready()

    deep = 5_000 if args.orders // args.shops >= 8_000 else args.orders // args.shops // 2
    corpus = sample_corpus(services, args.orders, 2_000 if args.tiny else 20_000, deep)
    log(f"timing {args.samples} in-process requests per page")
    self_before = proc_status(os.getpid()).get("VmHWM", 0)
    inproc = time_in_process(env, corpus, args.samples, args.profile)
    self_peak = proc_status(os.getpid()).get("VmHWM", 0)
    explained = {}
    for label, run_ in inproc.items():
        _, statement, parameters = run_.slowest
        explained[label] = explain_generic(services, statement, parameters) if statement else ("none", 0.0, 0.0, "")
    report_in_process(inproc, explained)
    print(f"benchmark process peak RSS while serving in-process: {self_peak / 1024:.1f} MB")
    print(f"  (before the in-process run: {self_before / 1024:.1f} MB)")

    secret = env["SHOPIFY_API_SECRET"]
    http: dict[str, tp.HttpResult] = {}
    with tp.RssMonitor(servers):
        for label, _, build in PAGES:
            log(f"{label}: {plan.warmup:g} s warm-up, {plan.duration:g} s with {plan.connections} connections")
            http[label] = tp.drive(
                plan, app_server, "", [], services, workdir, label, True, url_writer(corpus, build, secret)
            )
        # The baseline gets the very same URLs as the order page (it answers any path).
        log(f"bare: {plan.duration:g} s with {plan.connections} connections")
        http["bare"] = tp.drive(
            plan, bare_server, "", [], services, workdir, "bare", True, url_writer(corpus, _order_view, secret)
        )
    tp.stop_all(servers)
    report_http(plan, settings, http)
    print()
    for server in servers:
        top = max(server.peak_kb.values()) / 1024 if server.peak_kb else 0.0
        print(f"{server.name} workers peak RSS: {top:.1f} MB ({len(server.peak_kb)} workers seen)")
    return summarize(stats, inproc, http, servers, explained, self_peak, args)


def summarize(
    stats: tp.LoadStats,
    inproc: dict[str, PageRun],
    http: dict[str, tp.HttpResult],
    servers: list[tp.Gunicorn],
    explained: dict[str, tuple[str, float, float, str]],
    self_peak_kb: int,
    args: argparse.Namespace,
) -> int:
    checks = {}
    for label, _, _ in PAGES:
        checks[f"{label} one at a time"] = tp.pct(inproc[label].totals_ms, 95)
        checks[f"{label} under load"] = tp.pct(http[label].server_ms, 95)
    missed = [name for name, value in checks.items() if value >= TARGET_P95_MS]
    print()
    print(
        f"target p95 server time < {TARGET_P95_MS:.0f} ms with {stats.rows['orders']:,} orders: "
        f"{len(checks) - len(missed)} of {len(checks)} PASS" + (f"; MISS: {', '.join(missed)}" if missed else "")
    )
    failures = sum(n for run in inproc.values() for s, n in run.statuses.items() if s != 200)
    failures += sum(run.missed for run in inproc.values())
    failures += sum(run.other + run.s429 + run.errors for run in http.values())

    def ms(values: list[float], p: float) -> float | None:
        return round(tp.pct(values, p), 2) if values else None

    summary = {
        "orders": stats.rows["orders"],
        "shops": stats.rows["shops"],
        "pages": {
            label: {
                "inprocess_p50_ms": ms(inproc[label].totals_ms, 50),
                "inprocess_p95_ms": ms(inproc[label].totals_ms, 95),
                "inprocess_p99_ms": ms(inproc[label].totals_ms, 99),
                "statements": round(sum(inproc[label].counts) / len(inproc[label].counts), 1),
                "sql_p50_ms": ms(inproc[label].sql_ms, 50),
                "slowest_statement": explained[label][0],
                "slowest_statement_ms": round(inproc[label].slowest[0], 2),
                "load_rps": round(http[label].rps, 1),
                "load_p50_ms": ms(http[label].server_ms, 50),
                "load_p95_ms": ms(http[label].server_ms, 95),
                "load_p99_ms": ms(http[label].server_ms, 99),
                "ok200": http[label].ok200,
            }
            for label, _, _ in PAGES
        },
        "bare": {"rps": round(http["bare"].rps, 1), "p95_ms": ms(http["bare"].server_ms, 95)},
        "peak_rss_mb": {s.name: round(max(s.peak_kb.values()) / 1024, 1) if s.peak_kb else None for s in servers},
        "inprocess_peak_rss_mb": round(self_peak_kb / 1024, 1),
        "missed": missed,
        "failures": failures,
    }
    print("RESULT_JSON " + json.dumps(summary, sort_keys=True))
    if failures:
        log(f"{failures} requests did not answer 200")
        return 2
    if args.enforce_target and missed:
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pages:
        wanted = set(args.pages.split(","))
        PAGES[:] = [target for target in TARGETS if target[0] in wanted]
        if len(PAGES) != len(wanted):
            log(f"unknown pages: {sorted(wanted - {t[0] for t in TARGETS})}")
            return 2
    if not resolve_loadgen(args):
        return 2
    plan = tp.Plan(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        wrk_threads=1 if args.connections < 8 else 2,
        loadgen=args.loadgen,
        urls_per_window=500 if args.tiny else 5_000,
    )
    windows = math.ceil(plan.duration / tp.SIGNED_WINDOW_S) + 1
    pages = len(PAGES) + 1
    bound = int(
        180 + args.orders * 0.0025 + pages * (plan.warmup + plan.duration + 5 * windows) + pages * args.samples * 0.3
    )
    services = tp.Services(args.pg_admin, args.db_name, args.redis, args.redis_db)
    env = tp.base_env(services, args.workers)
    env.update(SHOPIFY_API_KEY=API_KEY, SHOPIFY_API_SECRET=API_SECRET, TOKEN_ENCRYPTION_KEY=_fernet_key())
    settings = gunicorn_settings(dict(env, PORT="0"))
    log(f"gunicorn settings: {settings}; load generator {plan.loadgen}; time bound {bound} s")
    workdir = Path(tempfile.mkdtemp(prefix="aftercart-bench-admin-"))
    servers: list[tp.Gunicorn] = []

    def cleanup() -> None:
        tp.stop_all(servers)
        if not args.keep_db:
            services.drop()

    return bounded_run(bound, lambda: run(args, plan, services, env, settings, workdir, servers), cleanup, workdir)


def _fernet_key() -> str:
    """A fixed key: a --reuse-db run must decrypt what the first run stored (nothing here is secret)."""
    import base64

    return base64.urlsafe_b64encode(b"aftercart-bench-admin-token-key!").decode()


if __name__ == "__main__":
    sys.exit(main())
