"""Listening to the shopper at scale: the survey answer, the review submission and the product block's JSON for a
product with 2,000 reviews, against a million orders.

    .venv/bin/python benchmarks/engagement.py [--orders N] [--shops K] [--duration S] [--samples M] [--workers W]
    .venv/bin/python benchmarks/engagement.py --tiny          # seconds, for the test suite
    .venv/bin/python benchmarks/engagement.py --keep-db ...   # then --reuse-db: skip the load next time
    .venv/bin/python benchmarks/engagement.py --reuse-db --db-name aftercart_bench_admin   # on another's data set

What it does, in order (everything it creates is removed at the end, even on failure or timeout):

1. creates the database `aftercart_bench_engagement`, migrates it and loads the tracking benchmark's data set
   (benchmarks/tracking_page.py: N orders across K shops, one fulfilment and three scans each), then adds what
   issue 17 keeps: a survey per delivered order (a third answered, one in ten of those a detractor), a review
   request per delivered parcel (sent), a published review for one request in ten, and in every shop one product
   with 2,000 published reviews (one in ten with a photo, one in five with the merchant's public reply). Then
   VACUUM ANALYZE.
2. times the real request path in-process (create_app + Flask's test client), one request at a time: the survey
   answer (`POST /l/s/<signed score link>`: the answer page's Send, recording the score and its reasons), the
   review submission (`POST /l/reviews/<signed link>`: a rating, a title and a text for the request's product)
   and the product block (`GET /proxy/reviews/product/<id>`, signed as Shopify's app proxy signs, for a product
   with 2,000 reviews): server time p50/p95/p99, SQL statements per request, and EXPLAIN ANALYZE (prepared, with a
   generic plan, as the app runs it) of the slowest statement seen for each.
3. starts the app under gunicorn (the repo's gunicorn.conf.py) and the bare WSGI app (benchmarks/bare_app.py)
   under the same settings and loads each endpoint with wrk (benchmarks/tracking_urls.lua, which sends the POSTs
   and the block's GETs): requests/s and server time p50/p95/p99 from gunicorn's access log
   (%(D)s), and the workers' peak RSS. The bare app gets the very same requests: the baseline of this run.

Targets (issue 17): server-time p95 under 50 ms for the survey answer and the review submission under load, and
under 30 ms for the product block with 2,000 reviews.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
)
from admin import explain_generic

ROOT = tp.ROOT
BENCH_DIR = tp.BENCH_DIR
TARGETS_P95_MS = {"survey_answer": 50.0, "review_submit": 50.0, "product_block": 30.0}
HOT_REVIEWS = 2_000  # published reviews of each shop's best-selling product
HOT_PRODUCT0 = 8_800_000_000_000
PRODUCT0 = 8_700_000_000_000
SECRET_KEY = "bench-engagement-secret-key"

# Run in order in one transaction after the tracking data set is loaded; rows picked by a hash of their id.
ENRICH_SQL = (
    (
        "surveys: one per delivered order (a third answered)",
        """
        INSERT INTO surveys (shop_id, public_id, shopify_order_id, shopify_fulfillment_id, shopify_customer_id,
                             order_name, carrier, destination_country, question, locale, status, delivered_at,
                             due_at, asked_at, csat_score, answered_via, answered_at, changed_at, detractor_at,
                             detractor_cycle, created_at)
        SELECT f.shop_id, md5('survey' || f.id), f.shopify_order_id, f.shopify_fulfillment_id, o.shopify_customer_id,
               o.name, f.carrier_name, o.shipping_country, 'csat', coalesce(o.customer_locale, 'en'),
               CASE WHEN x.h %% 3 = 0 THEN 'answered' ELSE 'sent' END, f.delivered_at,
               f.delivered_at + interval '2 days', f.delivered_at + interval '2 days',
               CASE WHEN x.h %% 3 = 0 THEN CASE WHEN x.h %% 10 = 0 THEN 1 ELSE 4 + x.h %% 2 END END,
               CASE WHEN x.h %% 3 = 0 THEN 'message' END,
               CASE WHEN x.h %% 3 = 0 THEN f.delivered_at + interval '3 days' END,
               CASE WHEN x.h %% 3 = 0 THEN f.delivered_at + interval '3 days' END,
               CASE WHEN x.h %% 30 = 0 THEN f.delivered_at + interval '3 days' END,
               CASE WHEN x.h %% 30 = 0 THEN 1 ELSE 0 END, f.delivered_at
        FROM fulfillments f
        JOIN orders o ON o.shop_id = f.shop_id AND o.shopify_order_id = f.shopify_order_id
        CROSS JOIN LATERAL (SELECT abs(hashint8(f.id)) AS h) AS x
        WHERE f.shipment_state = 'delivered'
        """,
    ),
    (
        "review requests: one per delivered parcel, sent",
        """
        INSERT INTO review_requests (shop_id, shopify_order_id, shopify_fulfillment_id, shopify_customer_id, email,
                                     fulfilled_at, delivered_at, due_at, status, products, sent_at, created_at)
        SELECT f.shop_id, f.shopify_order_id, f.shopify_fulfillment_id, o.shopify_customer_id, lower(o.email),
               f.shipped_at, f.delivered_at, f.delivered_at + interval '7 days', 'sent',
               json_build_array(json_build_object(
                   'product_id', %(product0)s + f.shop_id * 100 + abs(hashint8(f.id)) %% 40,
                   'title', 'Product ' || abs(hashint8(f.id)) %% 40)),
               f.delivered_at + interval '7 days', f.delivered_at
        FROM fulfillments f
        JOIN orders o ON o.shop_id = f.shop_id AND o.shopify_order_id = f.shopify_order_id
        WHERE f.shipment_state = 'delivered'
        """,
    ),
    (
        "reviews: one request in ten answered, published",
        """
        INSERT INTO reviews (shop_id, review_request_id, shopify_order_id, shopify_product_id, product_title,
                             shopify_customer_id, email, author_name, locale, rating, title, body, photo_count,
                             status, moderated_by, moderated_at, is_redacted, created_at)
        SELECT r.shop_id, r.id, r.shopify_order_id, (r.products -> 0 ->> 'product_id')::bigint,
               r.products -> 0 ->> 'title', r.shopify_customer_id, r.email, 'Mali S.', 'en',
               1 + abs(hashint8(r.id)) %% 5, 'Good', repeat('Arrived well packed, fits as described. ', 4), 0,
               'published', 'bench-staff', r.sent_at + interval '2 days', false, r.sent_at + interval '1 day'
        FROM review_requests r
        WHERE abs(hashint8(r.id)) %% 10 = 3
        """,
    ),
    (
        "their requests completed",
        "UPDATE review_requests r SET status = 'completed', completed_at = r.sent_at + interval '1 day'"
        " WHERE abs(hashint8(r.id)) %% 10 = 3",
    ),
    (
        "2,000 published reviews of each shop's best seller",
        """
        INSERT INTO reviews (shop_id, review_request_id, shopify_order_id, shopify_product_id, product_title,
                             shopify_customer_id, email, author_name, locale, rating, title, body, photo_count,
                             status, moderated_by, moderated_at, public_reply, public_reply_at, is_redacted,
                             created_at)
        SELECT s.id, NULL, NULL, %(hot0)s + s.id, 'Linen shirt', NULL, 'shopper' || n || '@bench.invalid',
               'Shopper ' || n, CASE WHEN n %% 3 = 0 THEN 'th' ELSE 'en' END,
               CASE WHEN n %% 10 < 6 THEN 5 WHEN n %% 10 < 8 THEN 4 WHEN n %% 10 = 8 THEN 3 ELSE 1 END,
               'Review ' || n, repeat('Soft linen, true to size, washes well. ', 6),
               CASE WHEN n %% 10 = 0 THEN 1 ELSE 0 END, 'published', 'bench-staff',
               now() - n * interval '8 hours' + interval '1 hour',
               CASE WHEN n %% 5 = 0 THEN 'Thank you for the kind words!' END,
               CASE WHEN n %% 5 = 0 THEN now() - n * interval '8 hours' + interval '2 hours' END,
               false, now() - n * interval '8 hours'
        FROM shops s CROSS JOIN generate_series(1, %(hot_reviews)s) AS n
        """,
    ),
    (
        "their photos",
        """
        INSERT INTO review_photos (shop_id, review_id, content_type, size, data, created_at)
        SELECT r.shop_id, r.id, 'image/png', 67, decode(repeat('89504e470d0a1a0a', 8) || '00ff00', 'hex'),
               r.created_at
        FROM reviews r WHERE r.photo_count > 0
        """,
    ),
)
EXTRA_TABLES = ("surveys", "review_requests", "reviews", "review_photos")


def enrich(services: tp.Services, shops: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    values = {"product0": PRODUCT0, "hot0": HOT_PRODUCT0, "hot_reviews": HOT_REVIEWS}
    with services.pg(services.database_url, autocommit=False) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        for name, sql in ENRICH_SQL:
            began = time.perf_counter()
            conn.execute(sql, values)
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
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in EXTRA_TABLES}


# --------------------------------------------------------------------------- the requests


@dataclass
class Corpus:
    """Requests of each endpoint, signed with the app's own keys: (method, path, form body)."""

    survey_posts: list[tuple[str, str, str]] = field(default_factory=list)
    review_posts: list[tuple[str, str, str]] = field(default_factory=list)
    hot_products: list[tuple[str, int]] = field(default_factory=list)  # (shop domain, product id)


