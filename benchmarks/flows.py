"""How long the periodic flow scheduler takes to find the due steps among a million orders.

    .venv/bin/python benchmarks/flows.py            # 1,000,000 orders (a few minutes to load)
    .venv/bin/python benchmarks/flows.py --tiny     # 2,000 orders, seconds, for the test suite

1. creates the database `aftercart_bench_flows`, migrates it to head and loads, in two rounds, a tenth and then
   all of N orders over 5 shops, each with one flow enrolment (as if every order had entered a flow): most are
   waiting with a step due in the next 90 days, a share finished or stopped, and a fixed 200 due now;
2. after each round times `due_enrolments` (the query `send_due_flow_steps` runs: `status = 'active' AND
   next_due_at <= now` on the partial index, oldest first, 500 at most, FOR UPDATE SKIP LOCKED) `--runs` times
   and prints p50/p95/p99, the rows found and PostgreSQL's plan; the two rounds show the time does not grow with
   the rows that are not due;
3. prints the baseline from the same run: the same query with index scans switched off (what a scan of every
   enrolment costs, as finding due steps by reading the orders would), and the process's peak memory;
4. drops its database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHOPS = 5
DUE_NOW = 200
TARGET_P95_MS = 1000.0


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="2,000 orders, a few seconds (for the test suite)")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--db-name", default="aftercart_bench_flows")
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get(
            "AFTERCART_BENCH_PG_ADMIN",
            os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test"),
        ),
    )
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    if args.tiny:
        args.orders, args.runs = 2_000, 20
    return args


def load(conn: psycopg.Connection, first: int, last: int, due_now: bool) -> None:
    """Orders first..last (numbering across the shops) and one enrolment each; the first round adds the due ones."""
    conn.execute(
        """
        INSERT INTO orders (shop_id, shopify_order_id, name, order_number, email, shopify_customer_id, status,
                            is_fulfillment_overdue, total_price, currency, shopify_created_at, created_at, updated_at)
        SELECT s.id, 5000000000000 + n, '#' || n, n, 'shopper' || n || '@example.com', 7000000000000 + n,
               'delivered', false, 990.00, 'THB', now() - (n %% 365) * interval '1 day', now(), now()
        FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
        JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM shops) s ON s.k = n %% %(shops)s
        """,
        {"first": first, "last": last, "shops": SHOPS},
    )
    # Most wait for a step in the next 90 days; one in five finished or stopped (kept for the shop's figures).
    conn.execute(
        """
        INSERT INTO flow_enrolments (shop_id, flow_id, dedupe_key, shopify_order_id, shopify_customer_id, email,
                                     status, step_index, steps_sent, anchored_at, next_due_at, enrolled_at,
                                     updated_at)
        SELECT o.shop_id, f.id, f.id || ':delivered:' || o.shopify_order_id, o.shopify_order_id,
               o.shopify_customer_id, o.email,
               CASE WHEN o.order_number %% 5 = 0 THEN 'completed' ELSE 'active' END,
               0, 0, now() - interval '1 day',
               CASE WHEN o.order_number %% 5 = 0 THEN NULL
                    ELSE now() + interval '1 hour' + (o.order_number %% 90) * interval '1 day' END,
               now(), now()
        FROM orders o JOIN flows f ON f.shop_id = o.shop_id AND f.kind = 'post_delivery'
        WHERE o.order_number BETWEEN %(first)s AND %(last)s
        """,
        {"first": first, "last": last},
    )
    if due_now:
        conn.execute(
            """
            UPDATE flow_enrolments SET next_due_at = now() - (id %% 60) * interval '1 minute'
            WHERE id IN (SELECT id FROM flow_enrolments WHERE status = 'active' ORDER BY id LIMIT %(due)s)
            """,
            {"due": DUE_NOW},
        )
    conn.execute("ANALYZE orders")
    conn.execute("ANALYZE flow_enrolments")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def time_finding(app, runs: int, *, no_index: bool = False) -> tuple[list[float], int, str]:
    """Milliseconds per `due_enrolments` call (each in its own transaction, rolled back), rows found, plan."""
    from sqlalchemy import text

    from app.db import utcnow
    from app.extensions import db
    from app.flows.services import due_enrolments

    timings: list[float] = []
    found = 0
    with app.app_context():
        for _ in range(runs):
            if no_index:
                db.session.execute(text("SET LOCAL enable_indexscan = off"))
                db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
            start = time.perf_counter()
            found = len(due_enrolments(db.session, utcnow()))
            timings.append((time.perf_counter() - start) * 1000)
            db.session.rollback()
            db.session.expunge_all()
        if no_index:
            db.session.execute(text("SET LOCAL enable_indexscan = off"))
            db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
        plan = db.session.execute(
            text(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT * FROM flow_enrolments WHERE status = 'active' "
                "AND next_due_at <= now() ORDER BY next_due_at LIMIT 500 FOR UPDATE SKIP LOCKED"
            )
        ).scalars()
        plan_text = " / ".join(line.strip() for line in plan if "Index" in line or "Scan" in line or "Filter" in line)
        db.session.rollback()
    return timings, found, plan_text


def report(label: str, orders: int, timings: list[float], found: int, plan: str) -> dict[str, float]:
    figures = {
        "p50_ms": statistics.median(timings),
        "p95_ms": percentile(timings, 95),
        "p99_ms": percentile(timings, 99),
    }
    print(
        f"{label} with {orders:,} orders: p50 {figures['p50_ms']:.2f} ms, p95 {figures['p95_ms']:.2f} ms, "
        f"p99 {figures['p99_ms']:.2f} ms; due found {found} ({len(timings)} runs); plan: {plan}"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base = args.pg_admin.rsplit("/", 1)[0]
    database_url = f"postgresql+psycopg://{base.split('://', 1)[1]}/{args.db_name}"
    with psycopg.connect(args.pg_admin, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.db_name}"')
        admin.execute(f'CREATE DATABASE "{args.db_name}"')
    log(f"created database {args.db_name}; migrating")
    env = {**os.environ, "AFTERCART_ENV": "demo", "DATABASE_URL": database_url}
    try:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        os.environ.update(AFTERCART_ENV="demo", DATABASE_URL=database_url)
        from app import create_app
        from app.extensions import db
        from app.flows.services import set_flow_enabled
        from app.shopify.models import Shop

        app = create_app()
        with app.app_context():
            for n in range(SHOPS):
                shop = Shop(domain=f"bench-flows-{n}.myshopify.com", is_installed=True, name=f"Shop {n}")
                db.session.add(shop)
                db.session.flush()
                set_flow_enabled(db.session, shop.id, "post_delivery", True)
            db.session.commit()
        pg_url = f"{base}/{args.db_name}"
        results: dict[str, dict[str, float]] = {}
        tenth = max(args.orders // 10, DUE_NOW * 2)
        started = time.perf_counter()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            load(conn, 1, tenth, due_now=True)
        log(f"loaded {tenth:,} orders in {time.perf_counter() - started:.1f} s")
        timings, found, plan = time_finding(app, args.runs)
        results["tenth"] = report("find due steps", tenth, timings, found, plan)
        started = time.perf_counter()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            load(conn, tenth + 1, args.orders, due_now=False)
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        load_s = time.perf_counter() - started
        print(
            f"load: {args.orders:,} orders, {args.orders:,} enrolments ({DUE_NOW} due), {SHOPS} shops; database {size}"
        )
        print(f"load time: {load_s:.1f} s for the second round")
        timings, found, plan = time_finding(app, args.runs)
        results["full"] = report("find due steps", args.orders, timings, found, plan)
        base_timings, base_found, base_plan = time_finding(app, max(3, args.runs // 10), no_index=True)
        results["baseline"] = report(
            "baseline (same query, index scans off)", args.orders, base_timings, base_found, base_plan
        )
        growth = results["full"]["p95_ms"] / max(results["tenth"]["p95_ms"], 0.001)
        print(
            f"growth of p95 from {tenth:,} to {args.orders:,} orders: x{growth:.2f} "
            f"(the baseline's scan: x{results['baseline']['p95_ms'] / max(results['full']['p95_ms'], 0.001):.0f} "
            "slower than the index at full size)"
        )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"benchmark process peak RSS: {peak_mb:.1f} MB")
        verdict = "PASS" if results["full"]["p95_ms"] < TARGET_P95_MS and found == DUE_NOW else "FAIL"
        print(f"target p95 < 1 s per run among {args.orders:,} orders: {verdict}")
        print("RESULT_JSON " + json.dumps({"orders": args.orders, "due": found, **results, "peak_rss_mb": peak_mb}))
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return 0 if verdict == "PASS" else 1
    finally:
        if not args.keep_db:
            with psycopg.connect(args.pg_admin, autocommit=True) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                    "pg_backend_pid()",
                    (args.db_name,),
                )
                admin.execute(f'DROP DATABASE IF EXISTS "{args.db_name}"')


if __name__ == "__main__":
    raise SystemExit(main())
