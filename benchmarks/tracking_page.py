"""Shopper tracking lookups at scale: GET /proxy/track and /proxy/api/track against a million orders.

    .venv/bin/python benchmarks/tracking_page.py [--orders N] [--duration S] [--shops K] [--workers W]
    .venv/bin/python benchmarks/tracking_page.py --tiny          # seconds, for the test suite
    .venv/bin/python benchmarks/tracking_page.py --keep-db ...   # then --reuse-db: skip the load next time

What it does, in order (everything it creates is removed at the end, even on failure or timeout):

1. creates the database `aftercart_bench_tracking`, migrates it (`flask db upgrade`) and bulk-loads
   N orders across K shops (one fulfilment and three tracking events per order) with COPY, the
   rows filled the way the webhook handlers and app/tracking/services.py fill them; then ANALYZE.
2. times the real request path in-process (create_app + Flask's test client, same database, same
   Redis rate limiter), one request at a time: wall and CPU time per endpoint, the SQL and Redis
   share of each request, and EXPLAIN ANALYZE of the exact statements one request issued
   (--profile adds a CPU profile grouped by package).
3. starts the app (`gunicorn --config gunicorn.conf.py "app:create_app()"`) and a bare WSGI app
   (benchmarks/bare_app.py) under the same gunicorn settings, and loads each with pre-signed URLs
   (wrk and benchmarks/tracking_urls.lua, or a Python client when wrk is missing): requests/s,
   client latency, SERVER time read from gunicorn's access log (%(D)s: from the parsed request to
   the last byte written), and the CPU the workers and PostgreSQL backends spent per request.
4. prints the theme extension's asset sizes (raw and gzip -9) and the workers' peak RSS.

Signed URLs: Shopify's app-proxy signature (hex HMAC-SHA256 of the sorted `k=v` pairs) with a
timestamp that must be within 90 s, so URLs are re-signed before every <= 60 s load window.
Rate limits: the app runs as behind one trusted proxy (TRUSTED_PROXY_HOPS=1, as behind Shopify's app proxy
and a load balancer), every request has its own X-Forwarded-For, and the load is spread over K shops; the
limiter's counters in this run's Redis db are cleared before each window, and 429s are counted and reported.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import hmac
import json
import math
import multiprocessing
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _common import (  # noqa: E402
    BenchError,
    GunicornServer,
    add_service_options,
    bounded_run,
    children,
    fill_defaults,
    free_port,
    gunicorn_settings,  # noqa: E402
    log,
    migrate,
    resolve_loadgen,
)
from _common import cpu_seconds as _cpu_seconds  # noqa: E402
from _common import proc_status as _proc_status  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "tracking_urls.lua"
BARE_APP = BENCH_DIR / "bare_app.py"

SECRET = "bench-tracking-secret"
PAGE_PATH = "/proxy/track"
JSON_PATH = "/proxy/api/track"
TARGET_P95_MS = 50.0  # from the issue: p95 server time with 1,000,000 orders
SIGNED_WINDOW_S = 60.0  # a load window never outlives its signatures (90 s tolerance)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile of unsorted values (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(math.ceil(p / 100.0 * len(ordered)), 1)
    return ordered[min(rank, len(ordered)) - 1]


# --------------------------------------------------------------------------- services


@dataclass
class Services:
    pg_admin_url: str
    db_name: str
    redis_base: str
    redis_db: int

    @property
    def database_url(self) -> str:
        return f"{self.pg_admin_url.rsplit('/', 1)[0]}/{self.db_name}"

    @property
    def redis_url(self) -> str:
        return f"{self.redis_base.rstrip('/')}/{self.redis_db}"

    def pg(self, url: str | None = None, autocommit: bool = True):
        import psycopg

        return psycopg.connect(url or self.pg_admin_url, autocommit=autocommit, connect_timeout=5)

    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url, socket_timeout=10)

    def create(self) -> None:
        with self.pg() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.clear_app_keys()

    def backend_cpu(self, since: dict[int, float] | None = None) -> Any:
        """CPU seconds of the PostgreSQL backends connected to the bench database (not this reader),
        or the total used since an earlier reading. Needs /proc of the database server (loopback)."""
        try:
            with self.pg() as conn:
                pids = [
                    row[0]
                    for row in conn.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                        (self.db_name,),
                    )
                ]
        except Exception:
            pids = []
        now = {pid: _cpu_seconds(pid) for pid in pids}
        if since is None:
            return now
        return sum(value - since.get(pid, 0.0) for pid, value in now.items())

    def clear_app_keys(self) -> int:
        """Forget the app's keys in this run's Redis db (rate-limit windows): nothing else is touched."""
        conn = self.redis()
        keys = list(conn.scan_iter(match="aftercart:*", count=5000))
        for start in range(0, len(keys), 5000):
            conn.delete(*keys[start : start + 5000])
        return len(keys)

    def drop(self) -> None:
        try:
            with self.pg() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except Exception as exc:  # cleanup must go on
            log(f"could not drop database {self.db_name}: {exc}")
        try:
            self.clear_app_keys()
        except Exception as exc:
            log(f"could not clear redis db {self.redis_db}: {exc}")


def base_env(services: Services, workers: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFTERCART_", "GUNICORN_", "SHOPIFY_"))}
    env.update(
        AFTERCART_ENV="test",
        DATABASE_URL=services.database_url,
        REDIS_URL=services.redis_url,
        SHOPIFY_API_KEY="bench-api-key",
        SHOPIFY_API_SECRET=SECRET,
        SHOPIFY_APP_URL="https://aftercart.bench.invalid",
        TRUSTED_PROXY_HOPS="1",
        PYTHONUNBUFFERED="1",
    )
    env.pop("WEB_CONCURRENCY", None)
    if workers is not None:
        env["WEB_CONCURRENCY"] = str(workers)
    return env


# --------------------------------------------------------------------------- data set

FIRST_NAMES = (
    "somchai",
    "nattaya",
    "jon",
    "maria",
    "kenji",
    "aiko",
    "olivia",
    "james",
    "ploy",
    "arthit",
    "emma",
    "liam",
    "sakura",
    "hiro",
    "noah",
    "ava",
    "chloe",
    "mali",
    "krit",
    "sophie",
)
LAST_NAMES = (
    "srisuk",
    "wong",
    "smith",
    "garcia",
    "tanaka",
    "sato",
    "brown",
    "jones",
    "chaiyaporn",
    "kim",
    "nguyen",
    "taylor",
    "suzuki",
    "williams",
    "phan",
    "lee",
    "martin",
    "rattana",
)
MAIL_DOMAINS = ("gmail.com", "hotmail.com", "yahoo.co.th", "outlook.com", "icloud.com", "example.com")
PRODUCTS = (
    ("Organic Cotton Tee", ("S / White", "M / Black", "L / Navy")),
    ("Linen Shirt", ("M / Sand", "L / Olive")),
    ("Canvas Tote Bag", (None,)),
    ("Ceramic Mug", ("Blue", "Cream")),
    ("Running Socks (3 pack)", ("39-42", "43-46")),
    ("Thai Silk Scarf", ("Indigo", "Gold")),
    ("Bamboo Toothbrush", (None,)),
    ("Leather Wallet", ("Brown", "Black")),
    ("Jasmine Rice Candle", ("200 g",)),
    ("Rain Jacket", ("S", "M", "L", "XL")),
)


def _catalog() -> tuple[tuple[str, str, int, int, str], ...]:
    """(title JSON, variant title JSON, product id, variant id, sku) for every product variant."""
    out = []
    for p_index, (title, variants) in enumerate(PRODUCTS):
        for v_index, variant in enumerate(variants):
            # COPY text format: a backslash in the JSON (\uXXXX escapes) must be doubled.
            out.append(
                (
                    json.dumps(title).replace("\\", "\\\\"),
                    json.dumps(variant).replace("\\", "\\\\"),
                    8_800_000_000 + p_index,
                    44_000_000_000 + p_index * 100 + v_index,
                    f"SKU-{p_index:02d}{v_index:02d}",
                )
            )
    return tuple(out)


PRODUCT_CATALOG = _catalog()

# (time zone, currency, country, country name, customer locale, [(city, province)], [tracking_company])
PROFILES = (
    (
        "Asia/Bangkok",
        "THB",
        "TH",
        "Thailand",
        "th",
        (
            ("Bangkok", "Bangkok"),
            ("Chiang Mai", "Chiang Mai"),
            ("Phuket", "Phuket"),
            ("Khon Kaen", "Khon Kaen"),
            ("Nonthaburi", "Nonthaburi"),
        ),
        ("Thailand Post", "Kerry Express", "Flash Express", "J&T Express"),
    ),
    (
        "America/New_York",
        "USD",
        "US",
        "United States",
        "en",
        (("Brooklyn", "NY"), ("Austin", "TX"), ("Seattle", "WA"), ("Denver", "CO")),
        ("UPS", "USPS", "FedEx"),
    ),
    (
        "Europe/London",
        "GBP",
        "GB",
        "United Kingdom",
        "en",
        (("London", "England"), ("Manchester", "England"), ("Edinburgh", "Scotland")),
        ("Royal Mail", "DHL Express"),
    ),
    (
        "Asia/Tokyo",
        "JPY",
        "JP",
        "Japan",
        "ja",
        (("Tokyo", "Tokyo"), ("Osaka", "Osaka"), ("Sapporo", "Hokkaido")),
        ("Japan Post",),
    ),
)
PROFILE_WEIGHTS = (0.5, 0.25, 0.15, 0.10)

# shipment outcome: (share, final event status, shipment_state, is_delayed, order status)
OUTCOMES = (
    (0.60, "delivered", "delivered", False, "delivered"),
    (0.25, "in_transit", "in_transit", False, "in_transit"),
    (0.08, "out_for_delivery", "out_for_delivery", False, "out_for_delivery"),
    (0.04, "in_transit", "in_transit", True, "delayed"),
    (0.03, "attempted_delivery", "attempted_delivery", False, "attempted_delivery"),
)
EVENT_MESSAGES = {
    "confirmed": "Shipment information received",
    "in_transit": "In transit to the destination facility",
    "out_for_delivery": "Out for delivery",
    "delivered": "Delivered",
    "attempted_delivery": "Delivery attempted: nobody at the address",
}

ORDER_COLUMNS = (
    "id", "shop_id", "shopify_order_id", "admin_graphql_api_id", "name", "order_number", "shopify_customer_id",
    "email", "phone", "customer_first_name", "customer_name", "phone_key", "customer_locale", "financial_status",
    "fulfillment_status", "total_price", "currency", "line_items", "shipping_country", "shipping_province", "status",
    "is_fulfillment_overdue", "cancelled_at", "closed_at", "shopify_created_at", "shopify_updated_at", "created_at",
    "updated_at",
)  # fmt: skip
FULFILLMENT_COLUMNS = (
    "id", "shop_id", "shopify_fulfillment_id", "shopify_order_id", "admin_graphql_api_id", "name", "status",
    "shipment_status", "tracking_company", "tracking_numbers", "tracking_number", "tracking_urls", "line_items",
    "destination_country", "shopify_created_at", "shopify_updated_at", "created_at", "updated_at", "shipment_state",
    "carrier_code", "carrier_name", "tracking_url", "shipped_at", "delivered_at", "last_scan_at",
    "carrier_estimated_delivery_at", "estimate_from", "estimate_to", "estimate_source", "is_delayed", "is_stalled",
)  # fmt: skip
EVENT_COLUMNS = (
    "id", "shop_id", "shopify_fulfillment_id", "shopify_order_id", "source", "external_id", "status", "raw_status",
    "message", "city", "province", "country", "happened_at", "estimated_delivery_at", "created_at",
)  # fmt: skip
ORDER_ID0, FULFILLMENT_ID0, EVENT_ID0, LINE_ID0, CUSTOMER_ID0 = (
    5_100_000_000_000,
    4_200_000_000_000,
    3_300_000_000_000,
    14_000_000_000_000,
    7_000_000_000_000,
)
BIG_TABLES = ("orders", "fulfillments", "tracking_events")


def shop_domain(index: int) -> str:
    return f"bench-shop-{index:04d}.myshopify.com"


class TrackingNumbers:
    """Numbers in each carrier's real format (check digits included), linked the way
    app/tracking/services.py links them (the carrier the app detects, its name and page)."""

    def __init__(self, rng: random.Random) -> None:
        from app.tracking.carriers import carrier_for_company
        from app.tracking.carriers._checks import fedex_express, gs1_mod10, mod7, ups_1z
        from app.tracking.carriers._s10 import s10_check_digit

        self.rng = rng
        rnd = rng.random
        letters = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"

        def digits(n: int) -> str:
            return f"{int(rnd() * 10**n):0{n}d}"

        def alnum(n: int) -> str:
            return "".join(letters[int(rnd() * 33)] for _ in range(n))

        def s10(prefix: str, country: str) -> str:
            serial = digits(8)
            return f"{prefix}{serial}{s10_check_digit(serial)}{country}"

        def ups() -> str:
            payload = alnum(6) + "03" + digits(7)
            return f"1Z{payload}{ups_1z(payload)}"

        def usps() -> str:
            payload = "9400" + digits(17)
            return f"{payload}{gs1_mod10(payload)}"

        def fedex() -> str:
            payload = "7" + digits(10)
            return f"{payload}{fedex_express(payload)}"

        def dhl() -> str:
            payload = digits(9)
            return f"{payload}{mod7(payload)}"

        self.makers = {
            "Thailand Post": lambda: s10(("EF", "EY", "RB")[int(rnd() * 3)], "TH"),
            "Kerry Express": lambda: "SHP" + digits(10),
            "Flash Express": lambda: "TH" + digits(11) + "A",
            "J&T Express": lambda: "8" + digits(11),
            "UPS": ups,
            "USPS": usps,
            "FedEx": fedex,
            "Royal Mail": lambda: s10("RA", "GB"),
            "DHL Express": dhl,
            "Japan Post": lambda: s10("EJ", "JP"),
        }
        self.carriers = {company: carrier_for_company(company) for company in self.makers}
        self._verify()

    def _verify(self) -> None:
        """A few numbers per carrier through the app's own detection: the fast path must agree."""
        from app.tracking.carriers import detect_carrier, tracking_link

        for company in self.makers:
            for _ in range(20):
                number = self.makers[company]()
                carrier = detect_carrier(number, hint=company)
                expected = (carrier.code if carrier else None, *tracking_link(number, company, None))
                if expected != self.link(company, number):
                    raise BenchError(
                        f"tracking number generator disagrees with the app for {company} {number}: "
                        f"{expected} != {self.link(company, number)}"
                    )

    def make(self, company: str) -> str:
        return self.makers[company]()

    def link(self, company: str, number: str) -> tuple[str | None, str | None, str | None]:
        carrier = self.carriers[company]
        if carrier is None:
            return None, company, None
        return carrier.code, carrier.name, carrier.tracking_url(number)


