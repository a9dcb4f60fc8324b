"""Soak: minutes of mixed traffic on two web and two worker processes, a worker SIGKILLed and Redis restarted
during it; counts what was sent, processed, delivered, lost and duplicated (docs/operations.md, "Soak run").

    .venv/bin/python benchmarks/soak.py [--duration 600] [--rate 20] [--lookup-rate 3]
    .venv/bin/python benchmarks/soak.py --tiny          # seconds, for the test suite

What it does, in order (everything it starts or creates is stopped or removed at the end, even on failure
or timeout):

1. starts a private redis-server with AOF on (`appendonly yes`, in a temp dir, so a restart keeps the queues),
   a fresh PostgreSQL database migrated with `flask db upgrade`, an SMTP server (aiosmtpd) in this process
   recording each accepted message's Message-ID (the app makes one per notification), the app under gunicorn
   (gunicorn.conf.py, WEB_CONCURRENCY=2) and two workers as deployed (`flask --app app worker --queues
   webhooks,default,notifications`); a worker that exits on its own is restarted, as a process manager would.
2. traffic for --duration seconds at --rate webhooks/s: for each of many orders, signed orders/create,
   fulfillments/create and fulfillment_events/create (in_transit, out_for_delivery, delivered; some parcels stop
   before delivery) spread over a few seconds, their timestamps recent; some orders' webhooks shuffled, some
   deliveries resent with the same X-Shopify-Webhook-Id, some redelivered under a new id. A non-2xx answer or a
   broken connection is retried like Shopify does (backing off), and counted. Beside it, shopper tracking
   lookups at --lookup-rate: the signed link (`/l/track/<token>`) and the app proxy page (`/proxy/track`, a
   valid signature, order number + email, each from its own client address behind one trusted proxy hop).
3. faults: at 1/3 of the run one worker gets SIGKILL and a replacement starts; at 2/3 redis-server is stopped
   and, --redis-down seconds later, started again on the same port with the same AOF. With --quiet-faults
   (the default for --tiny) the sender pauses and the queues drain before each fault, so no webhook meets the
   outage: the sweepers' one-minute delay would not fit in a test's seconds.
4. drain: until the queues are empty, every stored webhook is processed or failed, every domain event
   dispatched and every planned email sent (bounded by --drain), then the figures: sent, acknowledged,
   retried, stored, processed, failed, stranded; emails expected (the app's own record, and what the traffic
   promises: one "delivered" email per parcel that ends delivered), delivered to SMTP, lost, duplicated; the
   lookups' latency before the faults (the baseline) against during and after them; each process's peak RSS
   and CPU seconds. One `key: value` per line, then `RESULT_JSON {...}`.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import hmac
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from _common import (  # noqa: E402
    FIXTURES,
    BenchError,
    Database,
    GunicornServer,
    Process,
    RedisServer,
    SmtpSink,
    children,
    cpu_seconds,
    free_port,
    fulfillment_payload,
    iso,
    log,
    migrate,
    order_payload,
    proc_status,
    run_armed,
    session_pids,
    tiny_picker,
    wait_for,
    webhook_headers,
)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "bench-soak-secret"
SECRET_KEY = "bench-soak-secret-key-for-signed-links"
SHOP = "bench-soak.myshopify.com"
APP_URL = "https://aftercart.bench.invalid"
MAIL_FROM = "updates@aftercart.bench.invalid"
API_VERSION = "2026-07"
QUEUES = ("webhooks", "default", "notifications")
ORDER_ID0, FULFILLMENT_ID0, EVENT_ID0, NUMBER0 = 7_300_000_000_000, 4_300_000_000_000, 3_400_000_000_000, 300_000
SCANS = ("in_transit", "out_for_delivery", "delivered")
# Where a parcel's scans stop: most are delivered within the run, some are still on their way.
FINAL_STATES = (("delivered", 0.7), ("out_for_delivery", 0.15), ("in_transit", 0.15))
MAX_ATTEMPTS = 8  # Shopify tries a delivery up to 8 times; here the pauses are seconds, not hours
MESSAGE_ID = re.compile(r"<aftercart-(\d+)-(\d+)@")


def pct(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100.0 * len(ordered)), 1) - 1]


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


# --------------------------------------------------------------------------- the traffic


@dataclass
class Plan:
    duration: float
    rate: float
    lookup_rate: float
    drain: float
    redis_down: float
    lifetime: float  # seconds from an order's first webhook to its last
    shuffled: float  # share of orders whose webhooks are sent in a random order
    duplicates: float  # share of deliveries sent again with the same webhook id
    redeliveries: float  # share of deliveries sent again under a new webhook id (same payload)
    quiet_faults: bool
    sender_threads: int
    seed: int
    tiny: bool


@dataclass
class OrderSpec:
    index: int
    final: str
    shuffled: bool
    base: datetime  # when the order was placed (the shop's clock); its scans follow at fixed steps

    @property
    def order_id(self) -> int:
        return ORDER_ID0 + self.index

    @property
    def fulfillment_id(self) -> int:
        return FULFILLMENT_ID0 + self.index

    @property
    def number(self) -> int:
        return NUMBER0 + self.index

    @property
    def email(self) -> str:
        return f"soak{self.index}@bench.example.com"

    @property
    def steps(self) -> list[str]:
        return ["order", "fulfillment", *SCANS[: SCANS.index(self.final) + 1]]


@dataclass
class Delivery:
    due: float  # seconds after the traffic starts
    order: OrderSpec
    step: str
    webhook_id: str
    kind: str  # "first", "duplicate" (same webhook id), "redelivery" (new webhook id)
    attempts: int = 0
    acked: bool = False
    gave_up: bool = False


def step_topic(step: str) -> str:
    return {"order": "orders/create", "fulfillment": "fulfillments/create"}.get(step, "fulfillment_events/create")


def step_payload(spec: OrderSpec, step: str) -> dict[str, Any]:
    """The step's payload; its timestamps are the order's (recent: older news may be held back by the app)."""
    name = f"#{spec.number}"
    if step == "order":
        return order_payload(spec.order_id, name, spec.number, spec.email, spec.base)
    if step == "fulfillment":
        return fulfillment_payload(
            spec.fulfillment_id, spec.order_id, f"{name}.1", spec.email, spec.base + timedelta(minutes=5)
        )
    payload = json.loads((FIXTURES / "fulfillment_events_create.json").read_text())
    happened = iso(spec.base + timedelta(minutes=10 * (SCANS.index(step) + 1)))
    event_id = EVENT_ID0 + spec.index * 10 + SCANS.index(step)
    payload.update(
        id=event_id,
        fulfillment_id=spec.fulfillment_id,
        order_id=spec.order_id,
        status=step,
        message=step.replace("_", " ").capitalize(),
        happened_at=happened,
        created_at=happened,
        updated_at=happened,
        estimated_delivery_at=None,
        country="TH",
        admin_graphql_api_id=f"gid://shopify/FulfillmentEvent/{event_id}",
    )
    return payload


def build_traffic(plan: Plan, started: datetime) -> tuple[list[OrderSpec], list[Delivery]]:
    """Every order's webhooks, due times spread over the run at the planned rate."""
    rng = random.Random(plan.seed)
    per_order = sum(len(["order", "fulfillment", *SCANS[: SCANS.index(s) + 1]]) * w for s, w in FINAL_STATES)
    per_order *= 1 + plan.duplicates + plan.redeliveries
    # Orders start within the first (duration - lifetime) seconds, so that their last webhooks fall in the run;
    # together they make rate x duration webhooks.
    window = max(plan.duration - plan.lifetime, plan.duration * 0.5)
    count = max(int(plan.rate * plan.duration / per_order), 1)
    order_rate = count / window
    specs, deliveries = [], []
    for index in range(count):
        start = index / order_rate
        final = rng.choices([s for s, _ in FINAL_STATES], [w for _, w in FINAL_STATES])[0]
        # Placed 45 minutes before its first webhook (its scans 5 to 30 minutes later): all recent, none ahead.
        spec = OrderSpec(index, final, rng.random() < plan.shuffled, started + timedelta(seconds=start, minutes=-45))
        specs.append(spec)
        steps = spec.steps
        slots = sorted(start + rng.uniform(0, plan.lifetime) if k else start for k in range(len(steps)))
        if spec.shuffled:
            rng.shuffle(slots)
        for step, due in zip(steps, slots, strict=True):
            webhook_id = f"soak-{spec.index}-{step}-{uuid.uuid4().hex[:8]}"
            deliveries.append(Delivery(due, spec, step, webhook_id, "first"))
            if rng.random() < plan.duplicates:
                again = min(due + rng.uniform(0.2, plan.lifetime), plan.duration)
                deliveries.append(Delivery(again, spec, step, webhook_id, "duplicate"))
            if rng.random() < plan.redeliveries:
                again = min(due + rng.uniform(0.2, plan.lifetime), plan.duration)
                deliveries.append(Delivery(again, spec, step, f"{webhook_id}-re", "redelivery"))
    deliveries.sort(key=lambda d: d.due)
    return specs, deliveries


