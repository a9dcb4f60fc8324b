"""Recommendations at shop scale: full model rebuild, serving latency, and quality against best sellers.

    .venv/bin/python benchmarks/recommendations.py                 # 10,000 products, 200,000 orders
    .venv/bin/python benchmarks/recommendations.py --tiny          # seconds, for the test suite
    .venv/bin/python benchmarks/recommendations.py --products 2000 --orders 40000

What it does (the database it creates is dropped at the end, even on failure, unless --keep-db):

1. builds a synthetic shop with realistic co-purchase structure: products in categories (product types)
   with Zipf popularity inside each; every category has a complementary one (tee -> shorts); shoppers have
   a home category and buy in it and its complement, sometimes a shop-wide best seller, and come back for
   a product's "follow-up" (the next in its line: refills, the next volume). Orders are spread over two
   years, each shopper's in time order. Each repeat shopper's LAST order is held out.
2. bulk-loads the catalogue and the training orders (COPY), then times a full rebuild
   (app.recommendations.model_build.rebuild_models) and reports the process's peak memory.
3. times serving: app.recommendations.recommend() for held-out shoppers' previous orders, one request at
   a time (p50/p95/p99 per request, from precomputed data, impression counting included), and the
   incremental update of one new order (apply_order).
4. hit rate at 5 on held-out next purchases: the share of shoppers whose held-out order contains one of the
   five products recommended after their previous order, against the best-seller baseline (top five best
   sellers not already bought) in the same run.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import random
import statistics
import sys
import time
from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import BenchError, log, proc_status, time_bound  # noqa: E402

PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_P95_MS = 10.0
CATEGORY_SIZE = 20
START = datetime(2024, 11, 1, tzinfo=UTC)
SPAN_DAYS = 730


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


class Zipf:
    """Draws 0..n-1 with probability proportional to 1 / (rank + 1) ** s."""

    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        self.cumulative = list(accumulate(1.0 / (i + 1) ** s for i in range(n)))
        self.rng = rng

    def draw(self) -> int:
        return bisect_left(self.cumulative, self.rng.random() * self.cumulative[-1])


class SyntheticShop:
    def __init__(self, n_products: int, n_orders: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n_products = n_products
        self.n_categories = max(2, n_products // CATEGORY_SIZE)
        self.within = Zipf(CATEGORY_SIZE, 1.1, self.rng)
        self.global_best = Zipf(n_products, 1.2, self.rng)
        self.category_pick = Zipf(self.n_categories, 0.8, self.rng)
        self.orders: list[tuple[int, int, datetime, list[int]]] = []  # (order id, customer, when, products)
        self._make_orders(n_orders)

    def product(self, category: int, rank: int) -> int:
        return 1 + category * CATEGORY_SIZE + rank

    def category_of(self, product: int) -> int:
        return (product - 1) // CATEGORY_SIZE

    def complement(self, category: int) -> int:
        return category ^ 1 if (category ^ 1) < self.n_categories else category

    def follow_up(self, product: int) -> int:
        category, rank = divmod(product - 1, CATEGORY_SIZE)
        return self.product(category, (rank + 1) % CATEGORY_SIZE)

    def _basket(self, home: int, previous: list[int] | None) -> list[int]:
        rng = self.rng
        focus = self.complement(home) if previous and rng.random() < 0.4 else home
        items = {self.product(focus, self.within.draw())}
        if previous and rng.random() < 0.35:
            items.add(self.follow_up(rng.choice(previous)))
        if rng.random() < 0.5:
            items.add(self.product(self.complement(focus), self.within.draw()))
        if rng.random() < 0.3:
            items.add(self.product(focus, self.within.draw()))
        if rng.random() < 0.15:
            items.add(1 + self.global_best.draw())
        return sorted(items)

    def _make_orders(self, n_orders: int) -> None:
        rng = self.rng
        order_id = 1_000_000
        customer = 0
        while len(self.orders) < n_orders:
            customer += 1
            home = self.category_pick.draw()
            count = min(n_orders - len(self.orders), 1 + int(rng.expovariate(1 / 2.3)))
            when = START + timedelta(days=rng.uniform(0, SPAN_DAYS * 0.7))
            previous = None
            for _ in range(count):
                order_id += 1
                basket = self._basket(home, previous)
                self.orders.append((order_id, customer, when, basket))
                previous = basket
                when += timedelta(days=rng.uniform(5, 60))

    def split(self) -> tuple[list, dict[int, tuple]]:
        """Training orders, and each repeat customer's last order (held out)."""
        last: dict[int, tuple] = {}
        counts: dict[int, int] = {}
        for order in self.orders:
            counts[order[1]] = counts.get(order[1], 0) + 1
            last[order[1]] = order
        held = {c: o for c, o in last.items() if counts[c] >= 2}
        held_ids = {o[0] for o in held.values()}
        return [o for o in self.orders if o[0] not in held_ids], held