class DataSet:
    """Deterministic rows for N orders over K shops; order i belongs to shop i % K (numbers from #1001)."""

    def __init__(self, n_orders: int, n_shops: int, seed: int = 20261122, affixes: bool = False) -> None:
        self.n_orders = n_orders
        # With `affixes`, every fourth shop names its orders with Shopify's prefix/suffix setting: EU-1001-B.
        self.affixed = [affixes and index % 4 == 1 for index in range(n_shops)]
        self.n_shops = n_shops
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC).replace(second=0, microsecond=0)
        self.today = self.now.date()
        self._ts_cache: dict[int, str] = {}
        self.numbers = TrackingNumbers(random.Random(seed + 1))
        self.shop_profiles = [self.rng.choices(PROFILES, PROFILE_WEIGHTS)[0] for _ in range(n_shops)]
        # Order i's rows, generated once and reused by the three COPY streams.
        self._cumulative = []
        total = 0.0
        for outcome in OUTCOMES:
            total += outcome[0]
            self._cumulative.append(total)

    def ts(self, minute_offset: int) -> str:
        """Timestamp `minute_offset` minutes before now, in COPY's text form (cached per minute)."""
        text = self._ts_cache.get(minute_offset)
        if text is None:
            text = (self.now - timedelta(minutes=minute_offset)).strftime("%Y-%m-%d %H:%M:00+00")
            self._ts_cache[minute_offset] = text
        return text

    def shops_rows(self) -> list[tuple]:
        rows = []
        for index in range(self.n_shops):
            tz, currency, _, _, _, _, _ = self.shop_profiles[index]
            installed = self.now - timedelta(days=400 - index % 300)
            rows.append(
                (
                    index + 1,
                    shop_domain(index + 1),
                    f"Bench Shop {index + 1}",
                    currency,
                    tz,
                    "read_orders,read_fulfillments,read_customers,write_app_proxy",
                    True,
                    False,
                    installed,
                    installed,
                    installed,
                )
            )
        return rows

    def settings_rows(self) -> list[tuple]:
        """Every other shop has saved branding, a message and an FAQ; the rest use the defaults."""
        rows = []
        for index in range(0, self.n_shops, 2):
            rows.append(
                (
                    index + 1,
                    "https://cdn.shopify.com/s/files/1/bench/logo.png",
                    "#0f766e",
                    "#111827",
                    "#ffffff",
                    "system",
                    10,
                    json.dumps({"en": "Thanks for shopping with us!", "th": "ขอบคุณที่อุดหนุนค่ะ"}),
                    json.dumps(
                        [
                            {
                                "q": "When will my order arrive?",
                                "a": "Usually within 2-5 business days.",
                                "locale": "en",
                            },
                            {"q": "พัสดุจะถึงเมื่อไร", "a": "ภายใน 2-5 วันทำการ", "locale": "th"},
                        ],
                        ensure_ascii=False,
                    ),
                    "help@bench.example",
                    None,
                    2,
                    json.dumps({"TH": [1, 3], "*": [5, 12]}),
                    json.dumps([6, 7]),
                    json.dumps([]),
                    None,
                    self.now,
                )
            )
        return rows

    def chunks(self, chunk_rows: int = 5000) -> Iterator[tuple[str, str, str]]:
        """(orders text, fulfillments text, events text) for consecutive blocks of orders.

        Hot loop (millions of rows): random() indexing instead of choice(), JSON built from
        pre-serialised fragments, timestamps cached per minute."""
        rnd = self.rng.random
        ts_cache = self._ts_cache
        ts = self.ts
        n_shops = self.n_shops
        profiles = self.shop_profiles
        cumulative = self._cumulative
        today = self.today
        now = self.now
        numbers = self.numbers
        affixed = self.affixed
        catalog = PRODUCT_CATALOG
        n_catalog = len(catalog)
        n_first, n_last, n_mail = len(FIRST_NAMES), len(LAST_NAMES), len(MAIL_DOMAINS)
        quantities = (1, 1, 1, 2)
        item_counts = (1, 1, 1, 2, 2, 3)
        local_prices = ("190.00", "250.00", "390.00", "590.00", "890.00", "1290.00")
        usd_prices = ("9.50", "14.00", "24.00", "39.00", "59.00")
        null = "\\N"
        for start in range(0, self.n_orders, chunk_rows):
            o_lines: list[str] = []
            f_lines: list[str] = []
            e_lines: list[str] = []
            for i in range(start, min(start + chunk_rows, self.n_orders)):
                row_id = i + 1
                shop_id = i % n_shops + 1
                number = 1001 + i // n_shops
                tz, currency, country, country_name, locale, places, companies = profiles[shop_id - 1]
                order_name = f"EU-{number}-B" if affixed[shop_id - 1] else f"#{number}"
                roll = rnd()
                outcome = OUTCOMES[-1]
                for share_end, candidate in zip(cumulative, OUTCOMES, strict=True):
                    if roll < share_end:
                        outcome = candidate
                        break
                _, final_status, shipment_state, is_delayed, order_status = outcome
                delivered = final_status == "delivered"
                # Minutes before now. Delivered orders are older; the others are still moving.
                if delivered:
                    placed = 14400 + int(rnd() * 158400)  # 10 to 120 days ago
                    ful_created = placed - 360 - int(rnd() * 2520)
                    e1 = ful_created - 10
                    e2 = e1 - 720 - int(rnd() * 1080)
                    e3 = e2 - 1200 - int(rnd() * 2400)
                else:
                    e3 = 60 + int(rnd() * 1140) + (7200 if is_delayed else 0)
                    e2 = e3 + 1200 + int(rnd() * 1200)
                    e1 = e2 + 720 + int(rnd() * 1080)
                    ful_created = e1 + 10
                    placed = ful_created + 360 + int(rnd() * 2520)

                first = FIRST_NAMES[int(rnd() * n_first)]
                last = LAST_NAMES[int(rnd() * n_last)]
                email = f"{first}.{last}{i}@{MAIL_DOMAINS[int(rnd() * n_mail)]}"
                if i % 10 == 3:
                    email = email.capitalize()  # shoppers type it in any case; the lookup ignores case
                if country == "TH" and i % 2:
                    mobile = f"8{1 + int(rnd() * 9)}{100 + int(rnd() * 900)}{1000 + int(rnd() * 9000)}"
                    phone = f"+66 {mobile[:2]} {mobile[2:5]} {mobile[5:]}"
                    phone_digits = mobile  # the search key: the national number's last nine digits
                else:
                    phone = phone_digits = null
                prices = local_prices if currency in ("THB", "JPY") else usd_prices
                order_items = []
                ful_items = []
                total = 0.0
                for k in range(item_counts[int(rnd() * 6)]):
                    title_json, variant_json, product_id, variant_id, sku = catalog[int(rnd() * n_catalog)]
                    quantity = quantities[int(rnd() * 4)]
                    price = prices[int(rnd() * len(prices))]
                    total += float(price) * quantity
                    line_id = LINE_ID0 + i * 3 + k
                    order_items.append(
                        f'{{"id":{line_id},"product_id":{product_id},"variant_id":{variant_id},"title":{title_json},'
                        f'"variant_title":{variant_json},"sku":"{sku}","quantity":{quantity},"price":"{price}"}}'
                    )
                    ful_items.append(
                        f'{{"id":{line_id},"title":{title_json},"variant_title":{variant_json},"quantity":{quantity}}}'
                    )
                city, province = places[int(rnd() * len(places))]
                shopify_order_id = ORDER_ID0 + i
                placed_ts = ts_cache.get(placed) or ts(placed)
                last_scan_ts = ts_cache.get(e3) or ts(e3)
                o_lines.append(
                    "\t".join(
                        (
                            str(row_id),
                            str(shop_id),
                            str(shopify_order_id),
                            f"gid://shopify/Order/{shopify_order_id}",
                            order_name,
                            str(number),
                            str(CUSTOMER_ID0 + i // 2),
                            email,
                            phone,
                            first.capitalize(),
                            f"{first.capitalize()} {last.capitalize()}",
                            phone_digits,
                            locale,
                            "paid",
                            "fulfilled",
                            f"{total:.2f}",
                            currency,
                            "[" + ",".join(order_items) + "]",
                            country,
                            province,
                            order_status,
                            "f",
                            null,
                            last_scan_ts if delivered else null,
                            placed_ts,
                            last_scan_ts,
                            placed_ts,
                            last_scan_ts,
                        )
                    )
                )

                company = companies[int(rnd() * len(companies))]
                tracking_number = numbers.make(company)
                carrier_code, carrier_name, tracking_url = numbers.link(company, tracking_number)
                fulfillment_id = FULFILLMENT_ID0 + i
                if delivered:
                    est_from = est_to = est_source = null
                else:
                    shipped_day = (now - timedelta(minutes=e2)).date()
                    if is_delayed:
                        start_day, end_day = today - timedelta(days=4), today - timedelta(days=2)
                    else:
                        start_day, end_day = shipped_day + timedelta(days=2), shipped_day + timedelta(days=5)
                        if end_day < today:
                            end_day = today + timedelta(days=1)
                    est_from, est_to = start_day.isoformat(), end_day.isoformat()
                    est_source = "learned" if i % 3 == 0 else "default"
                ful_ts = ts_cache.get(ful_created) or ts(ful_created)
                e1_ts = ts_cache.get(e1) or ts(e1)
                e2_ts = ts_cache.get(e2) or ts(e2)
                f_lines.append(
                    "\t".join(
                        (
                            str(row_id),
                            str(shop_id),
                            str(fulfillment_id),
                            str(shopify_order_id),
                            f"gid://shopify/Fulfillment/{fulfillment_id}",
                            f"{order_name}.1",
                            "success",
                            final_status,
                            company,
                            f'["{tracking_number}"]',
                            tracking_number,  # already as the search keeps it: upper case, letters and digits
                            f'["{tracking_url}"]' if tracking_url else "[]",
                            "[" + ",".join(ful_items) + "]",
                            country,
                            ful_ts,
                            last_scan_ts,
                            ful_ts,
                            last_scan_ts,
                            shipment_state,
                            carrier_code or null,
                            carrier_name or null,
                            tracking_url or null,
                            e2_ts,
                            last_scan_ts if delivered else null,
                            last_scan_ts,
                            null,
                            est_from,
                            est_to,
                            est_source,
                            "t" if is_delayed else "f",
                            "f",
                        )
                    )
                )

                hub_city, hub_province = places[0]
                event_id = EVENT_ID0 + i * 3
                row = i * 3 + 1
                ids = f"\t{shop_id}\t{fulfillment_id}\t{shopify_order_id}\tshopify\t"
                e_lines.append(
                    f"{row}{ids}{event_id}\tconfirmed\tconfirmed\t{EVENT_MESSAGES['confirmed']}\t"
                    f"{hub_city}\t{hub_province}\t{country_name}\t{e1_ts}\t{null}\t{e1_ts}"
                )
                e_lines.append(
                    f"{row + 1}{ids}{event_id + 1}\tin_transit\tin_transit\t{EVENT_MESSAGES['in_transit']}\t"
                    f"{hub_city}\t{hub_province}\t{country_name}\t{e2_ts}\t{null}\t{e2_ts}"
                )
                e_lines.append(
                    f"{row + 2}{ids}{event_id + 2}\t{final_status}\t{final_status}\t"
                    f"{EVENT_MESSAGES[final_status]}\t{city}\t{province}\t{country_name}\t"
                    f"{last_scan_ts}\t{null}\t{last_scan_ts}"
                )
            yield ("\n".join(o_lines) + "\n", "\n".join(f_lines) + "\n", "\n".join(e_lines) + "\n")


@dataclass
class LoadStats:
    seconds: float = 0.0
    copy_s: float = 0.0
    index_s: float = 0.0
    analyze_s: float = 0.0
    db_bytes: int = 0
    rows: dict[str, int] = field(default_factory=dict)


def _secondary_indexes(conn) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(unique constraints as (table, name, definition), plain indexes as (name, definition)) of the
    big tables; primary keys and foreign keys stay."""
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
        " WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype = 'u' ORDER BY 1, 2",
        (list(BIG_TABLES),),
    ).fetchall()
    owned = {name for _, name, _ in constraints}
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)"
        " AND i.indexname NOT LIKE 'pk\\_%%' ORDER BY 1",
        (list(BIG_TABLES),),
    ).fetchall()
    return [tuple(c) for c in constraints], [tuple(i) for i in indexes if i[0] not in owned]


def load_data(services: Services, data: DataSet) -> LoadStats:
    """COPY everything in one transaction (tables truncated in it, so COPY FREEZE applies: rows land
    frozen and all-visible, as in a settled production table), with secondary indexes built after."""
    stats = LoadStats()
    began = time.perf_counter()
    with services.pg(services.database_url, autocommit=False) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        try:
            conn.execute("SET session_replication_role = replica")  # skip per-row FK triggers; ids are ours
        except Exception:
            conn.rollback()
        with conn.cursor() as cur:
            with cur.copy(
                "COPY shops (id, domain, name, currency, iana_timezone, scopes, is_installed, needs_reauth,"
                " installed_at, last_synced_at, created_at) FROM STDIN"
            ) as copy:
                for row in data.shops_rows():
                    copy.write_row(row)
            with cur.copy(
                "COPY tracking_settings (shop_id, logo_url, accent_color, text_color, background_color, font,"
                " radius_px, custom_message, faq, contact_email, contact_url, handling_days, default_transit,"
                " weekend_days, holidays, stall_after_days, updated_at) FROM STDIN"
            ) as copy:
                for row in data.settings_rows():
                    copy.write_row(row)
        constraints, indexes = _secondary_indexes(conn)
        before = sorted([c[1] for c in constraints] + [i[0] for i in indexes])
        for table, name, _ in constraints:
            conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.execute("TRUNCATE orders, fulfillments, tracking_events")

        copy_began = time.perf_counter()
        sql = {
            "orders": f"COPY orders ({', '.join(ORDER_COLUMNS)}) FROM STDIN WITH (FREEZE)",
            "fulfillments": f"COPY fulfillments ({', '.join(FULFILLMENT_COLUMNS)}) FROM STDIN WITH (FREEZE)",
            "tracking_events": f"COPY tracking_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN WITH (FREEZE)",
        }
        # Three COPY streams on three connections would need three transactions (and lose FREEZE);
        # instead, the rows are generated in blocks and each block is written to a spool per table.
        spool = {name: tempfile.TemporaryFile(dir=tempfile.gettempdir()) for name in BIG_TABLES}
        try:
            with conn.cursor() as cur, cur.copy(sql["orders"]) as copy_orders:
                done = 0
                next_report = time.monotonic() + 15
                for orders_text, fulfillments_text, events_text in data.chunks():
                    copy_orders.write(orders_text.encode())
                    spool["fulfillments"].write(fulfillments_text.encode())
                    spool["tracking_events"].write(events_text.encode())
                    done += orders_text.count("\n")
                    if time.monotonic() >= next_report:
                        log(f"  generated and copied {done:,} orders ({time.perf_counter() - copy_began:.0f} s)")
                        next_report = time.monotonic() + 15
            for name in ("fulfillments", "tracking_events"):
                handle = spool[name]
                handle.seek(0)
                with conn.cursor() as cur, cur.copy(sql[name]) as copy:
                    while block := handle.read(4 * 1024 * 1024):
                        copy.write(block)
                log(f"  copied {name} ({time.perf_counter() - copy_began:.0f} s)")
        finally:
            for handle in spool.values():
                handle.close()
        stats.copy_s = time.perf_counter() - copy_began

        index_began = time.perf_counter()
        for table, name, definition in constraints:
            conn.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            conn.execute(definition)
        for table in ("shops", *BIG_TABLES, "tracking_settings"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        after_constraints, after_indexes = _secondary_indexes(conn)
        after = sorted([c[1] for c in after_constraints] + [i[0] for i in after_indexes])
        if after != before:
            raise BenchError(f"indexes not restored: before {before}, after {after}")
        conn.commit()
        stats.index_s = time.perf_counter() - index_began

    analyze_began = time.perf_counter()
    with services.pg(services.database_url) as conn:
        conn.execute("ANALYZE")
    stats.analyze_s = time.perf_counter() - analyze_began
    stats.seconds = time.perf_counter() - began
    count_rows(services, stats)
    return stats


def count_rows(services: Services, stats: LoadStats) -> LoadStats:
    with services.pg(services.database_url) as conn:
        for table in ("shops", *BIG_TABLES):
            stats.rows[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        stats.db_bytes = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return stats


def reusable(services: Services, orders: int, shops: int) -> LoadStats | None:
    """The stats of a database left by --keep-db with the same size, else None."""
    with services.pg() as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (services.db_name,)).fetchone() is None:
            return None
    try:
        stats = count_rows(services, LoadStats())
    except Exception:
        return None
    if stats.rows.get("orders") != orders or stats.rows.get("shops") != shops:
        return None
    return stats


@dataclass(frozen=True)
class Lookup:
    shop: str
    order: str
    email: str


def sample_lookups(services: Services, n_orders: int, count: int, seed: int = 7) -> list[Lookup]:
    """Random existing orders (uniform over orders, so over shops), with the email the shopper types."""
    rng = random.Random(seed)
    ids = rng.sample(range(1, n_orders + 1), min(count, n_orders))
    with services.pg(services.database_url) as conn:
        rows = conn.execute(
            "SELECT s.domain, o.order_number, o.email FROM orders o JOIN shops s ON s.id = o.shop_id"
            " WHERE o.id = ANY(%s)",
            (ids,),
        ).fetchall()
    if len(rows) != len(ids):
        raise BenchError(f"sampled {len(ids)} order ids, found {len(rows)}")
    lookups = []
    for domain, number, email in rows:
        # Shoppers type "#1234" or "1234", their email in lower case.
        ref = f"#{number}" if number % 2 else str(number)
        lookups.append(Lookup(domain, ref, email.lower()))
    rng.shuffle(lookups)
    return lookups


def signed_query(lookup: Lookup, timestamp: int, locale: str | None = None) -> str:
    params = {
        "order": lookup.order,
        "email": lookup.email,
        "shop": lookup.shop,
        "logged_in_customer_id": "",
        "path_prefix": "/apps/aftercart",
        "timestamp": str(timestamp),
    }
    if locale:
        params["locale"] = locale
    message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
    params["signature"] = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


def _locale_for(index: int) -> str | None:
    return "th" if index % 10 < 3 else None  # 30% ask for Thai, the rest get English


# --------------------------------------------------------------------------- in-process timing


@dataclass
class InProcess:
    label: str
    totals_ms: list[float]
    sql_ms: list[float]
    sql_count: list[int]
    redis_ms: list[float]
    per_statement: dict[str, list[float]]
    statuses: dict[int, int]
    last_statements: list[tuple[str, Any]]
    cpu_ms: list[float] = field(default_factory=list)  # CPU time of this (the serving) thread


def statement_label(statement: str) -> str:
    text = " ".join(statement.split())
    if text.upper().startswith("SELECT 1"):
        return "SELECT 1 (pool pre-ping)"
    match = re.search(r"\bFROM\s+(\w+)", text, re.I)
    where = re.search(r"\bWHERE\s+(.*?)(?:\s+ORDER BY|\s+LIMIT|$)", text, re.I)
    conditions = re.findall(r"(\w+\.\w+)\s*(?:=|IN)", where.group(1)) if where else []
    columns = ", ".join(c.split(".", 1)[1] for c in conditions)
    return f"{match.group(1) if match else text[:30]}({columns})"


def time_in_process(env: dict[str, str], lookups: list[Lookup], samples: int, profile: bool) -> dict[str, InProcess]:
    """The real request path, in this process, against the bench database and Redis."""
    from sqlalchemy import event

    from app import create_app
    from app.config import Settings
    from app.extensions import db
    from app.storefront.ratelimit import LookupLimits

    app = create_app(Settings.from_env(env))
    with app.app_context():
        engine = db.engine
    current: dict[str, Any] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        elapsed = (time.perf_counter() - conn.info["bench_t0"].pop()) * 1000
        if current:
            current["sql"].append((statement, parameters, elapsed))

    original_admit = LookupLimits.admit

    def timed_admit(*args: Any, **kwargs: Any) -> bool:
        began = time.perf_counter()
        try:
            return original_admit(*args, **kwargs)
        finally:
            if current:
                current["redis"] += (time.perf_counter() - began) * 1000

    LookupLimits.admit = timed_admit  # type: ignore[method-assign]  # instrumentation of this process only
    client = app.test_client()
    results: dict[str, InProcess] = {}
    profilers: dict[str, Any] = {}
    try:
        counter = 0
        for label, path in (("page", PAGE_PATH), ("json", JSON_PATH)):
            run = InProcess(label, [], [], [], [], defaultdict(list), defaultdict(int), [])
            warm = min(5 if samples < 100 else 10, len(lookups))
            for index in range(samples + warm):
                lookup = lookups[(index + (0 if label == "page" else samples + warm)) % len(lookups)]
                counter += 1
                url = f"{path}?{signed_query(lookup, int(time.time()), _locale_for(index))}"
                headers = {"X-Forwarded-For": f"10.200.{counter // 256 % 256}.{counter % 256}"}
                current.clear()
                current.update(sql=[], redis=0.0)
                if profile and index == warm:
                    import cProfile

                    profilers[label] = cProfile.Profile(time.thread_time)  # CPU time: waits do not count
                    profilers[label].enable()
                began, cpu_began = time.perf_counter(), time.thread_time()
                response = client.get(url, headers=headers)
                elapsed = (time.perf_counter() - began) * 1000
                cpu = (time.thread_time() - cpu_began) * 1000
                response.close()
                if index < warm:
                    continue
                run.statuses[response.status_code] += 1
                run.totals_ms.append(elapsed)
                run.cpu_ms.append(cpu)
                run.sql_ms.append(sum(s[2] for s in current["sql"]))
                run.sql_count.append(len(current["sql"]))
                run.redis_ms.append(current["redis"])
                for statement, _, ms in current["sql"]:
                    run.per_statement[statement_label(statement)].append(ms)
                run.last_statements = [(s, p) for s, p, _ in current["sql"]]
            if label in profilers:
                profilers[label].disable()
            results[label] = run
    finally:
        current.clear()
        LookupLimits.admit = original_admit  # type: ignore[method-assign]
        with app.app_context():
            db.session.remove()
            engine.dispose()
    for label, profiler in profilers.items():
        print_profile(label, profiler, samples)
    return results


_PROFILE_GROUPS = (
    "sqlalchemy", "psycopg", "flask_sqlalchemy", "flask", "werkzeug", "jinja2", "markupsafe", "babel", "redis",
    "shopify_app", "urllib", "json", "zoneinfo",
)  # fmt: skip


def _profile_group(path: str, name: str) -> str:
    for key in _PROFILE_GROUPS:
        if f"/{key}/" in path or path.endswith(f"/{key}.py"):
            return key
    if path.startswith(str(ROOT / "app")):
        return "app/" + path[len(str(ROOT / "app")) + 1 :]
    if path.startswith(str(ROOT / "templates")):
        return "templates (compiled Jinja)"
    if path == "~":
        return "C builtins (" + name.split(" of ")[0].strip("<>{}")[:30] + ")"
    return "other: " + path.rsplit("/", 1)[-1]


def print_profile(label: str, profiler: Any, samples: int) -> None:
    """CPU time per request by package (cProfile's own overhead included), then the top functions."""
    import io
    import pstats

    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer)
    groups: dict[str, float] = defaultdict(float)
    for (path, _, name), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        groups[_profile_group(path, name)] += own
    total = sum(groups.values()) or 1.0
    print(f"cProfile of {samples} {label} requests: CPU {total * 1000 / samples:.2f} ms/request under the profiler")
    for group, own in sorted(groups.items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {group:<45} {own * 1000 / samples:7.2f} ms/request {own / total:6.1%}")
    stats.sort_stats("tottime").print_stats(25)
    print(buffer.getvalue())


def plan_nodes(node: dict[str, Any]) -> list[str]:
    name = node["Node Type"]
    if node.get("Index Name"):
        name += f" using {node['Index Name']}"
    elif node.get("Relation Name"):
        name += f" on {node['Relation Name']}"
    buffers = f"buffers hit={node.get('Shared Hit Blocks', 0)} read={node.get('Shared Read Blocks', 0)}"
    out = [f"{name} (rows={node.get('Actual Rows')}, {buffers})"]
    for child in node.get("Plans", []):
        out.extend(plan_nodes(child))
    return out


def explain_statements(services: Services, statements: list[tuple[str, Any]]) -> list[tuple[str, float, float, str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the exact statements one request issued:
    (label, planning ms, execution ms, plan summary)."""
    out = []
    with services.pg(services.database_url) as conn:
        for statement, parameters in statements:
            head = statement.strip().upper()
            # Reads only: a SET cannot be explained, and EXPLAIN ANALYZE would run a write (the page's view count)
            # a second time.
            if head.startswith("SELECT 1") or not head.startswith(("SELECT", "WITH")):
                continue
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters).fetchone()[0]
            root = plan[0]
            nodes = " > ".join(plan_nodes(root["Plan"]))
            out.append((statement_label(statement), root["Planning Time"], root["Execution Time"], nodes))
    return out


# --------------------------------------------------------------------------- gunicorn


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Gunicorn(GunicornServer):
    """The shared gunicorn server with an access log whose last field is gunicorn's own request time
    (%(D)s, microseconds), and the workers' peak memory and CPU."""

    def __init__(
        self, name: str, app_spec: str, env: dict[str, str], workdir: Path, extra_args: tuple[str, ...] = ()
    ) -> None:
        port = free_port()
        self.name = name
        self.access_path = workdir / f"access-{name}.log"
        self.peak_kb: dict[int, int] = {}
        super().__init__(
            app_spec,
            port,
            dict(env, PORT=str(port)),
            workdir / f"gunicorn-{name}.log",
            extra_args,
            options=("--access-logfile", str(self.access_path), "--access-logformat", "%(U)s %(s)s %(D)s"),
        )

    def sample_rss(self) -> None:
        if self.proc is None:
            return
        for pid in children(self.proc.pid):
            hwm = _proc_status(pid).get("VmHWM")
            if hwm:
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), hwm)

    def cpu_seconds(self, since: dict[int, float] | None = None) -> Any:
        """CPU seconds of each worker now, or the total used since an earlier reading."""
        now = {pid: _cpu_seconds(pid) for pid in (children(self.proc.pid) if self.proc else [])}
        if since is None:
            return now
        return sum(value - since.get(pid, 0.0) for pid, value in now.items())

    def access_offset(self) -> int:
        try:
            return self.access_path.stat().st_size
        except OSError:
            return 0

    def server_times(self, start: int, end: int) -> dict[str, list[tuple[int, float]]]:
        """path -> [(status, server ms)] for the access-log lines between two offsets."""
        out: dict[str, list[tuple[int, float]]] = defaultdict(list)
        with open(self.access_path, "rb") as fh:
            fh.seek(start)
            for line in fh.read(end - start).decode(errors="replace").splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                    out[parts[0]].append((int(parts[1]), int(parts[2]) / 1000.0))
        return out


def stop_all(servers: list[Gunicorn]) -> None:
    for server in servers:
        server.terminate()
    for server in servers:
        try:
            server.stop()
        except Exception as exc:  # cleanup must go on
            log(f"could not stop {server.name}: {exc}")


class RssMonitor:
    def __init__(self, servers: list[Gunicorn], interval: float = 0.25) -> None:
        self.servers = servers
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for server in self.servers:
            server.sample_rss()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for server in self.servers:
                server.sample_rss()


# --------------------------------------------------------------------------- HTTP load


@dataclass
class HttpResult:
    responses: int = 0
    ok200: int = 0
    s429: int = 0
    other: int = 0
    errors: int = 0
    seconds: float = 0.0
    client_ms: list[float] = field(default_factory=list)  # python client only
    wrk_pcts: list[dict[str, float]] = field(default_factory=list)  # per wrk segment
    server_ms: list[float] = field(default_factory=list)
    server_statuses: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # from the access log
    worker_cpu_s: float = 0.0  # CPU time of the gunicorn workers during the measured windows
    pg_cpu_s: float = 0.0  # CPU time of the PostgreSQL backends serving this database
    machine_busy: list[float] = field(default_factory=list)  # share of all CPUs busy, per window

    def cpu_ms_per_request(self, seconds: float) -> float:
        return seconds * 1000 / self.responses if self.responses else 0.0

    @property
    def rps(self) -> float:
        return self.responses / self.seconds if self.seconds else 0.0

    def client_pct(self, p: float) -> float:
        if self.client_ms:
            return pct(self.client_ms, p)
        # wrk: weight each segment's percentile by its responses (segments are similar in size)
        key = {50: "p50", 95: "p95", 99: "p99"}[int(p)]
        total = sum(s["responses"] for s in self.wrk_pcts)
        return sum(s[key] * s["responses"] for s in self.wrk_pcts) / total if total else 0.0


_WRK_LINE = re.compile(r"^WRK_RESULT (.*)$", re.M)


def write_urls(path: Path, target_path: str, lookups: list[Lookup], count: int, offset: int) -> None:
    """Signed URLs valid for the next window: timestamp 30 s ahead gives [-60 s, +120 s] of validity."""
    timestamp = int(time.time()) + 30
    lines = []
    for index in range(count):
        lookup = lookups[(offset + index) % len(lookups)]
        lines.append(f"{target_path}?{signed_query(lookup, timestamp, _locale_for(index))}")
    path.write_text("\n".join(lines) + "\n")


def run_wrk(port: int, url_file: Path, seconds: float, connections: int, threads: int) -> dict[str, float]:
    cmd = [
        "wrk",
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(math.ceil(seconds - 0.01), 1)}s",  # wrk takes whole seconds
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        str(url_file),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    match = _WRK_LINE.search(proc.stdout)
    if proc.returncode != 0 or not match:
        raise BenchError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    values = {k: float(v) for k, v in (item.split("=", 1) for item in match.group(1).split())}
    return {
        "responses": values["responses"],
        "ok200": values["ok200"],
        "s429": values["s429"],
        "other": values["other"],
        "seconds": values["duration_us"] / 1e6,
        "p50": values["p50_us"] / 1000,
        "p95": values["p95_us"] / 1000,
        "p99": values["p99_us"] / 1000,
        "errors": values["err_connect"] + values["err_read"] + values["err_write"] + values["err_timeout"],
    }


def _python_client(args: tuple) -> dict[str, Any]:
    """One load process: `conns` threads, each sending GETs one after another until the deadline."""
    import http.client

    port, urls, proc_index, conns, start_at, deadline = args
    lock = threading.Lock()
    out: dict[str, Any] = {"latencies": [], "ok200": 0, "s429": 0, "other": 0, "errors": 0}

    def worker(thread_index: int) -> None:
        latencies: list[float] = []
        ok200 = s429 = other = errors = 0
        sent = 0
        position = (proc_index * conns + thread_index) * 7919
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < deadline:
            sent += 1
            url = urls[(position + sent) % len(urls)]
            n = sent
            headers = {"X-Forwarded-For": f"10.{(proc_index * 64 + thread_index) % 256}.{n // 256 % 256}.{n % 256}"}
            began = time.perf_counter()
            try:
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                continue
            latencies.append((time.perf_counter() - began) * 1000)
            status = response.status
            ok200 += status == 200
            s429 += status == 429
            other += status not in (200, 429)
            if response.will_close:
                conn.close()
        conn.close()
        with lock:
            out["latencies"].extend(latencies)
            out["ok200"] += ok200
            out["s429"] += s429
            out["other"] += other
            out["errors"] += errors

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def _default_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def run_python_load(port: int, url_file: Path, seconds: float, connections: int) -> dict[str, Any]:
    urls = url_file.read_text().split()
    processes = max(1, min(connections, 2))
    per_process = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    start_at = time.time() + 0.3
    deadline = start_at + seconds
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(processes, initializer=_default_signals)
    try:
        parts = pool.map_async(
            _python_client, [(port, urls, i, n, start_at, deadline) for i, n in enumerate(per_process)]
        ).get(timeout=seconds + 60)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    latencies = [lat for part in parts for lat in part["latencies"]]
    return {
        "responses": len(latencies),
        "ok200": sum(p["ok200"] for p in parts),
        "s429": sum(p["s429"] for p in parts),
        "other": sum(p["other"] for p in parts),
        "errors": sum(p["errors"] for p in parts),
        "seconds": seconds,
        "latencies": latencies,
    }


@dataclass
class Plan:
    duration: float
    warmup: float
    connections: int
    wrk_threads: int
    loadgen: str
    urls_per_window: int


def drive(
    plan: Plan,
    server: Gunicorn,
    target_path: str,
    lookups: list[Lookup],
    services: Services,
    workdir: Path,
    label: str,
    every_path: bool = False,
    url_writer: Callable[[Path, int, int], None] | None = None,
) -> HttpResult:
    """Warm up, then load the server for plan.duration seconds in windows of <= 60 s, each with
    freshly signed URLs and fresh rate-limit windows; server time comes from the access log.
    `url_writer(path, count, offset)` writes other URLs than the tracking lookups (benchmarks/admin.py)."""
    url_file = workdir / f"urls-{label}.txt"
    result = HttpResult()
    offset = 0

    def window(seconds: float) -> dict[str, Any]:
        nonlocal offset
        services.clear_app_keys()
        if url_writer is not None:
            url_writer(url_file, plan.urls_per_window, offset)
        else:
            write_urls(url_file, target_path, lookups, plan.urls_per_window, offset)
        offset += plan.urls_per_window
        if plan.loadgen == "wrk":
            return run_wrk(server.port, url_file, seconds, plan.connections, plan.wrk_threads)
        return run_python_load(server.port, url_file, seconds, plan.connections)

    if plan.warmup > 0:
        window(plan.warmup)
        time.sleep(0.3)
    remaining = plan.duration
    while remaining > 0.05:
        seconds = min(remaining, SIGNED_WINDOW_S)
        remaining -= seconds
        start = server.access_offset()
        cpu_before, pg_before, machine_before = server.cpu_seconds(), services.backend_cpu(), machine_cpu()
        part = window(seconds)
        time.sleep(0.3)  # requests in flight when the client stopped get logged
        end = server.access_offset()
        result.worker_cpu_s += server.cpu_seconds(since=cpu_before)
        result.pg_cpu_s += services.backend_cpu(since=pg_before)
        busy, total = (b - a for a, b in zip(machine_before, machine_cpu(), strict=True))
        result.machine_busy.append(busy / max(total, 1))
        result.responses += int(part["responses"])
        result.ok200 += int(part["ok200"])
        result.s429 += int(part["s429"])
        result.other += int(part["other"])
        result.errors += int(part["errors"])
        result.seconds += part["seconds"]
        if "latencies" in part:
            result.client_ms.extend(part["latencies"])
        else:
            result.wrk_pcts.append(part)
        for path, entries in server.server_times(start, end).items():
            if path == target_path or every_path:
                result.server_ms.extend(ms for status, ms in entries if status == 200)
                for status, _ in entries:
                    result.server_statuses[status] += 1
    if server.proc is not None and server.proc.poll() is not None:
        raise BenchError(f"gunicorn {server.app_spec} died during the run:\n{server.log_tail()}")
    return result


# --------------------------------------------------------------------------- assets


def asset_sizes() -> list[tuple[str, int, int]]:
    out = []
    for pattern in ("extensions/*/assets/*.js", "extensions/*/assets/*.css"):
        for path in sorted(ROOT.glob(pattern)):
            data = path.read_bytes()
            out.append((str(path.relative_to(ROOT)), len(data), len(gzip.compress(data, compresslevel=9, mtime=0))))
    return out


# --------------------------------------------------------------------------- run


def background_cpu(seconds: float = 1.0) -> float:
    busy0, total0 = machine_cpu()
    time.sleep(seconds)
    busy1, total1 = machine_cpu()
    return (busy1 - busy0) / max(total1 - total0, 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=None, help="orders to load (default 1,000,000; 2,000 tiny)")
    parser.add_argument(
        "--shops",
        type=int,
        default=None,
        help="shops the orders are spread over (default 100; 10 tiny). The app allows 600 "
        "lookups per shop per minute, so HTTP load above shops x 10 req/s gets 429s",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds of HTTP load per endpoint (default 30; 1 tiny); windows of <= 60 s",
    )
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up per endpoint")
    parser.add_argument("--connections", type=int, default=None, help="concurrent connections (default 16; 4 tiny)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers (WEB_CONCURRENCY; default: what gunicorn.conf.py says; 2 tiny)",
    )
    parser.add_argument(
        "--samples", type=int, default=None, help="in-process timed requests per endpoint (default 500; 25 tiny)"
    )
    parser.add_argument("--tiny", action="store_true", help="a few seconds in all (for the test suite)")
    parser.add_argument(
        "--profile", action="store_true", help="also print a CPU profile (cProfile) of the in-process requests"
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    add_service_options(
        parser,
        "aftercart_bench_tracking",
        13,
        redis_help="Redis server URL without the db number",
        reuse_db_help="reuse a database kept by --keep-db when it has the same orders and shops (skips the load)",
    )
    parser.add_argument("--enforce-target", action="store_true", help="exit 3 when the p95 target is missed")
    args = parser.parse_args(argv)
    tiny = args.tiny
    defaults = {
        "orders": 2_000 if tiny else 1_000_000,
        "shops": 10 if tiny else 100,
        "duration": 3.0 if tiny else 30.0,  # a loaded machine may answer nothing in one second
        "warmup": 0.0 if tiny else 3.0,
        "connections": 4 if tiny else 16,
        "samples": 25 if tiny else 500,
        "workers": 2 if tiny else None,
    }
    fill_defaults(args, defaults)
    if args.orders < args.shops or args.shops < 1 or args.duration <= 0 or args.connections < 1 or args.samples < 1:
        parser.error("need orders >= shops >= 1, and positive --duration, --connections and --samples")
    return args


def report_load(stats: LoadStats, background: float) -> None:
    print("Aftercart tracking lookup benchmark")
    print(
        f"  machine: {os.cpu_count()} CPUs; PostgreSQL, Redis, gunicorn and the load generator share them on "
        f"loopback; CPU busy before the run (other processes): {background:.0%}"
    )
    if background > 0.15:
        print("  WARNING: the machine was not idle before the run; every time below is inflated by other processes")
    rows = stats.rows
    print(
        f"load: {rows['orders']:,} orders, {rows['fulfillments']:,} fulfillments, "
        f"{rows['tracking_events']:,} tracking events, {rows['shops']} shops"
    )
    if stats.seconds:
        print(
            f"load time: {stats.seconds:.1f} s (COPY {stats.copy_s:.1f} s, indexes {stats.index_s:.1f} s, "
            f"ANALYZE {stats.analyze_s:.1f} s); database size {stats.db_bytes / 2**20:.0f} MB"
        )
    else:
        print(f"load time: 0 s (reused the database of an earlier run); database size {stats.db_bytes / 2**20:.0f} MB")
    sys.stdout.flush()


def report_in_process(
    inproc: dict[str, InProcess], explained: list[tuple[str, float, float, str]], samples: int
) -> None:
    print()
    print(
        f"in-process server time (create_app + Flask test client, one request at a time, {samples} random "
        f"orders per endpoint, correct email):"
    )
    for label in ("page", "json"):
        run = inproc[label]
        bad = {s: n for s, n in run.statuses.items() if s != 200}
        rest = [t - s - r for t, s, r in zip(run.totals_ms, run.sql_ms, run.redis_ms, strict=True)]
        print(f"{label} in-process p50: {pct(run.totals_ms, 50):.2f} ms")
        print(f"{label} in-process p95: {pct(run.totals_ms, 95):.2f} ms")
        print(
            f"  {label}: app CPU per request (thread time, not inflated by waiting) p50 {pct(run.cpu_ms, 50):.2f} ms "
            f"p95 {pct(run.cpu_ms, 95):.2f} ms"
        )
        print(
            f"  {label}: p99 {pct(run.totals_ms, 99):.2f} ms, max {max(run.totals_ms):.2f} ms; "
            f"non-200: {sum(bad.values())} {bad or ''}"
        )
        print(
            f"  {label}: SQL {statistics.mean(run.sql_count):.1f} statements/request, "
            f"p50 {pct(run.sql_ms, 50):.2f} ms p95 {pct(run.sql_ms, 95):.2f} ms; "
            f"rate-limit Redis p50 {pct(run.redis_ms, 50):.2f} ms p95 {pct(run.redis_ms, 95):.2f} ms; "
            f"the rest (Python) p50 {pct(rest, 50):.2f} ms p95 {pct(rest, 95):.2f} ms"
        )
        for name, values in sorted(run.per_statement.items(), key=lambda kv: -sum(kv[1])):
            print(
                f"    SQL {name}: {len(values) / len(run.totals_ms):.1f}/request, "
                f"p50 {pct(values, 50):.3f} ms, p95 {pct(values, 95):.3f} ms"
            )
    print("EXPLAIN ANALYZE of the statements of one page request (the app's own SQL and parameters):")
    for name, planning, execution, summary in explained:
        print(f"  {name}: planning {planning:.3f} ms, execution {execution:.3f} ms: {summary}")
    sys.stdout.flush()


def report_http(plan: Plan, settings: dict[str, Any], runs: dict[str, HttpResult]) -> None:
    print()
    print(
        f"HTTP load: gunicorn.conf.py (workers={settings['workers']} worker_class={settings['worker_class']} "
        f"threads={settings['threads']} preload={settings['preload_app']}), {plan.loadgen}, "
        f"{plan.connections} connections, {plan.duration:g} s per target after {plan.warmup:g} s warm-up; "
        f"server time = gunicorn access log %(D)s of the 200s"
    )
    print(
        f"  {'target':<6} {'requests/s':>10} {'client p50':>10} {'client p95':>10} {'server p50':>10} "
        f"{'server p95':>10} {'server p99':>10} {'200s':>8} {'429s':>6} {'other':>6} {'errors':>6} "
        f"{'worker CPU':>10} {'PG CPU':>7} {'machine':>7}"
    )
    for label, run in runs.items():
        server = run.server_ms
        busy = statistics.mean(run.machine_busy) if run.machine_busy else 0.0
        print(
            f"  {label:<6} {run.rps:>10.1f} {run.client_pct(50):>10.2f} {run.client_pct(95):>10.2f} "
            f"{pct(server, 50):>10.2f} {pct(server, 95):>10.2f} {pct(server, 99):>10.2f} "
            f"{run.ok200:>8} {run.s429:>6} {run.other:>6} {run.errors:>6} "
            f"{run.cpu_ms_per_request(run.worker_cpu_s):>7.2f} ms {run.cpu_ms_per_request(run.pg_cpu_s):>4.2f} ms "
            f"{busy:>7.0%}"
        )
    print("  (times in ms; worker CPU and PG CPU are CPU time per response; machine = all CPUs busy during the load)")
    for label, run in runs.items():
        print(f"{label} requests/s: {run.rps:.1f}")
        print(f"{label} latency p50: {run.client_pct(50):.2f} ms, p95: {run.client_pct(95):.2f} ms")
        print(f"{label} server time p50: {pct(run.server_ms, 50):.2f} ms, p95: {pct(run.server_ms, 95):.2f} ms")
        print(f"{label} worker CPU per request: {run.cpu_ms_per_request(run.worker_cpu_s):.2f} ms")
    bare_rps = runs["bare"].rps
    for label in ("page", "json"):
        ratio = runs[label].rps / bare_rps if bare_rps else 0.0
        print(f"ratio {label}/bare: {ratio:.3f} ({ratio:.1%} of the bare endpoint's requests/s)")
    for label, run in runs.items():
        statuses = ", ".join(f"{status}: {count}" for status, count in sorted(run.server_statuses.items()))
        print(f"{label} statuses in the access log: {statuses or 'none'}")
    limited = runs["page"].s429 + runs["json"].s429
    if limited:
        print(f"WARNING: {limited} lookups were rate limited (429): raise --shops, or lower the load")


def report_assets_and_memory(servers: list[Gunicorn]) -> None:
    print()
    for name, raw, gz in asset_sizes():
        print(f"asset {name}: raw {raw} bytes, gzip-9 {gz} bytes")
    print()
    for server in servers:
        for pid, kb in sorted(server.peak_kb.items()):
            print(f"  {server.name} worker pid {pid}: peak RSS (VmHWM) {kb / 1024:.1f} MB")
        top = max(server.peak_kb.values()) / 1024 if server.peak_kb else 0.0
        print(f"{server.name} workers peak RSS: {top:.1f} MB ({len(server.peak_kb)} workers seen)")


def report_summary(
    stats: LoadStats, inproc: dict[str, InProcess], runs: dict[str, HttpResult], servers: list[Gunicorn]
) -> dict[str, Any]:
    checks = {
        "page in-process p95": pct(inproc["page"].totals_ms, 95),
        "json in-process p95": pct(inproc["json"].totals_ms, 95),
        "page server p95 under load": pct(runs["page"].server_ms, 95),
        "json server p95 under load": pct(runs["json"].server_ms, 95),
    }
    verdicts = "; ".join(
        f"{name} {value:.2f} ms {'PASS' if value < TARGET_P95_MS else 'MISS'}" for name, value in checks.items()
    )
    print()
    print(f"target p95 server time < {TARGET_P95_MS:.0f} ms with {stats.rows['orders']:,} orders: {verdicts}")
    failures = sum(sum(n for s, n in r.statuses.items() if s != 200) for r in inproc.values())
    failures += sum(run.other for run in runs.values())
    bare_rps = runs["bare"].rps

    def ms(values: list[float], p: float) -> float | None:
        return round(pct(values, p), 2) if values else None

    summary = {
        "orders": stats.rows["orders"],
        "shops": stats.rows["shops"],
        "load_s": round(stats.seconds, 1),
        "inprocess": {k: {"p50_ms": ms(v.totals_ms, 50), "p95_ms": ms(v.totals_ms, 95)} for k, v in inproc.items()},
        "http": {
            k: {
                "rps": round(v.rps, 1),
                "client_p50_ms": round(v.client_pct(50), 2),
                "client_p95_ms": round(v.client_pct(95), 2),
                "server_p50_ms": ms(v.server_ms, 50),
                "server_p95_ms": ms(v.server_ms, 95),
                "ok200": v.ok200,
                "s429": v.s429,
                "other": v.other,
                "errors": v.errors,
            }
            for k, v in runs.items()
        },
        "ratio_page": round(runs["page"].rps / bare_rps, 4) if bare_rps else None,
        "ratio_json": round(runs["json"].rps / bare_rps, 4) if bare_rps else None,
        "assets": {name: {"raw": raw, "gzip9": gz} for name, raw, gz in asset_sizes()},
        "peak_rss_mb": {s.name: round(max(s.peak_kb.values()) / 1024, 1) if s.peak_kb else None for s in servers},
        "target_met": all(v < TARGET_P95_MS for v in checks.values()),
        "failures": failures,
    }
    print("RESULT_JSON " + json.dumps(summary, sort_keys=True))
    return summary


def run(
    args: argparse.Namespace,
    plan: Plan,
    services: Services,
    env: dict[str, str],
    settings: dict[str, Any],
    workdir: Path,
    servers: list[Gunicorn],
) -> int:
    background = background_cpu(0.5 if args.tiny else 1.0)
    stats = reusable(services, args.orders, args.shops) if args.reuse_db else None
    if stats is None:
        services.create()
    else:
        services.clear_app_keys()
    # Both servers start now (create_app touches no database): their start overlaps the data load.
    app_server = Gunicorn("app", "app:create_app()", env, workdir)
    bare_server = Gunicorn("bare", "bare_app:app", env, workdir, ("--pythonpath", str(BENCH_DIR)))
    servers.extend((app_server, bare_server))
    for server in servers:
        log(f"starting gunicorn {server.app_spec} on 127.0.0.1:{server.port}")
        server.launch()
    if stats is None:
        log(f"created database {services.db_name}; migrating")
        migrate(env, timeout=180)
        log(f"loading {args.orders:,} orders over {args.shops} shops")
        stats = load_data(services, DataSet(args.orders, args.shops))
    else:
        log(f"reusing database {services.db_name} (--reuse-db): nothing loaded")
    report_load(stats, background)
    for server in servers:
        server.wait_ready()

    lookups = sample_lookups(services, args.orders, plan.urls_per_window)
    log(f"timing {args.samples} in-process requests per endpoint")
    inproc = time_in_process(env, lookups, args.samples, args.profile)
    report_in_process(inproc, explain_statements(services, inproc["page"].last_statements), args.samples)

    runs: dict[str, HttpResult] = {}
    with RssMonitor(servers):
        # The bare app gets the very same signed page URLs (it answers any path).
        for label, server, path in (
            ("page", app_server, PAGE_PATH),
            ("json", app_server, JSON_PATH),
            ("bare", bare_server, PAGE_PATH),
        ):
            log(
                f"{label}: {plan.warmup:g} s warm-up, {plan.duration:g} s with {plan.connections} connections "
                f"({plan.loadgen})"
            )
            runs[label] = drive(plan, server, path, lookups, services, workdir, label, every_path=label == "bare")
    stop_all(servers)
    if any(run.other for run in runs.values()):
        for server in servers:
            log(f"{server.name}: gunicorn log tail (some answers were neither 200 nor 429):\n{server.log_tail(80)}")
    report_http(plan, settings, runs)
    report_assets_and_memory(servers)
    summary = report_summary(stats, inproc, runs, servers)
    if summary["failures"]:
        log(f"{summary['failures']} lookups did not answer 200")
        return 2
    if args.enforce_target and not summary["target_met"]:
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not resolve_loadgen(args):
        return 2
    if not BARE_APP.exists():
        log(f"{BARE_APP} is missing: it is the bare baseline")
        return 2
    plan = Plan(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        wrk_threads=1 if args.connections < 8 else 2,
        loadgen=args.loadgen,
        urls_per_window=2_000 if args.tiny else 20_000,
    )
    windows = math.ceil(plan.duration / SIGNED_WINDOW_S) + 1
    bound = int(120 + args.orders * 0.0012 + 3 * (plan.warmup + plan.duration + 15 * windows) + args.samples * 0.4)

    services = Services(args.pg_admin, args.db_name, args.redis, args.redis_db)
    env = base_env(services, args.workers)
    settings = gunicorn_settings(dict(env, PORT="0"))
    log(f"gunicorn settings: {settings}; load generator {plan.loadgen}; time bound {bound} s")
    workdir = Path(tempfile.mkdtemp(prefix="aftercart-bench-tracking-"))
    servers: list[Gunicorn] = []

    def cleanup() -> None:
        stop_all(servers)
        if not args.keep_db:
            services.drop()

    return bounded_run(bound, lambda: run(args, plan, services, env, settings, workdir, servers), cleanup, workdir)


if __name__ == "__main__":
    sys.exit(main())