# --------------------------------------------------------------------------- the run


@dataclass
class Post:
    at: float  # wall clock when sent
    ms: float
    status: int | None  # None: no answer (connection refused or broken)


@dataclass
class Lookup:
    at: float
    kind: str
    ms: float
    status: int | None


@dataclass
class ProcessUse:
    label: str
    peak_rss_kb: int = 0
    cpu_s: float = 0.0


@dataclass
class Faults:
    kill_at: float = 0.0
    killed_state: str = ""
    killed_job: str | None = None
    orphans_after_kill: int = 0
    redis_stop_at: float = 0.0
    redis_up_at: float = 0.0
    queued_before_stop: int = 0
    queued_after_restart: int = 0
    worker_exits: list[str] = field(default_factory=list)


class Soak:
    def __init__(self, plan: Plan, db_name: str, workdir: Path) -> None:
        self.plan = plan
        self.workdir = workdir
        self.db = Database(db_name)
        redis_dir = workdir / "redis"
        redis_dir.mkdir()
        self.redis = RedisServer(redis_dir, appendonly=True)
        self.smtp = SmtpSink()
        self.port = free_port()
        self.web: GunicornServer | None = None
        self.workers: list[Process] = []
        self.retired: list[Process] = []
        self.worker_serial = 0
        self.app = None
        self.shop_id = 0
        self.lock = threading.Lock()
        self.posts: list[Post] = []
        self.lookups: list[Lookup] = []
        self.retried = 0
        self.faults = Faults()
        self.usage: dict[int, ProcessUse] = {}
        self.stop_sampling = threading.Event()
        self.traffic_done = threading.Event()
        self.paused = threading.Event()
        self.supervise = threading.Event()
        self.in_flight = [0]  # deliveries handed to a sender and not yet answered

    # ----- setup

    def env(self, **extra: str) -> dict[str, str]:
        prefixes = ("AFTERCART_", "SHOPIFY_", "TWILIO_", "LINE_", "SMTP_", "MAIL_", "GUNICORN_", "FLASK_", "TRACKING_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
        env.pop("WEB_CONCURRENCY", None)
        env.update(
            AFTERCART_ENV="test",
            DATABASE_URL=self.db.url,
            REDIS_URL=self.redis.url,
            SHOPIFY_API_KEY="bench-api-key",
            SHOPIFY_API_SECRET=SECRET,
            SHOPIFY_APP_URL=APP_URL,
            SECRET_KEY=SECRET_KEY,
            SMTP_URL=self.smtp.url,
            MAIL_FROM=MAIL_FROM,
            # As behind Shopify's app proxy: one hop, so each shopper counts as their own client.
            TRUSTED_PROXY_HOPS="1",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def setup(self) -> None:
        import logging

        self.redis.start()
        self.db.create()
        migrate(self.env())
        self.smtp.start()
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log
        from app import create_app
        from app.config import Settings
        from app.extensions import db
        from app.shopify.models import Shop

        self.app = create_app(Settings.from_env(self.env()))
        with self.app.app_context():
            # A shop whose quiet hours never hold email (they hold only SMS and LINE).
            shop = Shop(domain=SHOP, is_installed=True, name="Soak Store", iana_timezone="Asia/Bangkok")
            db.session.add(shop)
            db.session.commit()
            self.shop_id = shop.id
            db.session.remove()

    def start_worker(self) -> Process:
        self.worker_serial += 1
        label = f"worker-{self.worker_serial}"
        worker = Process(
            label,
            [sys.executable, "-m", "flask", "--app", "app", "worker", "--queues", ",".join(QUEUES)],
            self.env(),
            self.workdir / f"{label}.log",
        )
        worker.start()
        self.workers.append(worker)
        return worker

    def start_processes(self) -> None:
        self.web = GunicornServer(
            "app:create_app()", self.port, self.env(WEB_CONCURRENCY="2"), self.workdir / "gunicorn.log"
        )
        self.web.start()
        for _ in range(2):
            self.start_worker()
        from rq import Worker

        conn = self.redis_conn()
        wait_for(lambda: len(Worker.all(connection=conn)) >= 2, 60, "the two workers", 0.1, self.check_web)

    def redis_conn(self):
        import redis

        return redis.Redis.from_url(self.redis.url, socket_connect_timeout=2, socket_timeout=5)

    def check_web(self) -> None:
        if self.web is None or self.web.proc is None or self.web.proc.poll() is not None:
            raise BenchError(f"gunicorn died:\n{self.web.log_tail() if self.web else ''}")

    # ----- background: sampling, supervising

    def sample(self) -> None:
        """Peak RSS and CPU of every process of the system, once a second (a killed worker keeps its last)."""
        while not self.stop_sampling.wait(1.0):
            self.sample_once()

    def sample_once(self) -> None:
        found: list[tuple[int, str]] = []
        if self.web is not None and self.web.proc is not None:
            found.append((self.web.proc.pid, "web master"))
            found += [(pid, "web worker") for pid in children(self.web.proc.pid)]
        for worker in [*self.workers, *self.retired]:
            if worker.proc is None:
                continue
            for pid in session_pids(worker.proc.pid):
                found.append((pid, worker.name if pid == worker.proc.pid else f"{worker.name} scheduler"))
        if self.redis.proc is not None:
            found.append((self.redis.proc.pid, "redis-server"))
        try:
            rows = self.db.query(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", self.db.name
            )
            found += [(row[0], "PostgreSQL backends") for row in rows]
        except Exception:
            pass
        with self.lock:
            for pid, label in found:
                status = proc_status(pid)
                if not status:
                    continue
                use = self.usage.setdefault(pid, ProcessUse(label))
                use.peak_rss_kb = max(use.peak_rss_kb, status.get("VmHWM", 0))
                use.cpu_s = max(use.cpu_s, cpu_seconds(pid))

    def supervisor(self) -> None:
        """Restart a worker that exits on its own, as a process manager would, and note why it exited."""
        while not self.stop_sampling.wait(0.5):
            if not self.supervise.is_set():
                continue
            for worker in list(self.workers):
                if worker.proc is not None and worker.proc.poll() is not None:
                    tail = worker.log_tail(8).replace("\n", " | ")
                    self.faults.worker_exits.append(f"{worker.name} exited {worker.proc.returncode}: {tail[-600:]}")
                    log(f"{worker.name} exited with {worker.proc.returncode}; starting another")
                    self.workers.remove(worker)
                    self.retired.append(worker)
                    worker.stop()
                    self.start_worker()

    # ----- traffic

    def send_webhooks(self, deliveries: list[Delivery], started: float) -> None:
        """Paced dispatch of every delivery (and of the sender's retries) to a pool of HTTP senders."""
        import queue as queue_mod

        work: queue_mod.Queue = queue_mod.Queue()
        retries: list[tuple[float, int, Delivery]] = []  # (wall clock due, tie, delivery)
        retry_lock = threading.Lock()
        in_flight = self.in_flight
        bodies: dict[tuple[int, str], tuple[bytes, str]] = {}

        def body_for(delivery: Delivery) -> tuple[bytes, str]:
            key = (delivery.order.index, delivery.step)
            cached = bodies.get(key)
            if cached is None:
                from app.shopify.signatures import webhook_hmac

                body = json.dumps(step_payload(delivery.order, delivery.step)).encode()
                cached = bodies[key] = (body, webhook_hmac(SECRET, body))
            return cached

        def sender() -> None:
            conn = HTTPConnection("127.0.0.1", self.port, timeout=10)
            while True:
                delivery = work.get()
                if delivery is None:
                    break
                body, signature = body_for(delivery)
                headers = webhook_headers(step_topic(delivery.step), SHOP, delivery.webhook_id, signature, API_VERSION)
                began = time.time()
                try:
                    conn.request("POST", "/webhooks", body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status: int | None = response.status
                except (OSError, HTTPException):
                    conn.close()
                    status = None
                ms = (time.time() - began) * 1000
                delivery.attempts += 1
                with self.lock:
                    self.posts.append(Post(began, ms, status))
                if status is not None and 200 <= status < 300:
                    delivery.acked = True
                elif delivery.attempts < MAX_ATTEMPTS:
                    with self.lock:
                        self.retried += 1
                    with retry_lock:
                        # Shopify backs off for hours; the soak keeps its pauses in seconds.
                        pause = min(2.0 ** (delivery.attempts - 1), 30.0)
                        heapq.heappush(retries, (time.time() + pause, id(delivery), delivery))
                else:
                    delivery.gave_up = True
                with retry_lock:
                    in_flight[0] -= 1
            conn.close()

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(self.plan.sender_threads)]
        for thread in threads:
            thread.start()
        shift = 0.0  # time the sender spent paused (quiet faults): the schedule moves with it
        position = 0
        while True:
            if self.paused.is_set():
                pause_began = time.time()
                while self.paused.is_set():
                    time.sleep(0.05)
                shift += time.time() - pause_began
            now = time.time()
            next_due = started + shift + deliveries[position].due if position < len(deliveries) else math.inf
            with retry_lock:
                retry_due = retries[0][0] if retries else math.inf
                pending = in_flight[0]
            if position >= len(deliveries) and not retries and pending == 0:
                break
            if min(next_due, retry_due) > now:
                time.sleep(min(min(next_due, retry_due) - now, 0.05))
                continue
            if retry_due <= next_due:
                with retry_lock:
                    _, _, delivery = heapq.heappop(retries)
            else:
                delivery = deliveries[position]
                position += 1
            with retry_lock:
                in_flight[0] += 1
            work.put(delivery)
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join(30)
        self.traffic_done.set()

    def look_up(self, specs: list[OrderSpec]) -> None:
        """Shopper lookups at a steady rate on orders the app already holds: the signed link, then the app proxy."""
        from app.storefront.links import make_track_token

        rng = random.Random(self.plan.seed + 1)
        by_number = {spec.number: spec for spec in specs}
        known: list[tuple[int, int]] = []  # (our order id, order number)
        refreshed = 0.0
        conn = HTTPConnection("127.0.0.1", self.port, timeout=10)
        interval = 1.0 / self.plan.lookup_rate
        next_at = time.time()
        serial = 0
        while not self.traffic_done.is_set():
            now = time.time()
            if now < next_at:
                time.sleep(min(next_at - now, 0.05))
                continue
            next_at += interval
            if now - refreshed > 2.0:
                try:
                    known = [(r[0], r[1]) for r in self.db.query("SELECT id, order_number FROM orders")]
                except Exception:
                    pass
                refreshed = now
            if not known:
                continue
            order_id, number = rng.choice(known)
            serial += 1
            headers = {"X-Forwarded-For": f"10.{serial // 65536 % 256}.{serial // 256 % 256}.{serial % 256}"}
            if serial % 2:
                kind = "link"
                with self.app.app_context():
                    token = make_track_token(self.shop_id, order_id)
                path = f"/l/track/{quote(token)}?locale=en"
            else:
                kind = "proxy"
                params = {
                    "order": f"#{number}",
                    "email": by_number[number].email,
                    "shop": SHOP,
                    "logged_in_customer_id": "",
                    "path_prefix": "/apps/aftercart",
                    "timestamp": str(int(time.time())),
                }
                message = "".join(f"{k}={v}" for k, v in sorted(params.items()))
                params["signature"] = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
                path = f"/proxy/track?{urlencode(params)}"
            began = time.time()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                status: int | None = response.status
            except (OSError, HTTPException):
                conn.close()
                status = None
            with self.lock:
                self.lookups.append(Lookup(began, kind, (time.time() - began) * 1000, status))
        conn.close()

    # ----- faults

    def wait_quiet(self, bound: float) -> None:
        """Quiet faults: the queues empty and no job running (bounded; the fault happens anyway)."""
        from rq import Queue
        from rq.registry import StartedJobRegistry

        conn = self.redis_conn()

        calm = [0]

        def quiet() -> bool:
            # A job a worker has just popped is in no queue and not yet in the started registry: only quiet
            # that lasts (half a second, nothing sent meanwhile) means no job is between the two.
            busy = self.in_flight[0] > 0 or any(
                Queue(name, connection=conn).count or StartedJobRegistry(name, connection=conn).count for name in QUEUES
            )
            calm[0] = 0 if busy else calm[0] + 1
            return calm[0] >= 5

        try:
            wait_for(quiet, bound, "the queues to empty", 0.1)
        except BenchError as exc:
            log(f"quiet fault: {exc}; going ahead")

    def kill_worker(self, started: float) -> None:
        from rq import Worker

        if self.plan.quiet_faults:
            self.paused.set()
            self.wait_quiet(15)
        victim = self.pick_victim()
        self.sample_once()  # its last peak before it goes
        self.workers.remove(victim)
        self.retired.append(victim)
        os.kill(victim.proc.pid, signal.SIGKILL)
        self.faults.kill_at = time.time() - started
        log(
            f"fault: SIGKILL {victim.name} (pid {victim.proc.pid}, {self.faults.killed_state}) at "
            f"{self.faults.kill_at:.1f} s"
        )
        victim.proc.wait(10)
        time.sleep(2.0)  # its scheduler child is asked to stop when its parent dies (app/worker.py)
        self.faults.orphans_after_kill = len(session_pids(victim.proc.pid))
        victim.stop(grace=1)
        replacement = self.start_worker()
        conn = self.redis_conn()
        wait_for(
            lambda: any(w.pid == replacement.proc.pid for w in Worker.all(connection=conn)),
            60,
            "the replacement worker",
            0.1,
            self.check_web,
        )
        self.paused.clear()

    def pick_victim(self) -> Process:
        """Under load, the first worker seen busy with a job within 10 s (a kill mid-job is the case that
        matters); with quiet faults, or if none is seen busy, the first worker."""
        from rq import Worker

        conn = self.redis_conn()
        by_pid = {worker.proc.pid: worker for worker in self.workers}
        keys = {w.key: by_pid[w.pid] for w in Worker.all(connection=conn) if w.pid in by_pid}
        deadline = time.time() + (0 if self.plan.quiet_faults else 10)
        while True:
            for key, worker in keys.items():
                state, job = conn.hmget(key, "state", "current_job")
                if state == b"busy" or time.time() >= deadline:
                    self.faults.killed_state = (state or b"unknown").decode()
                    self.faults.killed_job = job.decode() if job else None
                    return worker
            time.sleep(0.005)

    def restart_redis(self, started: float) -> None:
        from rq import Queue

        if self.plan.quiet_faults:
            self.paused.set()
            self.wait_quiet(15)
        conn = self.redis_conn()
        try:
            self.faults.queued_before_stop = sum(Queue(q, connection=conn).count for q in QUEUES)
        except Exception:
            self.faults.queued_before_stop = -1
        self.sample_once()
        self.faults.redis_stop_at = time.time() - started
        log(f"fault: stopping redis-server at {self.faults.redis_stop_at:.1f} s for {self.plan.redis_down:g} s")
        self.redis.stop()
        time.sleep(self.plan.redis_down)
        self.redis.start()
        self.faults.redis_up_at = time.time() - started
        for _ in range(50):  # while it loads its AOF, Redis answers LOADING
            try:
                self.faults.queued_after_restart = sum(Queue(q, connection=self.redis_conn()).count for q in QUEUES)
                break
            except Exception:
                self.faults.queued_after_restart = -1
                time.sleep(0.1)
        log(f"fault: redis-server back at {self.faults.redis_up_at:.1f} s")
        self.paused.clear()

    # ----- drain

    def outstanding(self) -> dict[str, int]:
        from rq import Queue
        from rq.registry import StartedJobRegistry

        conn = self.redis_conn()
        out = {}
        try:
            out["queued jobs"] = sum(Queue(q, connection=conn).count for q in QUEUES)
            out["running jobs"] = sum(StartedJobRegistry(q, connection=conn).count for q in QUEUES)
        except Exception:
            out["redis"] = 1
        (out["webhooks received"],) = self.db.query("SELECT count(*) FROM webhook_events WHERE status = 'received'")[0]
        (out["events undispatched"],) = self.db.query("SELECT count(*) FROM domain_events WHERE dispatched_at IS NULL")[
            0
        ]
        (out["emails queued"],) = self.db.query(
            "SELECT count(*) FROM notifications WHERE channel = 'email' AND status IN ('queued', 'deferred')"
        )[0]
        sent = {r[0] for r in self.db.query("SELECT id FROM notifications WHERE channel = 'email' AND status = 'sent'")}
        out["sent, not at SMTP"] = len(sent - self.delivered_ids())
        return out

    def delivered_ids(self) -> set[int]:
        return {int(m.group(2)) for _, mid, _ in self.smtp.snapshot() if (m := MESSAGE_ID.search(mid))}

    def drain(self) -> tuple[float, dict[str, int]]:
        began = time.time()
        left: dict[str, int] = {}
        while time.time() - began < self.plan.drain:
            left = {k: v for k, v in self.outstanding().items() if v}
            if not left:
                time.sleep(2.0)  # nothing late still on its way
                left = {k: v for k, v in self.outstanding().items() if v}
                if not left:
                    break
            time.sleep(1.0)
        return time.time() - began, left

    # ----- all

    def run(self) -> dict[str, Any]:
        plan = self.plan
        log("setting up redis-server (AOF), database, SMTP server")
        self.setup()
        log("starting gunicorn (2 workers) and 2 worker processes")
        self.start_processes()
        self.supervise.set()
        background = [
            threading.Thread(target=self.sample, daemon=True, name="sampler"),
            threading.Thread(target=self.supervisor, daemon=True, name="supervisor"),
        ]
        for thread in background:
            thread.start()
        started_dt = datetime.now(UTC)
        specs, deliveries = build_traffic(plan, started_dt)
        log(f"traffic: {len(deliveries)} webhooks for {len(specs)} orders over {plan.duration:g} s")
        started = time.time()
        sender = threading.Thread(target=self.send_webhooks, args=(deliveries, started), daemon=True)
        lookups = threading.Thread(target=self.look_up, args=(specs,), daemon=True)
        sender.start()
        lookups.start()
        fault_plan = [(plan.duration / 3, self.kill_worker), (plan.duration * 2 / 3, self.restart_redis)]
        for at, fault in fault_plan:
            while time.time() - started < at:
                self.check_web()
                time.sleep(0.1)
            fault(started)
        while sender.is_alive():
            self.check_web()
            sender.join(0.5)
        traffic_s = time.time() - started
        lookups.join(15)
        log(f"traffic done after {traffic_s:.0f} s; draining (at most {plan.drain:g} s)")
        drain_s, left = self.drain()
        self.sample_once()
        return self.collect(specs, deliveries, started, traffic_s, drain_s, left)

    def collect(
        self,
        specs: list[OrderSpec],
        deliveries: list[Delivery],
        started: float,
        traffic_s: float,
        drain_s: float,
        left: dict[str, int],
    ) -> dict[str, Any]:
        f = self.faults
        acked_ids = {d.webhook_id for d in deliveries if d.acked}
        stored = dict(self.db.query("SELECT webhook_id, status FROM webhook_events"))
        stranded_ids = [k for k, v in stored.items() if v == "received"]
        statuses = Counter(stored.values())
        (retried_rows,) = self.db.query("SELECT count(*) FROM webhook_events WHERE attempts > 1")[0]

        rows = self.db.query(
            "SELECT id, trigger, status, shopify_order_id, coalesce(reason, '') FROM notifications"
            " WHERE channel = 'email'"
        )
        planned = {r[0] for r in rows if r[2] in ("sent", "delivered", "queued", "deferred")}
        copies = Counter(int(m.group(2)) for _, mid, _ in self.smtp.snapshot() if (m := MESSAGE_ID.search(mid)))
        accepted = self.smtp.count()
        unparsed = accepted - sum(copies.values())
        planned_lost = sorted(planned - set(copies))
        duplicated = sum(n - 1 for n in copies.values() if n > 1)
        unexpected = sorted(set(copies) - planned)
        # The traffic's own promise: every parcel that ends delivered gets one "delivered" email, whatever the order
        # its webhooks arrived in (issue 14, item 8).
        delivered_emails: dict[int, int] = Counter(
            r[3] for r in rows if r[1] == "delivered" and r[2] in ("sent", "delivered") and r[0] in copies
        )
        promised = [s for s in specs if s.final == "delivered"]
        promise_missing = [s.order_id for s in promised if delivered_emails.get(s.order_id, 0) == 0]
        promise_twice = [s.order_id for s in promised if delivered_emails.get(s.order_id, 0) > 1]
        states = dict(self.db.query("SELECT shopify_order_id, shipment_state FROM fulfillments"))
        wrong_state = [
            (s.order_id, s.final, states.get(s.order_id)) for s in specs if states.get(s.order_id) != s.final
        ]
        diagnoses = [self.diagnose(order_id) for order_id, _, _ in wrong_state[:3]]
        by_trigger = Counter(f"{r[1]} {r[2]}" for r in rows)
        reasons = Counter(f"{r[1]}: {r[4]}" for r in rows if r[2] in ("suppressed", "failed"))

        def phase(at: float) -> str:
            t = at - started
            if t < f.kill_at:
                return "before faults"
            if t < f.redis_stop_at:
                return "after the kill"
            if t < f.redis_up_at:
                return "redis down"
            return "after redis is back"

        phases = ("before faults", "after the kill", "redis down", "after redis is back")
        lookup_phase: dict[str, list[Lookup]] = defaultdict(list)
        for item in self.lookups:
            lookup_phase[phase(item.at)].append(item)
        post_phase: dict[str, list[Post]] = defaultdict(list)
        for post in self.posts:
            post_phase[phase(post.at)].append(post)

        usage: dict[str, dict[str, float]] = {}
        for use in self.usage.values():
            entry = usage.setdefault(use.label, {"processes": 0, "peak_rss_mb": 0.0, "cpu_s": 0.0})
            entry["processes"] += 1
            entry["peak_rss_mb"] = max(entry["peak_rss_mb"], use.peak_rss_kb / 1024)
            entry["cpu_s"] += use.cpu_s
        own = os.times()
        usage["benchmark (sender, lookups, SMTP server)"] = {
            "processes": 1,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cpu_s": own.user + own.system,
        }
        lost = len(planned_lost) + len(promise_missing)
        worker_logs = "".join(p.read_text(errors="replace") for p in self.workdir.glob("worker-*.log") if p.exists())
        return {
            "traffic_s": traffic_s,
            "drain_s": drain_s,
            "left": left,
            "orders": len(specs),
            "shuffled_orders": sum(s.shuffled for s in specs),
            "sent": len(deliveries),
            "sent_kinds": dict(Counter(d.kind for d in deliveries)),
            "distinct_ids": len({d.webhook_id for d in deliveries}),
            "posts": len(self.posts),
            "acknowledged": sum(d.acked for d in deliveries),
            "retried": self.retried,
            "gave_up": sum(d.gave_up for d in deliveries),
            "non2xx_answers": sum(1 for p in self.posts if p.status is not None and not 200 <= p.status < 300),
            "no_answer": sum(1 for p in self.posts if p.status is None),
            "acked_not_stored": len(acked_ids - set(stored)),
            "stored": len(stored),
            "processed": statuses.get("processed", 0),
            "failed": statuses.get("failed", 0),
            "stranded": statuses.get("received", 0),
            "stranded_webhook_ids": stranded_ids[:20],
            "processed_more_than_once": retried_rows,
            "wrong_final_state": len(wrong_state),
            "wrong_final_states": wrong_state[:20],
            "wrong_state_diagnoses": diagnoses,
            "emails_expected_app": len(planned),
            "emails_expected_traffic": len(promised),
            "emails_accepted": accepted,
            "emails_delivered": len(copies),
            "emails_lost": lost,
            "emails_lost_planned": len(planned_lost),
            "emails_lost_promised": len(promise_missing),
            "emails_duplicated": duplicated + len(promise_twice),
            "emails_same_message_twice": duplicated,
            "parcels_delivered_twice": len(promise_twice),
            "emails_unexpected": len(unexpected) + unparsed,
            "lost_notification_ids": planned_lost[:20],
            "missing_delivered_orders": promise_missing[:20],
            "notifications": dict(sorted(by_trigger.items())),
            "suppressed_reasons": dict(reasons.most_common(8)),
            "lookups": len(self.lookups),
            "lookups_non2xx": sum(1 for x in self.lookups if x.status is None or not 200 <= x.status < 300),
            "lookup_statuses": dict(Counter(str(x.status) for x in self.lookups)),
            "lookup_p50_ms": pct([x.ms for x in self.lookups], 50),
            "lookup_p95_ms": pct([x.ms for x in self.lookups], 95),
            "lookup_phases": {
                name: {
                    "count": len(lookup_phase[name]),
                    "p50_ms": pct([x.ms for x in lookup_phase[name]], 50),
                    "p95_ms": pct([x.ms for x in lookup_phase[name]], 95),
                    "non2xx": dict(
                        Counter(str(x.status) for x in lookup_phase[name] if x.status is None or x.status >= 300)
                    ),
                }
                for name in phases
            },
            "ack_phases": {
                name: {
                    "posts": len(post_phase[name]),
                    "p50_ms": pct([p.ms for p in post_phase[name] if p.status], 50),
                    "p99_ms": pct([p.ms for p in post_phase[name] if p.status], 99),
                    "non2xx": sum(1 for p in post_phase[name] if p.status is None or not 200 <= p.status < 300),
                }
                for name in phases
            },
            "faults": {
                "quiet": self.plan.quiet_faults,
                "kill_at_s": f.kill_at,
                "killed_state": f.killed_state,
                "killed_job": f.killed_job,
                "orphans_after_kill": f.orphans_after_kill,
                "redis_stop_at_s": f.redis_stop_at,
                "redis_up_at_s": f.redis_up_at,
                "queued_before_stop": f.queued_before_stop,
                "queued_after_restart": f.queued_after_restart,
                "worker_exits": f.worker_exits,
            },
            "usage": usage,
            "job_retries": worker_logs.count(": scheduled for retry at "),
            "deadlocks": worker_logs.count("DeadlockDetected"),
            "scheduler_exits": worker_logs.count("] raised an exception."),
        }

    def diagnose(self, order_id: int) -> list[str]:
        """What the database holds for an order in the wrong final state: its webhooks as processed, its scans."""
        lines = []
        for topic, webhook_id, received, processed in self.db.query(
            "SELECT topic, webhook_id, received_at, processed_at FROM webhook_events"
            " WHERE webhook_id LIKE %s ORDER BY processed_at",
            f"soak-{order_id - ORDER_ID0}-%",
        ):
            lines.append(
                f"webhook {webhook_id} {topic}: received {received:%H:%M:%S.%f}, processed {processed:%H:%M:%S.%f}"
            )
        for status, happened, created in self.db.query(
            "SELECT status, happened_at, created_at FROM tracking_events WHERE shopify_order_id = %s ORDER BY id",
            order_id,
        ):
            lines.append(f"scan {status} happened {happened:%H:%M:%S} stored {created:%H:%M:%S.%f}")
        for state, updated in self.db.query(
            "SELECT shipment_state, updated_at FROM fulfillments WHERE shopify_order_id = %s", order_id
        ):
            lines.append(f"fulfilment {state}, row updated {updated:%H:%M:%S.%f}")
        return lines

    def cleanup(self) -> None:
        self.stop_sampling.set()
        for worker in [*self.workers, *self.retired]:
            try:
                worker.stop()
            except Exception as exc:
                log(f"could not stop {worker.name}: {exc}")
        if self.web is not None:
            self.web.stop()
        try:
            if self.app is not None:
                from app.extensions import db

                with self.app.app_context():
                    db.session.remove()
                    db.engine.dispose()
        except Exception as exc:
            log(f"could not close the app's connections: {exc}")
        self.smtp.stop()
        self.redis.stop()
        self.db.drop()


# --------------------------------------------------------------------------- the report


def report(plan: Plan, r: dict[str, Any], total_s: float) -> None:
    f = r["faults"]
    quiet = "quiet (sender paused, queues drained first)" if plan.quiet_faults else "under load"
    print("Aftercart soak run: mixed traffic, two web and two worker processes, a worker killed, Redis restarted")
    print(
        f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end; PostgreSQL, a private "
        "redis-server (AOF) and aiosmtpd (in the benchmark process) on loopback"
    )
    print(
        f"  mode: {'tiny' if plan.tiny else 'full'}; {plan.duration:g} s of traffic at {plan.rate:g} webhooks/s and "
        f"{plan.lookup_rate:g} lookups/s; faults {quiet}; "
        f"total time {total_s:.0f} s"
    )
    print()
    print(f"orders: {r['orders']} ({r['shuffled_orders']} with their webhooks shuffled)")
    kinds = r["sent_kinds"]
    print(
        f"webhooks sent: {r['sent']} ({kinds.get('first', 0)} first deliveries, {kinds.get('duplicate', 0)} resent "
        f"with the same webhook id, {kinds.get('redelivery', 0)} redelivered under a new id)"
    )
    print(f"webhook ids sent: {r['distinct_ids']}")
    print(f"webhook posts: {r['posts']} (non-2xx answers {r['non2xx_answers']}, no answer {r['no_answer']})")
    print(f"webhooks acknowledged (2xx): {r['acknowledged']}")
    print(f"webhooks retried by the sender: {r['retried']}")
    print(f"webhooks given up by the sender: {r['gave_up']}")
    print(f"webhooks acknowledged but not stored: {r['acked_not_stored']}")
    print(f"stored rows: {r['stored']}")
    print(f"processed: {r['processed']}")
    print(f"failed: {r['failed']}")
    print(f"stranded: {r['stranded']}")
    print(f"processed after a retry (attempts > 1): {r['processed_more_than_once']}")
    print(f"parcels in the wrong final state: {r['wrong_final_state']}")
    print(
        f"drain: {r['drain_s']:.1f} s after the traffic ({r['traffic_s']:.0f} s)"
        + (f"; still outstanding: {r['left']}" if r["left"] else "; nothing outstanding")
    )
    for order_id, expected, got in r["wrong_final_states"][:3]:
        print(f"  order {order_id}: expected {expected}, ended {got}")
    for lines in r["wrong_state_diagnoses"]:
        for line in lines:
            print(f"    {line}")
    print(f"emails expected (app's record, sent or queued): {r['emails_expected_app']}")
    print(f"emails expected (traffic: one 'delivered' per parcel that ends delivered): {r['emails_expected_traffic']}")
    print(f"emails delivered to SMTP: {r['emails_delivered']} distinct messages ({r['emails_accepted']} accepted)")
    print(
        f"emails lost: {r['emails_lost']} (planned but never at SMTP {r['emails_lost_planned']}, delivered parcels "
        f"without a 'delivered' email {r['emails_lost_promised']})"
    )
    print(
        f"emails duplicated: {r['emails_duplicated']} (same Message-ID twice {r['emails_same_message_twice']}, "
        f"parcels told 'delivered' twice {r['parcels_delivered_twice']})"
    )
    print(f"emails unexpected: {r['emails_unexpected']}")
    print("notifications by trigger and status: " + ", ".join(f"{k} {v}" for k, v in r["notifications"].items()))
    if r["suppressed_reasons"]:
        print("  suppressed or failed, why: " + "; ".join(f"{k} ({v})" for k, v in r["suppressed_reasons"].items()))
    print(f"tracking lookups: {r['lookups']} (statuses {r['lookup_statuses']})")
    print(f"tracking lookup p50: {fmt_ms(r['lookup_p50_ms'])}, p95: {fmt_ms(r['lookup_p95_ms'])}")
    print(f"tracking lookups non-2xx: {r['lookups_non2xx']}")
    for name, p in r["lookup_phases"].items():
        print(
            f"  lookups {name}: {p['count']}, p50 {fmt_ms(p['p50_ms'])}, p95 {fmt_ms(p['p95_ms'])}, "
            f"non-2xx {p['non2xx']}"
        )
    for name, p in r["ack_phases"].items():
        print(
            f"  webhook acks {name}: {p['posts']} posts, p50 {fmt_ms(p['p50_ms'])}, p99 {fmt_ms(p['p99_ms'])}, "
            f"non-2xx or no answer {p['non2xx']}"
        )
    base, during = r["lookup_phases"]["before faults"], r["lookup_phases"]["redis down"]
    print(
        f"baseline (same run): lookup p95 before the faults {fmt_ms(base['p95_ms'])}; while Redis was down "
        f"{fmt_ms(during['p95_ms'])}; after {fmt_ms(r['lookup_phases']['after redis is back']['p95_ms'])}"
    )
    print(
        f"fault worker kill: at {f['kill_at_s']:.1f} s, the worker was {f['killed_state']}"
        f"{' running ' + f['killed_job'] if f['killed_job'] else ''}; processes of its session left 2 s later: "
        f"{f['orphans_after_kill']}"
    )
    print(
        f"fault redis restart: down from {f['redis_stop_at_s']:.1f} s to {f['redis_up_at_s']:.1f} s; jobs queued "
        f"before the stop {f['queued_before_stop']}, after the restart {f['queued_after_restart']}"
    )
    print(
        f"job failures retried by RQ: {r['job_retries']} (deadlocks between jobs: {r['deadlocks']}); "
        f"RQ scheduler processes that died: {r['scheduler_exits']}"
    )
    print(f"workers that exited on their own: {len(f['worker_exits'])}")
    for line in f["worker_exits"]:
        print(f"  {line}")
    for label, use in sorted(r["usage"].items()):
        print(
            f"process {label}: {int(use['processes'])} process(es), peak RSS {use['peak_rss_mb']:.1f} MB, "
            f"CPU {use['cpu_s']:.1f} s"
        )
    print(f"max peak RSS: {max(u['peak_rss_mb'] for u in r['usage'].values()):.1f} MB")
    verdict = "PASS" if not (r["emails_lost"] or r["emails_duplicated"] or r["acked_not_stored"]) else "FAIL"
    print(f"verdict (nothing lost, nothing duplicated): {verdict}")
    print("RESULT_JSON " + json.dumps({**r, "verdict": verdict, "tiny": plan.tiny}, default=str))


def keep_logs(workdir: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for path in workdir.glob("*.log"):
        shutil.copy(path, target / path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="seconds, for the test suite")
    parser.add_argument("--duration", type=float, default=None, help="seconds of traffic (default 600)")
    parser.add_argument("--rate", type=float, default=None, help="webhooks/s (default 20)")
    parser.add_argument("--lookup-rate", type=float, default=None, help="tracking lookups/s (default 3)")
    parser.add_argument("--drain", type=float, default=None, help="seconds to wait for the work to finish")
    parser.add_argument("--redis-down", type=float, default=None, help="seconds Redis stays down (default 5)")
    parser.add_argument(
        "--quiet-faults",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pause the sender and drain before each fault (default: only with --tiny)",
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--db-name", default=None)
    parser.add_argument("--logs", type=Path, default=None, help="copy the processes' logs to this directory")
    parser.add_argument("--max-seconds", type=float, default=None, help="hard bound on the whole run")
    args = parser.parse_args(argv)
    tiny = args.tiny
    pick = tiny_picker(tiny)

    plan = Plan(
        duration=pick(args.duration, 600.0, 8.0),
        rate=pick(args.rate, 20.0, 5.0),
        lookup_rate=pick(args.lookup_rate, 3.0, 2.0),
        # Tiny runs end as soon as everything is done (~20 s); the bound leaves room for the app's slowest
        # recoveries (an RQ retry waiting for a scheduler the worker restarts each minute; the sweepers' minute).
        drain=pick(args.drain, 600.0, 150.0),
        redis_down=pick(args.redis_down, 5.0, 1.0),
        lifetime=2.0 if tiny else 30.0,
        shuffled=0.2,
        duplicates=0.1,
        redeliveries=0.03,
        quiet_faults=pick(args.quiet_faults, False, True),
        sender_threads=4 if tiny else 8,
        seed=args.seed,
        tiny=tiny,
    )
    db_name = args.db_name or f"aftercart_bench_soak_{os.getpid()}"
    max_seconds = pick(args.max_seconds, plan.duration + plan.drain + 300, 120.0)
    began = time.time()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aftercart-bench-soak-")))
        soak = Soak(plan, db_name, workdir)
        if args.logs is not None:
            stack.callback(keep_logs, workdir, args.logs)  # after cleanup: the logs are complete
        stack.callback(soak.cleanup)
        result = run_armed(
            soak.run,
            max_seconds,
            lambda signum: f"the soak exceeded {max_seconds:.0f} s or was stopped (signal {signum})",
        )
        if result is None:
            return 1
        report(plan, result, time.time() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