def sample_corpus(services: tp.Services, env: dict[str, str], count: int, seed: int = 17) -> Corpus:
    """Surveys not answered yet, review requests not reviewed yet (each link used once), every shop's best
    seller. Links are minted by the app's own functions, so they are what a shopper's message carries."""
    from app import create_app
    from app.config import Settings
    from app.reviews.links import make_review_token
    from app.surveys.links import score_path

    rng = random.Random(seed)
    with services.pg(services.database_url) as conn:
        surveys = conn.execute(
            "SELECT public_id FROM surveys WHERE status = 'sent' ORDER BY md5(public_id) LIMIT %s", (count,)
        ).fetchall()
        requests = conn.execute(
            "SELECT id, shop_id, (products -> 0 ->> 'product_id')::bigint FROM review_requests"
            " WHERE status = 'sent' ORDER BY md5(id::text) LIMIT %s",
            (count,),
        ).fetchall()
        hot = conn.execute("SELECT domain, %s + id FROM shops ORDER BY id", (HOT_PRODUCT0,)).fetchall()
    if not surveys or not requests or not hot:
        raise BenchError("no survey, review request or shop was loaded")
    corpus = Corpus(hot_products=[(domain, product) for domain, product in hot])
    app = create_app(Settings.from_env(env))
    with app.app_context():
        for (public_id,) in surveys:
            score = rng.choice((1, 2, 4, 5, 5, 5))
            reasons = "late" if score <= 2 else "fast"
            body = urlencode({"score": score, "reasons": reasons, "comment": "Thanks, all fine."})
            corpus.survey_posts.append(("POST", score_path(public_id, "csat", score), body))
        for request_id, shop_id, product_id in requests:
            body = urlencode(
                {
                    f"rating_{product_id}": rng.choice((3, 4, 5, 5)),
                    f"title_{product_id}": "Lovely",
                    f"body_{product_id}": "Soft linen, true to size, washes well. " * 3,
                }
            )
            corpus.review_posts.append(("POST", f"/l/reviews/{make_review_token(shop_id, request_id)}", body))
    rng.shuffle(corpus.hot_products)
    return corpus