def _copy(cursor, sql: str, rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v).replace("\\", "\\\\") for v in row) + "\n")
    buffer.seek(0)
    with cursor.copy(sql) as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def load(database_url: str, data: SyntheticShop, training: list) -> int:
    import psycopg

    now = datetime.now(UTC).isoformat()
    rng = random.Random(99)
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO shops (domain, name, currency, is_installed, needs_reauth, created_at) "
            "VALUES ('bench-recs.myshopify.com', 'Bench', 'THB', true, false, now()) RETURNING id"
        )
        shop_id = cur.fetchone()[0]
        products = []
        variants = []
        for product in range(1, data.n_products + 1):
            hidden = rng.random() < 0.03
            products.append(
                (
                    shop_id,
                    product,
                    f"Product {product}",
                    f"product-{product}",
                    f"type-{data.category_of(product)}",
                    "active",
                    "f" if hidden else "t",
                    "t",
                    f"https://cdn.example.com/{product}.jpg",
                    f"{100 + product % 900}.00",
                    now,
                    now,
                    now,
                )
            )
            variants.append((shop_id, product * 10, product, "Default", 1, f"{100 + product % 900}.00", "t"))
        _copy(
            cur,
            "COPY catalog_products (shop_id, shopify_product_id, title, handle, product_type, status, "
            "is_published, is_available, image_url, min_price, shopify_updated_at, created_at, updated_at) "
            "FROM STDIN",
            products,
        )
        _copy(
            cur,
            "COPY catalog_variants (shop_id, shopify_variant_id, shopify_product_id, title, position, "
            "price, is_available) FROM STDIN",
            variants,
        )
        rows = []
        for order_id, customer, when, basket in training:
            lines = json.dumps(
                [
                    {"id": order_id * 10 + i, "product_id": p, "variant_id": p * 10, "quantity": 1}
                    for i, p in enumerate(basket)
                ]
            )
            stamp = when.isoformat()
            rows.append(
                (
                    shop_id,
                    order_id,
                    f"#{order_id}",
                    order_id,
                    customer,
                    f"c{customer}@example.com",
                    lines,
                    "ordered",
                    "f",
                    "THB",
                    "990.00",
                    stamp,
                    stamp,
                    stamp,
                    stamp,
                )
            )
        _copy(
            cur,
            "COPY orders (shop_id, shopify_order_id, name, order_number, shopify_customer_id, email, "
            "line_items, status, is_fulfillment_overdue, currency, total_price, shopify_created_at, "
            "shopify_updated_at, created_at, updated_at) FROM STDIN",
            rows,
        )
        conn.commit()
        # The steady state of a live shop, where autovacuum has long since visited the catalogue and the
        # orders: statistics, hint bits and visibility maps set (fresh COPYs would pay for them on first read).
        conn.autocommit = True
        cur.execute("VACUUM (ANALYZE)")
    return shop_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=2_000, help="held-out shoppers served and scored")
    parser.add_argument("--tiny", action="store_true", help="300 products, 3,000 orders, 200 requests")
    parser.add_argument("--db-name", default="aftercart_bench_recs")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    if args.tiny:
        args.products, args.orders, args.requests = 300, 3_000, 200

    import psycopg

    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    database_url = f"{base}/{args.db_name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.db_name}"')
    try:
        with time_bound(3600):
            return run(args, database_url)
    finally:
        if not args.keep_db:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')