def block_query(domain: str, timestamp: int, locale: str | None = None) -> str:
    """Shopify's app-proxy query for the block's fetch (hex HMAC-SHA256 of the sorted k=v pairs)."""
    params = {
        "shop": domain,
        "logged_in_customer_id": "",
        "path_prefix": "/apps/aftercart",
        "timestamp": str(timestamp),
    }
    if locale:
        params["locale"] = locale
    message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac.new(tp.SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


def block_path(corpus: Corpus, index: int) -> str:
    domain, product = corpus.hot_products[index % len(corpus.hot_products)]
    return f"/proxy/reviews/product/{product}?" + block_query(domain, int(time.time()), "th" if index % 3 else None)


# --------------------------------------------------------------------------- in-process timing


@dataclass
class Run:
    label: str
    totals_ms: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    slowest: tuple[float, str, Any] = (0.0, "", None)


def time_in_process(env: dict[str, str], corpus: Corpus, samples: int) -> tuple[dict[str, Run], int, int]:
    """Each endpoint through the real request path in this process, one request at a time. Uses the first
    `samples` + warm-up links of each POST list (the load uses the rest). Returns the runs and how many links
    of each POST list were spent."""
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

    client = app.test_client()
    warm = min(5, samples)
    spent = samples + warm

    def survey(index: int) -> Any:
        _, path, body = corpus.survey_posts[index]
        return client.post(path, data=body, content_type="application/x-www-form-urlencoded")

    def review(index: int) -> Any:
        _, path, body = corpus.review_posts[index]
        return client.post(path, data=body, content_type="application/x-www-form-urlencoded")

    def block(index: int) -> Any:
        return client.get(block_path(corpus, index))

    endpoints: tuple[tuple[str, Callable[[int], Any]], ...] = (
        ("survey_answer", survey),
        ("review_submit", review),
        ("product_block", block),
    )
    runs: dict[str, Run] = {}
    try:
        for label, send in endpoints:
            run = Run(label)
            for index in range(spent):
                current = []
                began = time.perf_counter()
                response = send(index)
                response.get_data()
                elapsed = (time.perf_counter() - began) * 1000
                response.close()
                statements, current = current, None
                if index < warm:
                    continue
                run.totals_ms.append(elapsed)
                run.counts.append(len(statements))
                run.sql_ms.append(sum(ms for _, _, ms in statements))
                run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
                for statement, parameters, ms in statements:
                    # Reads only: EXPLAIN ANALYZE runs the statement again, and a write run twice breaks a
                    # unique key (under load an INSERT was the slowest and the run died on it).
                    head = statement.lstrip().upper()
                    if ms > run.slowest[0] and head.startswith(("SELECT", "WITH")) and not head.startswith("SELECT 1"):
                        run.slowest = (ms, statement, parameters)
            runs[label] = run
            log(f"  {label}: in-process p95 {tp.pct(run.totals_ms, 95):.1f} ms")
    finally:
        with app.app_context():
            db.session.remove()
            engine.dispose()
    return runs, spent, spent


# --------------------------------------------------------------------------- under load


def run_wrk_requests(port: int, request_file: Path, seconds: float, connections: int, threads: int) -> dict:
    cmd = [
        "wrk",
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(math.ceil(seconds - 0.01), 1)}s",
        "--timeout",
        "10s",
        "-s",
        str(tp.LUA_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        str(request_file),
        "303",  # the survey's redirect to its follow-up page is a success too
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    match = tp._WRK_LINE.search(proc.stdout)
    if proc.returncode != 0 or not match:
        raise BenchError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    values = {k: float(v) for k, v in (item.split("=", 1) for item in match.group(1).split())}
    return {
        "responses": values["responses"],
        "ok": values["ok200"],
        "other": values["other"] + values["s429"],
        "seconds": values["duration_us"] / 1e6,
        "errors": values["err_connect"] + values["err_read"] + values["err_write"] + values["err_timeout"],
    }


@dataclass
class Load:
    responses: int = 0
    ok: int = 0
    other: int = 0
    errors: int = 0
    seconds: float = 0.0
    server_ms: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0


def drive_requests(
    plan: tp.Plan, server: tp.Gunicorn, lines: list[tuple[str, str, str]], workdir: Path, label: str
) -> Load:
    """Warm up on the first links, then load the server with the rest for plan.duration seconds; server time
    (200 and 303 answers) from gunicorn's access log. Each line is sent at most once per wrk thread pass."""
    warm = min(len(lines) // 10, 200) if plan.warmup > 0 else 0
    result = Load()
    for measured, part, seconds in ((False, lines[:warm], plan.warmup), (True, lines[warm:], plan.duration)):
        if not part or seconds <= 0:
            continue
        path = workdir / f"requests-{label}.txt"
        path.write_text("".join(f"{m}\t{p}\t{b}\n" for m, p, b in part))
        start = server.access_offset()
        out = run_wrk_requests(server.port, path, seconds, plan.connections, plan.wrk_threads)
        time.sleep(0.3)
        if not measured:
            continue
        result.responses += int(out["responses"])
        result.ok += int(out["ok"])
        result.other += int(out["other"])
        result.errors += int(out["errors"])
        result.seconds += out["seconds"]
        for _, entries in server.server_times(start, server.access_offset()).items():
            result.server_ms.extend(ms for status, ms in entries if status in (200, 303))
    if server.proc is not None and server.proc.poll() is not None:
        raise BenchError(f"gunicorn {server.app_spec} died during the run:\n{server.log_tail()}")
    return result


def warm(server: tp.Gunicorn, corpus: Corpus, workers: int) -> None:
    """A few requests of each kind before anything is measured, so every worker has its connections and
    compiled statements (links the in-process run already used: answers are changed, reviews refused 409)."""
    import http.client

    for index in range(max(workers, 1) * 4):
        for method, path, body in (
            corpus.survey_posts[index % len(corpus.survey_posts)],
            corpus.review_posts[index % len(corpus.review_posts)],
            ("GET", block_path(corpus, index), ""),
        ):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            try:
                headers = {"Content-Type": "application/x-www-form-urlencoded"} if method == "POST" else {}
                conn.request(method, path, body=body or None, headers=headers)
                conn.getresponse().read()
            finally:
                conn.close()


def drive_block(plan: tp.Plan, server: tp.Gunicorn, corpus: Corpus, services: tp.Services, workdir: Path) -> Load:
    """The block's GETs through tracking_page's driver (freshly signed app-proxy URLs per window)."""

    def write(path: Path, count: int, offset: int) -> None:
        path.write_text("\n".join(block_path(corpus, offset + i) for i in range(count)) + "\n")

    http = tp.drive(plan, server, "", [], services, workdir, f"block-{server.name}", True, write)
    return Load(http.responses, http.ok200, http.other + http.s429, http.errors, http.seconds, http.server_ms)


# --------------------------------------------------------------------------- report


def report(
    runs: dict[str, Run],
    explained: dict[str, tuple[str, float, float, str]],
    loads: dict[str, Load],
    bare: dict[str, Load],
) -> None:
    print()
    print("in-process server time (create_app + Flask test client, one request at a time):")
    for label, run in runs.items():
        bad = {s: n for s, n in run.statuses.items() if s not in (200, 303)}
        print(
            f"{label} in-process p50: {tp.pct(run.totals_ms, 50):.2f} ms, p95: {tp.pct(run.totals_ms, 95):.2f} ms, "
            f"p99: {tp.pct(run.totals_ms, 99):.2f} ms; statements/request: {sum(run.counts) / len(run.counts):.1f} "
            f"(max {max(run.counts)}); SQL p50 {tp.pct(run.sql_ms, 50):.2f} ms; other than 200/303: "
            f"{sum(bad.values())}{' ' + str(bad) if bad else ''}"
        )
    print("EXPLAIN ANALYZE of the slowest statement seen for each (its SQL and values, generic plan as the app):")
    for label in runs:
        name, planning, execution, summary = explained[label]
        print(
            f"{label} slowest statement: {name} took {runs[label].slowest[0]:.2f} ms; "
            f"EXPLAIN planning {planning:.3f} ms, execution {execution:.3f} ms: {summary}"
        )
    print()
    print("under load (wrk; server time = gunicorn access log %(D)s of the 200/303 answers):")
    for label, load in loads.items():
        base = bare[label]
        print(
            f"{label} under load: {load.rps:.1f} requests/s, server p50 {tp.pct(load.server_ms, 50):.2f} ms, "
            f"p95 {tp.pct(load.server_ms, 95):.2f} ms, p99 {tp.pct(load.server_ms, 99):.2f} ms; ok {load.ok}, "
            f"other {load.other}, errors {load.errors}; bare app, same requests: {base.rps:.1f} requests/s, "
            f"p95 {tp.pct(base.server_ms, 95):.2f} ms"
        )
    sys.stdout.flush()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=None, help="orders to load (default 1,000,000; 2,000 tiny)")
    parser.add_argument("--shops", type=int, default=None, help="shops the orders are spread over (100; 5 tiny)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load per endpoint (15; 1 tiny)")
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per endpoint (2; 0 tiny)")
    parser.add_argument("--connections", type=int, default=None, help="concurrent connections (8; 2 tiny)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (gunicorn.conf.py; 2 tiny)")
    parser.add_argument("--samples", type=int, default=None, help="in-process requests per endpoint (200; 8 tiny)")
    parser.add_argument("--hot-reviews", type=int, default=None, help="reviews of each shop's best seller (2,000)")
    parser.add_argument("--tiny", action="store_true", help="a few seconds in all (for the test suite)")
    add_service_options(parser, "aftercart_bench_engagement", 10)
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
        "hot_reviews": 2_000,
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
    global HOT_REVIEWS
    HOT_REVIEWS = args.hot_reviews
    background = tp.background_cpu(0.5 if args.tiny else 1.0)
    stats = tp.reusable(services, args.orders, args.shops) if args.reuse_db else None
    if stats is None:
        services.create()
    else:
        services.clear_app_keys()
    app_server = tp.Gunicorn("app", "app:create_app()", env, workdir)
    bare_server = tp.Gunicorn("bare", "bare_app:app", env, workdir, ("--pythonpath", str(BENCH_DIR)))
    servers.extend((app_server, bare_server))
    enrich_s: dict[str, float] = {}
    if stats is not None:
        log(f"reusing database {services.db_name} (--reuse-db): nothing loaded; migrating it to this code's head")
        migrate(env, timeout=600)
        if count_extra(services)["surveys"] == 0:
            # another benchmark's data set (the admin one, say): only the surveys and reviews are added
            log("adding surveys, review requests and reviews to the reused data set")
            enrich_s = enrich(services, args.shops)
    else:
        log(f"created database {services.db_name}; migrating")
        migrate(env, timeout=180)
        log(f"loading {args.orders:,} orders over {args.shops} shops")
        stats = tp.load_data(services, tp.DataSet(args.orders, args.shops))
        log("adding surveys, review requests and reviews")
        enrich_s = enrich(services, args.shops)
        tp.count_rows(services, stats)
    for server in servers:
        server.launch()
    extra = count_extra(services)
    print("Aftercart engagement benchmark (surveys and reviews)")
    print(
        f"  machine: {os.cpu_count()} CPUs shared by PostgreSQL, Redis, gunicorn and the load generator; "
        f"CPU busy before the run (other processes): {background:.0%}"
    )
    rows = stats.rows
    print(
        f"load: {rows['orders']:,} orders, {rows['fulfillments']:,} fulfillments, "
        f"{rows['tracking_events']:,} tracking events, {rows['shops']} shops"
    )
    print("engagement data: " + ", ".join(f"{count:,} {name}" for name, count in extra.items()))
    print(f"  each shop's best seller: {HOT_REVIEWS:,} published reviews (1 in 10 with a photo, 1 in 5 replied)")
    if enrich_s:
        print(f"load time: {stats.seconds + sum(enrich_s.values()):.1f} s")
    sys.stdout.flush()
    for server in servers:
        server.wait_ready()

    posts_needed = args.samples + 5 + int((plan.warmup + plan.duration) * 1000) * 2
    corpus = sample_corpus(services, env, posts_needed)
    log(f"timing {args.samples} in-process requests per endpoint")
    self_before = proc_status(os.getpid()).get("VmHWM", 0)
    inproc, spent_surveys, spent_reviews = time_in_process(env, corpus, args.samples)
    self_peak = proc_status(os.getpid()).get("VmHWM", 0)
    explained = {}
    for label, run_ in inproc.items():
        _, statement, parameters = run_.slowest
        explained[label] = explain_generic(services, statement, parameters) if statement else ("none", 0.0, 0.0, "")

    survey_lines = corpus.survey_posts[spent_surveys:]
    review_lines = corpus.review_posts[spent_reviews:]
    if not survey_lines or not review_lines:
        raise BenchError("too few surveys or review requests left for the load (--orders too small)")
    half = len(review_lines) // 2
    for server in servers:
        warm(server, corpus, int(settings["workers"] or 1))
    loads: dict[str, Load] = {}
    bare: dict[str, Load] = {}
    with tp.RssMonitor(servers):
        log(f"survey_answer: {plan.duration:g} s with {plan.connections} connections")
        loads["survey_answer"] = drive_requests(plan, app_server, survey_lines, workdir, "survey")
        bare["survey_answer"] = drive_requests(plan, bare_server, survey_lines, workdir, "survey-bare")
        log(f"review_submit: {plan.duration:g} s with {plan.connections} connections")
        loads["review_submit"] = drive_requests(plan, app_server, review_lines[:half], workdir, "review")
        bare["review_submit"] = drive_requests(plan, bare_server, review_lines[half:], workdir, "review-bare")
        log(f"product_block: {plan.duration:g} s with {plan.connections} connections")
        loads["product_block"] = drive_block(plan, app_server, corpus, services, workdir)
        bare["product_block"] = drive_block(plan, bare_server, corpus, services, workdir)
    tp.stop_all(servers)
    report(inproc, explained, loads, bare)
    print()
    print(f"benchmark process peak RSS while serving in-process: {self_peak / 1024:.1f} MB")
    print(f"  (before the in-process run: {self_before / 1024:.1f} MB)")
    for server in servers:
        top = max(server.peak_kb.values()) / 1024 if server.peak_kb else 0.0
        print(f"{server.name} workers peak RSS: {top:.1f} MB ({len(server.peak_kb)} workers seen)")
    return summarize(stats, inproc, loads, bare, servers, explained, self_peak, args, settings)


def summarize(
    stats: tp.LoadStats,
    inproc: dict[str, Run],
    loads: dict[str, Load],
    bare: dict[str, Load],
    servers: list[tp.Gunicorn],
    explained: dict[str, tuple[str, float, float, str]],
    self_peak_kb: int,
    args: argparse.Namespace,
    settings: dict[str, Any],
) -> int:
    checks = {}
    for label, target in TARGETS_P95_MS.items():
        checks[f"{label} one at a time"] = (tp.pct(inproc[label].totals_ms, 95), target)
        checks[f"{label} under load"] = (tp.pct(loads[label].server_ms, 95), target)
    missed = [name for name, (value, target) in checks.items() if value >= target]
    print()
    print(
        f"targets (p95 server time: survey answer and review submission < 50 ms, product block < 30 ms) with "
        f"{stats.rows['orders']:,} orders, gunicorn workers={settings['workers']}: "
        f"{len(checks) - len(missed)} of {len(checks)} PASS" + (f"; MISS: {', '.join(missed)}" if missed else "")
    )
    failures = sum(n for run in inproc.values() for s, n in run.statuses.items() if s not in (200, 303))
    failures += sum(load.other + load.errors for load in loads.values())

    def ms(values: list[float], p: float) -> float | None:
        return round(tp.pct(values, p), 2) if values else None

    summary = {
        "orders": stats.rows["orders"],
        "shops": stats.rows["shops"],
        "endpoints": {
            label: {
                "inprocess_p50_ms": ms(inproc[label].totals_ms, 50),
                "inprocess_p95_ms": ms(inproc[label].totals_ms, 95),
                "inprocess_p99_ms": ms(inproc[label].totals_ms, 99),
                "statements": round(sum(inproc[label].counts) / len(inproc[label].counts), 1),
                "slowest_statement": explained[label][0],
                "slowest_statement_ms": round(inproc[label].slowest[0], 2),
                "load_rps": round(loads[label].rps, 1),
                "load_p50_ms": ms(loads[label].server_ms, 50),
                "load_p95_ms": ms(loads[label].server_ms, 95),
                "load_p99_ms": ms(loads[label].server_ms, 99),
                "ok": loads[label].ok,
                "bare_rps": round(bare[label].rps, 1),
                "bare_p95_ms": ms(bare[label].server_ms, 95),
            }
            for label in TARGETS_P95_MS
        },
        "peak_rss_mb": {s.name: round(max(s.peak_kb.values()) / 1024, 1) if s.peak_kb else None for s in servers},
        "inprocess_peak_rss_mb": round(self_peak_kb / 1024, 1),
        "missed": missed,
        "failures": failures,
    }
    print("RESULT_JSON " + json.dumps(summary, sort_keys=True))
    if failures:
        log(f"{failures} requests did not answer 200/303")
        return 2
    if args.enforce_target and missed:
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not shutil.which("wrk"):
        log("wrk is not installed (apt-get install wrk)")
        return 2
    plan = tp.Plan(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        wrk_threads=1 if args.connections < 8 else 2,
        loadgen="wrk",
        urls_per_window=500 if args.tiny else 5_000,
    )
    windows = math.ceil(plan.duration / tp.SIGNED_WINDOW_S) + 1
    bound = int(240 + args.orders * 0.004 + 6 * (plan.warmup + plan.duration + 5 * windows) + 3 * args.samples * 0.3)
    services = tp.Services(args.pg_admin, args.db_name, args.redis, args.redis_db)
    env = tp.base_env(services, args.workers)
    env.update(SECRET_KEY=SECRET_KEY)
    settings = gunicorn_settings(dict(env, PORT="0"))
    log(f"gunicorn settings: {settings}; time bound {bound} s")
    workdir = Path(tempfile.mkdtemp(prefix="aftercart-bench-engagement-"))
    servers: list[tp.Gunicorn] = []

    def cleanup() -> None:
        tp.stop_all(servers)
        if not args.keep_db:
            services.drop()

    return bounded_run(bound, lambda: run(args, plan, services, env, settings, workdir, servers), cleanup, workdir)


if __name__ == "__main__":
    sys.exit(main())