def run(args: argparse.Namespace, database_url: str) -> int:
    from flask_migrate import upgrade

    from app import create_app
    from app.config import Settings
    from app.extensions import db

    settings = Settings.from_env(
        {
            "AFTERCART_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
            "SHOPIFY_API_KEY": "bench",
            "SHOPIFY_API_SECRET": "bench-recommendations-secret",
            "SHOPIFY_APP_URL": "https://aftercart.bench",
        }
    )
    app = create_app(settings)
    started = time.perf_counter()
    data = SyntheticShop(args.products, args.orders, args.seed)
    training, held = data.split()
    log(f"generated in {time.perf_counter() - started:.1f} s")
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        shop_id = load(database_url, data, training)
        load_s = time.perf_counter() - started
        print(
            f"catalogue: {args.products:,} products in {data.n_categories:,} types; orders: {len(data.orders):,} "
            f"({len(training):,} loaded, {len(held):,} held-out next purchases)"
        )
        print(f"load time: {load_s:.1f} s")

        from app.recommendations import model_build, recommend
        from app.recommendations.ranking import best_sellers

        rss_before = proc_status(os.getpid()).get("VmRSS", 0) / 1024
        started = time.perf_counter()
        counts = model_build.rebuild_models(db.session, shop_id)
        rebuild_s = time.perf_counter() - started
        peak_mb = proc_status(os.getpid()).get("VmHWM", 0) / 1024
        print(
            f"full rebuild: {rebuild_s:.2f} s ({counts['orders']:,} orders, {counts['copurchase_pairs']:,} "
            f"co-purchase rows, {counts['sequence_pairs']:,} next-purchase rows, {counts['products']:,} products)"
        )
        print(f"peak memory (VmHWM): {peak_mb:.0f} MB (RSS before rebuild {rss_before:.0f} MB)")

        # The generated shop (a million Python objects) stays alive for scoring; out of the collector's way it
        # does not slow the serving loop, as it would not exist in a web worker.
        gc.collect()
        gc.freeze()

        # Serving: for held-out shoppers, their last *training* order is the page they are looking at.
        from sqlalchemy import select

        from app.orders.models import Order

        rng = random.Random(args.seed + 1)
        customers = sorted(held)
        rng.shuffle(customers)
        customers = customers[: args.requests]
        last_training: dict[int, int] = {}
        for order_id, customer, _, _ in training:
            last_training[customer] = order_id
        id_of = dict(
            db.session.execute(
                select(Order.shopify_order_id, Order.id).where(
                    Order.shop_id == shop_id, Order.shopify_order_id.in_([last_training[c] for c in customers])
                )
            ).all()
        )
        bought: dict[int, set[int]] = {}
        for _, customer, _, basket in training:
            bought.setdefault(customer, set()).update(basket)
        db.session.remove()

        # Each request in its own application context, so it ends as a request does (app.db's teardown: COMMIT
        # for a read-only one, which keeps psycopg's prepared statements).
        for customer in customers[:20]:  # warm up connections and caches
            with app.app_context():
                recommend(shop_id, "tracking_page", order_id=id_of[last_training[customer]], limit=5)
        timings: list[float] = []
        hits = 0
        for customer in customers:
            with app.app_context():
                started = time.perf_counter()
                cards = recommend(shop_id, "tracking_page", order_id=id_of[last_training[customer]], limit=5)
                timings.append((time.perf_counter() - started) * 1000)
            if {c.product_id for c in cards} & set(held[customer][3]):
                hits += 1
        sellers = list(best_sellers(db.session, shop_id, limit=200))
        baseline_hits = 0
        for customer in customers:
            top = [p for p in sellers if p not in bought.get(customer, set())][:5]
            if set(top) & set(held[customer][3]):
                baseline_hits += 1
        # The same requests without counting the impression (a small write of its own): serving alone.
        from app.recommendations import _cards

        serving_only: list[float] = []
        for customer in customers:
            with app.app_context():
                started = time.perf_counter()
                _cards(shop_id, "tracking_page", id_of[last_training[customer]], None, (), "en", 5)
                serving_only.append((time.perf_counter() - started) * 1000)
        p50, p95, p99 = pct(timings, 50), pct(timings, 95), pct(timings, 99)
        verdict = "met" if p95 < TARGET_P95_MS else "NOT met"
        print(
            f"serving p50: {p50:.2f} ms, p95: {p95:.2f} ms, p99: {p99:.2f} ms over {len(timings):,} requests "
            f"(target p95 < {TARGET_P95_MS:g} ms: {verdict})"
        )
        print(
            f"serving without impression counting p50: {pct(serving_only, 50):.2f} ms, "
            f"p95: {pct(serving_only, 95):.2f} ms"
        )
        model_rate = hits / len(customers) if customers else 0.0
        base_rate = baseline_hits / len(customers) if customers else 0.0
        print(
            f"hit rate@5: model {model_rate:.1%} vs best sellers {base_rate:.1%} "
            f"({len(customers):,} held-out next purchases)"
        )

        # Incremental: one new order for some of the held-out shoppers, counted as it would be after a webhook.
        incremental: list[float] = []
        for customer in customers[:100]:
            order_id, _, when, basket = held[customer]
            db.session.add(
                Order(
                    shop_id=shop_id,
                    shopify_order_id=order_id,
                    name=f"#{order_id}",
                    shopify_customer_id=customer,
                    email=f"c{customer}@example.com",
                    line_items=[{"product_id": p, "variant_id": p * 10} for p in basket],
                    shopify_created_at=when,
                    shopify_updated_at=when,
                )
            )
            db.session.commit()
            started = time.perf_counter()
            model_build.apply_order(db.session, shop_id, order_id)
            db.session.commit()
            incremental.append((time.perf_counter() - started) * 1000)
        print(f"incremental update per order: p50 {pct(incremental, 50):.2f} ms, p95 {pct(incremental, 95):.2f} ms")
        print(
            "RESULT_JSON "
            + json.dumps(
                {
                    "products": args.products,
                    "orders": len(data.orders),
                    "held_out": len(held),
                    "rebuild_s": round(rebuild_s, 3),
                    "peak_mb": round(peak_mb, 1),
                    "serving_ms": {
                        "p50": round(p50, 3),
                        "p95": round(p95, 3),
                        "p99": round(p99, 3),
                        "mean": round(statistics.fmean(timings), 3) if timings else 0,
                    },
                    "serving_only_ms_p95": round(pct(serving_only, 95), 3),
                    "hit_rate_at_5": {
                        "model": round(model_rate, 4),
                        "best_sellers": round(base_rate, 4),
                        "n": len(customers),
                    },
                    "incremental_ms_p50": round(pct(incremental, 50), 3),
                }
            )
        )
        db.session.remove()
        db.engine.dispose()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        log(f"cannot run: {exc}")
        sys.exit(2)
