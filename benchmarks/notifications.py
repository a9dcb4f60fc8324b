"""Notification delivery: one worker's send rate against a local SMTP server, and the time from a signed
fulfilment webhook arriving to its email being accepted by the SMTP server (DESIGN.md §2 steps 5-7, §5).

    .venv/bin/python benchmarks/notifications.py [--rate 50] [--duration 10] [--send-batch 200] [--workers 1]
    .venv/bin/python benchmarks/notifications.py --tiny          # seconds, for the test suite

What it does, in order (everything it starts or creates is stopped or removed at the end, even on failure
or timeout):

1. starts a private redis-server on a free loopback port, creates a fresh PostgreSQL database and migrates
   it (`flask db upgrade`), and runs an SMTP server (aiosmtpd) in this process that records the moment it
   answers 250 to each message.
2. baseline, same run, same SMTP server: raw smtplib sends of a message of the same size, one connection per
   message (as the email channel does), then all over one connection.
3. send rate: N order-confirmed emails are queued by the app's own code (orders through the webhook handler,
   domain events dispatched in this process), then ONE worker (`flask --app app worker --burst --queues
   notifications`) sends them: messages/s from its first to its last accepted message. For comparison, the
   same kind of jobs under rq's forking Worker (a fork per job: how the app ran them before).
4. latency: the app under gunicorn (gunicorn.conf.py, 2 workers) and the worker as deployed (`flask --app app
   worker --queues webhooks,default,notifications`: scheduler and periodic loop). Signed fulfillments/create
   webhooks (one "shipped" email each) are POSTed at a steady rate by a paced sender; for each, the time
   from its POST to the SMTP server accepting its email. Emails not accepted by the drain deadline count
   as slower than it: a percentile that falls among them is printed as "> deadline".
5. the same at a rate one worker sustains (half the pipeline rate measured in 4), to tell the latency of
   one message from the wait behind a backlog.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import queue
import smtplib
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any

from _common import (  # noqa: E402
    BenchError,
    Database,
    Process,
    RedisServer,
    SmtpSink,
    cpu_seconds_of,
    free_port,
    log,
    migrate,
    postgres_pids,
    run_armed,
    tiny_picker,
    wait_for,
    webhook_headers,
)
from _common import fulfillment_payload as fulfillment_payload_at  # noqa: E402
from _common import order_payload as order_payload_at  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "bench-notifications-secret"
SHOP = "bench-notify.myshopify.com"
APP_URL = "https://aftercart.bench.invalid"
MAIL_FROM = "updates@aftercart.bench.invalid"
API_VERSION = "2026-07"
TARGET_P95_S = 2.0  # DESIGN.md §5: fulfilment webhook to email accepted, p95, nothing deferred by policy
TARGET_RATE = 50.0
FIRST_ORDER_ID = 7_100_000_000_000


def pct(values: list[float], p: float, total: int | None = None) -> float | None:
    """The p-th percentile (nearest rank) of `total` observations of which `values` are the known ones and
    the rest are larger than any of them (not delivered by the deadline); None when it falls among those."""
    total = len(values) if total is None else total
    if total == 0:
        return None
    rank = max(math.ceil(p / 100.0 * total), 1)
    ordered = sorted(values)
    return ordered[rank - 1] if rank <= len(ordered) else None


def fmt_s(value: float | None, deadline: float | None = None) -> str:
    if value is None:
        return f"> {deadline:.0f} s" if deadline is not None else "n/a"
    return f"{value:.2f} s"


# --------------------------------------------------------------------------- payloads


def order_payload(index: int) -> dict[str, Any]:
    return order_payload_at(FIRST_ORDER_ID + index, f"#B{index}", 100000 + index, recipient(index), datetime.now(UTC))


def fulfillment_payload(index: int) -> dict[str, Any]:
    order_id = FIRST_ORDER_ID + index
    return fulfillment_payload_at(order_id, order_id, f"#B{index}.1", recipient(index), datetime.now(UTC))


def recipient(index: int) -> str:
    return f"shopper{index}@bench.example.com"


def sign(body: bytes) -> str:
    from app.shopify.signatures import webhook_hmac

    return webhook_hmac(SECRET, body)


# --------------------------------------------------------------------------- the run


@dataclass
class Plan:
    send_batch: int
    simple_batch: int
    rate: float
    duration: float
    drain: float
    sustained_duration: float
    sender_threads: int
    workers: int
    smtp_delay: float
    baseline_messages: int
    tiny: bool
    profile_dir: Path | None = None


@dataclass
class LatencyRun:
    label: str
    rate: float
    posted: int = 0
    ok200: int = 0
    non200: int = 0
    errors: int = 0
    window_s: float = 0.0
    late_dispatch_max_s: float = 0.0
    ack_ms: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    delivered: int = 0
    drain_deadline: float = 0.0
    pipeline_rate: float = 0.0
    stages: dict[str, Any] = field(default_factory=dict)
    cpu_ms_per_email: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "posted": self.posted,
            "ok200": self.ok200,
            "non200": self.non200,
            "errors": self.errors,
            "achieved_rate": self.posted / self.window_s if self.window_s else 0.0,
            "delivered": self.delivered,
            "p50_s": pct(self.latencies, 50, self.posted),
            "p95_s": pct(self.latencies, 95, self.posted),
            "max_s": max(self.latencies) if self.delivered == self.posted and self.latencies else None,
            "drain_deadline_s": self.drain_deadline,
            "ack_p50_ms": pct(self.ack_ms, 50),
            "ack_p99_ms": pct(self.ack_ms, 99),
            "pipeline_emails_per_s": self.pipeline_rate,
            "stages": self.stages,
            "cpu_ms_per_email": self.cpu_ms_per_email,
        }


class Bench:
    def __init__(self, plan: Plan, db_name: str, workdir: Path) -> None:
        self.plan = plan
        self.workdir = workdir
        self.db = Database(db_name)
        self.redis = RedisServer(workdir)
        self.smtp = SmtpSink(plan.smtp_delay)
        self.app = None
        self.shop_id = 0
        self.next_index = 0
        self.port = 0
        self.running: list[Process] = []

    # ----- setup

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AFTERCART_", "SHOPIFY_", "TWILIO_", "LINE_", "SMTP_", "MAIL_", "GUNICORN_", "FLASK_"))
        }
        env.pop("WEB_CONCURRENCY", None)
        env.update(
            AFTERCART_ENV="test",
            DATABASE_URL=self.db.url,
            REDIS_URL=self.redis.url,
            SHOPIFY_API_KEY="bench-api-key",
            SHOPIFY_API_SECRET=SECRET,
            SHOPIFY_APP_URL=APP_URL,
            SMTP_URL=self.smtp.url,
            MAIL_FROM=MAIL_FROM,
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def setup(self) -> None:
        self.redis.start()
        self.db.create()
        migrate(self.env())
        self.smtp.start()
        from app import create_app
        from app.config import Settings

        self.app = create_app(Settings.from_env(self.env()))
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log
        from app.extensions import db
        from app.shopify.models import Shop

        with self.app.app_context():
            shop = Shop(domain=SHOP, is_installed=True, name="Bench Store", iana_timezone="Asia/Bangkok")
            db.session.add(shop)
            db.session.commit()
            self.shop_id = shop.id

    def redis_conn(self):
        import redis

        return redis.Redis.from_url(self.redis.url)

    def create_orders(self, count: int, confirm: bool) -> list[int]:
        """Orders through the webhook handler's own code; with `confirm`, their order-confirmed emails are
        queued (domain events dispatched here), else the events are marked dispatched (old orders)."""
        from rq import Queue, SimpleWorker
        from sqlalchemy import text

        from app.extensions import db
        from app.orders.handlers import on_order_changed
        from app.shopify.models import Shop

        indexes = list(range(self.next_index, self.next_index + count))
        self.next_index += count
        conn = self.redis_conn()
        with self.app.app_context():
            shop = db.session.get(Shop, self.shop_id)
            for n, index in enumerate(indexes):
                on_order_changed(shop, order_payload(index))
                if n % 100 == 99:
                    db.session.commit()
            db.session.commit()
            if confirm:
                SimpleWorker([Queue("default", connection=conn)], connection=conn).work(burst=True)
            else:
                db.session.execute(text("UPDATE domain_events SET dispatched_at = now() WHERE dispatched_at IS NULL"))
                db.session.commit()
                Queue("default", connection=conn).empty()
            db.session.remove()
        return indexes

    # ----- processes

    def worker_process(self, label: str, *args: str) -> Process:
        cmd = [sys.executable, "-m", "flask", "--app", "app", "worker", *args]
        if self.plan.profile_dir is not None:  # written when the worker exits (burst end or SIGTERM)
            self.plan.profile_dir.mkdir(parents=True, exist_ok=True)
            cmd[1:1] = ["-m", "cProfile", "-o", str(self.plan.profile_dir / f"{label}.prof")]
        return Process(label, cmd, self.env(), self.workdir / f"{label}.log")

    def gunicorn(self, port: int) -> Process:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "app:create_app()",
        ]
        return Process("gunicorn", cmd, self.env(WEB_CONCURRENCY="2", PORT=str(port)), self.workdir / "gunicorn.log")

    # ----- 2. baseline

    def baseline(self) -> dict[str, float]:
        from app.notifications.channels import OutgoingMessage
        from app.notifications.channels.email import as_bytes, build_email

        html = "<p>" + "Your order is on its way. " * 60 + "</p>"
        messages = [  # written out beforehand: the baseline is the wire and the server, nothing else
            as_bytes(
                build_email(
                    OutgoingMessage(
                        notification_id=i,
                        shop_domain=SHOP,
                        channel="email",
                        recipient=f"baseline{i}@bench.example.com",
                        subject="Your order #B1 is on its way",
                        text="Your order is on its way. " * 30,
                        html=html,
                        sender_name="Bench Store",
                        reply_to=None,
                        idempotency_key=f"baseline-{i}",
                        unsubscribe_url=f"{APP_URL}/l/u/{'x' * 120}",
                    ),
                    MAIL_FROM,
                )
            )
            for i in range(self.plan.baseline_messages)
        ]
        began = time.perf_counter()
        for message in messages:
            with smtplib.SMTP("127.0.0.1", self.smtp.port, timeout=10) as client:
                client.sendmail(MAIL_FROM, ["baseline@bench.example.com"], message)
        per_connection = len(messages) / (time.perf_counter() - began)
        began = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", self.smtp.port, timeout=10) as client:
            for message in messages:
                client.sendmail(MAIL_FROM, ["baseline@bench.example.com"], message)
        reused = len(messages) / (time.perf_counter() - began)
        self.smtp.clear()
        return {"per_connection": per_connection, "reused": reused, "size": len(messages[0])}

    # ----- 3. send rate

    def send_batch(self, count: int, label: str, cmd: list[str] | None) -> dict[str, Any]:
        self.create_orders(count, confirm=True)
        conn = self.redis_conn()
        from rq import Queue

        queued = Queue("notifications", connection=conn).count
        if queued != count:
            raise BenchError(f"expected {count} queued notifications, found {queued}")
        self.smtp.clear()
        if cmd is None:
            worker = self.worker_process(label, "--burst", "--queues", "notifications")
        else:
            worker = Process(label, cmd, self.env(), self.workdir / f"{label}.log")
        worker.start()
        try:
            wait_for(
                lambda: self.smtp.count() >= count, 60 + count * 2.0, f"{label}: {count} emails", 0.05, worker.check
            )
            wait_for(lambda: not worker.alive(), 30, f"{label} to exit")
        finally:
            worker.stop()
        worker.check()
        accepted = sorted(t for t, _, _ in self.smtp.snapshot())
        gaps = [b - a for a, b in zip(accepted, accepted[1:], strict=False)]
        rate = (len(accepted) - 1) / (accepted[-1] - accepted[0]) if len(accepted) > 1 else 0.0
        sent = self.db.query("SELECT count(*) FROM notifications WHERE status = 'sent' AND trigger = 'order_confirmed'")
        return {
            "messages": count,
            "rate": rate,
            "first_after_start_s": accepted[0] - worker.started_at,
            "wall_s": accepted[-1] - worker.started_at,
            "gap_p50_ms": (statistics.median(gaps) * 1000) if gaps else 0.0,
            "sent_rows_total": sent[0][0],
        }

    # ----- 4-5. latency

    def latency(self, label: str, rate: float, duration: float, drain: float) -> LatencyRun:
        count = max(int(round(rate * duration)), 1)
        indexes = self.create_orders(count, confirm=False)
        run = LatencyRun(label=label, rate=rate, drain_deadline=drain)
        bodies = []
        for index in indexes:
            body = json.dumps(fulfillment_payload(index)).encode()
            bodies.append((index, body, sign(body), f"bench-fulfillment-{index}-{uuid.uuid4().hex[:8]}"))
        self.smtp.clear()
        jobs_before = self.job_counts()
        posted: dict[int, float] = {}
        lock = threading.Lock()
        work: queue.Queue = queue.Queue()

        def sender() -> None:
            conn = HTTPConnection("127.0.0.1", self.port, timeout=10)
            while True:
                item = work.get()
                if item is None:
                    break
                (index, body, signature, webhook_id), due = item
                headers = webhook_headers("fulfillments/create", SHOP, webhook_id, signature, API_VERSION)
                began = time.time()
                try:
                    conn.request("POST", "/webhooks", body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except (OSError, HTTPException):
                    conn.close()
                    status = None
                ack = (time.time() - began) * 1000
                with lock:
                    posted[index] = began
                    run.late_dispatch_max_s = max(run.late_dispatch_max_s, began - due)
                    if status is None:
                        run.errors += 1
                    else:
                        run.ack_ms.append(ack)
                        run.ok200 += status == 200
                        run.non200 += status != 200
            conn.close()

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(self.plan.sender_threads)]
        for thread in threads:
            thread.start()
        log(f"latency: {label}: posting {len(bodies)} webhooks")
        cpu_before = self.cpu_snapshot()
        start = time.time() + 0.2
        for i, item in enumerate(bodies):
            due = start + i / rate
            pause = due - time.time()
            if pause > 0:
                time.sleep(pause)
            work.put((item, due))
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join(60)
        run.posted = len(bodies)
        run.window_s = max(posted.values()) - min(posted.values()) + 1 / rate if posted else 0.0
        last_post = max(posted.values()) if posted else time.time()
        wanted = {recipient(i) for i in indexes}
        wait_for(
            lambda: (
                len({to for _, _, to in self.smtp.snapshot()} & wanted) >= len(wanted)
                or time.time() > last_post + drain
            ),
            drain + 30,
            f"{label}: emails",
            0.1,
            self.check_processes,
        )
        cpu_after = self.cpu_snapshot()
        delivered = max(len({to for _, _, to in self.smtp.snapshot()} & wanted), 1)
        for part, after in cpu_after.items():
            used = sum(seconds - cpu_before[part].get(pid, 0.0) for pid, seconds in after.items())
            run.cpu_ms_per_email[part] = used * 1000 / delivered
        first_accept: dict[str, float] = {}
        for at, _, to in self.smtp.snapshot():
            if to in wanted and to not in first_accept:
                first_accept[to] = at
        for index in indexes:
            at = first_accept.get(recipient(index))
            if at is not None and index in posted and at <= last_post + drain:
                run.latencies.append(at - posted[index])
        run.delivered = len(run.latencies)
        if run.delivered > 1:
            span = max(first_accept.values()) - min(posted.values())
            run.pipeline_rate = run.delivered / span if span > 0 else 0.0
        run.stages = self.stages(indexes)
        ran = self.job_counts() - jobs_before
        run.stages["jobs per webhook"] = (sum(ran.values()) / max(len(indexes), 1), dict(sorted(ran.items())))
        return run

    def cpu_snapshot(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far per part of the system: what each email costs, and where."""
        web, workers = (self.running[0], self.running[1:]) if self.running else (None, [])
        own = os.times()
        return {
            "workers": cpu_seconds_of([pid for worker in workers for pid in worker._session()]),
            "web": cpu_seconds_of(web._session() if web else []),
            "PostgreSQL": cpu_seconds_of(postgres_pids()),
            "Redis": cpu_seconds_of([self.redis.proc.pid] if self.redis.proc else []),
            "benchmark (SMTP server, sender)": {os.getpid(): own.user + own.system},
        }

    def job_counts(self) -> Counter:
        """RQ job hashes per kind of job id (webhook-, event-, notify-); finished jobs stay 500 s, so the
        difference across a run is what the run executed."""
        counts: Counter = Counter()
        for key in self.redis_conn().scan_iter(match="rq:job:*", count=1000):
            kind = key.decode().split(":", 2)[2].split("-", 1)[0]
            if kind in ("webhook", "event", "notify"):
                counts[kind] += 1
        return counts

    def stages(self, indexes: list[int]) -> dict[str, Any]:
        """Where the time went, from the rows' own timestamps (p50, p95 in seconds)."""
        ids = [FIRST_ORDER_ID + i for i in indexes]
        rows = self.db.query(
            """
            SELECT extract(epoch FROM w.processed_at - w.received_at),
                   extract(epoch FROM n.created_at - w.processed_at),
                   extract(epoch FROM n.sent_at - n.created_at)
            FROM webhook_events w
            JOIN notifications n
              ON n.shop_id = w.shop_id AND n.channel = 'email' AND n.trigger = 'shipped'
             AND n.shopify_fulfillment_id = (w.payload::json ->> 'id')::bigint
            WHERE w.topic = 'fulfillments/create' AND n.shopify_order_id = ANY(%s)
            """,
            ids,
        )
        names = ("webhook received -> processed", "processed -> email planned", "planned -> sent")
        out: dict[str, Any] = {}
        for column, name in enumerate(names):
            values = [float(r[column]) for r in rows if r[column] is not None]
            out[name] = (pct(values, 50, len(indexes)), pct(values, 95, len(indexes)))
        return out

    def check_processes(self) -> None:
        for process in self.running:
            if not process.alive():
                raise BenchError(f"{process.name} died:\n{process.log_tail()}")

    # ----- all

    def run(self) -> dict[str, Any]:
        plan = self.plan
        log("setting up redis-server, database, SMTP server")
        self.setup()
        log("baseline: raw smtplib")
        baseline = self.baseline()
        log(f"send rate: {plan.send_batch} emails, one worker")
        send = self.send_batch(plan.send_batch, "send-worker", None)
        simple = None
        if plan.simple_batch:
            log(f"send rate: {plan.simple_batch} emails, rq's forking Worker (comparison)")
            cmd = [
                str(Path(sys.executable).with_name("rq")),
                "worker",
                "--burst",
                "--url",
                self.redis.url,
                "--worker-class",
                "rq.worker.Worker",
                "notifications",
            ]
            simple = self.send_batch(plan.simple_batch, "forking-worker", cmd)

        self.port = free_port()
        web = self.gunicorn(self.port)
        workers = [
            self.worker_process(f"worker-{n}", "--queues", "webhooks,default,notifications")
            for n in range(plan.workers)
        ]
        self.running = [web, *workers]
        runs: list[LatencyRun] = []
        try:
            web.start()
            for worker in workers:
                worker.start()

            def web_up() -> bool:
                web.check()
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return True
                except OSError:
                    return False

            wait_for(web_up, 60, "gunicorn")
            from rq import Worker

            conn = self.redis_conn()
            wait_for(
                lambda: len(Worker.all(connection=conn)) >= plan.workers, 60, "the workers", 0.1, self.check_processes
            )
            log("latency: warm-up")
            self.latency("warm-up", 2.0, 1.5, 60)
            log(f"latency: {plan.rate:g} webhooks/s for {plan.duration:g} s")
            runs.append(self.latency("target", plan.rate, plan.duration, plan.drain))
            if plan.sustained_duration and runs[0].pipeline_rate > 0:
                sustained = max(round(runs[0].pipeline_rate * 0.5, 2), 0.1)
                if sustained < plan.rate:
                    log(f"latency: {sustained:g} webhooks/s (half the pipeline rate) for {plan.sustained_duration:g} s")
                    self.wait_idle()
                    runs.append(self.latency("sustained", sustained, plan.sustained_duration, max(plan.drain / 2, 30)))
        finally:
            for process in reversed(self.running):
                process.stop()
        return {"baseline": baseline, "send": send, "simple": simple, "runs": runs}

    def wait_idle(self) -> None:
        """Let the worker finish what the previous run left (its backlog must not count against the next)."""
        from rq import Queue

        conn = self.redis_conn()
        wait_for(
            lambda: all(Queue(q, connection=conn).count == 0 for q in ("webhooks", "default", "notifications")),
            self.plan.drain * 3 + 60,
            "the backlog to clear",
            0.2,
            self.check_processes,
        )
        time.sleep(1.0)

    def cleanup(self) -> None:
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


def report(plan: Plan, result: dict[str, Any], started: float) -> dict[str, Any]:
    baseline, send, simple, runs = result["baseline"], result["send"], result["simple"], result["runs"]
    print("Aftercart notification delivery benchmark (DESIGN.md §2 steps 5-7, §5)")
    print(
        f"  machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end; everything on "
        f"loopback (PostgreSQL, private redis-server, aiosmtpd in the benchmark process"
        f"{f', {plan.smtp_delay * 1000:.0f} ms per message' if plan.smtp_delay else ''})"
    )
    print(f"  mode: {'tiny' if plan.tiny else 'full'}; total time {time.time() - started:.0f} s")
    print()
    print(
        f"baseline smtplib messages/s: {baseline['per_connection']:.1f} "
        f"(one connection per message, {plan.baseline_messages} messages of {baseline['size']} bytes)"
    )
    print(f"baseline smtplib reused-connection messages/s: {baseline['reused']:.1f}")
    print(
        f"worker send messages/s: {send['rate']:.2f} ({send['messages']} order-confirmed emails, one "
        f"worker, first to last accepted; median gap {send['gap_p50_ms']:.0f} ms)"
    )
    print(
        f"worker send wall: {send['wall_s']:.1f} s from the worker's start to the last accepted "
        f"(first after {send['first_after_start_s']:.1f} s)"
    )
    print(f"worker send / baseline: {send['rate'] / baseline['per_connection']:.3f}")
    if simple:
        print(
            f"forking-worker send messages/s: {simple['rate']:.2f} ({simple['messages']} emails, rq's Worker: "
            "the same jobs with a fork per job, as the app ran them before; for comparison only)"
        )
    for run in runs:
        s = run.summary()
        print(
            f"webhook->email run '{run.label}': {run.posted} signed fulfillments/create at {run.rate:g}/s "
            f"(achieved {s['achieved_rate']:.1f}/s, dispatch late by at most {run.late_dispatch_max_s * 1000:.0f} ms); "
            f"acknowledged 200: {run.ok200}, other: {run.non200}, errors: {run.errors}"
        )
        print(f"  webhook ack latency p50: {s['ack_p50_ms'] or 0:.1f} ms, p99: {s['ack_p99_ms'] or 0:.1f} ms")
        print(
            f"  webhook->email latency p50: {fmt_s(s['p50_s'], run.drain_deadline)}, "
            f"p95: {fmt_s(s['p95_s'], run.drain_deadline)}, max: {fmt_s(s['max_s'], run.drain_deadline)}; "
            f"delivered {run.delivered} of {run.posted} within {run.drain_deadline:.0f} s of the last webhook"
        )
        print(f"  pipeline emails/s: {run.pipeline_rate:.2f} (delivered / first webhook to last email)")
        if run.cpu_ms_per_email:
            parts = ", ".join(f"{part} {ms:.1f}" for part, ms in run.cpu_ms_per_email.items())
            total = sum(run.cpu_ms_per_email.values())
            print(f"  CPU per email, first webhook to last email (ms): {parts}; total {total:.1f}")
        for name, value in run.stages.items():
            if name == "jobs per webhook":
                per_kind = ", ".join(f"{kind} {count}" for kind, count in value[1].items())
                print(f"  RQ jobs per webhook: {value[0]:.1f} ({per_kind})")
            else:
                print(f"  stage {name}: p50 {fmt_s(value[0])}, p95 {fmt_s(value[1])}")
    target = next((r for r in runs if r.label == "target"), None)
    verdict = "n/a"
    if target is not None:
        p95 = pct(target.latencies, 95, target.posted)
        at = f"at {target.rate:g} webhooks/s"
        verdict = "PASS" if p95 is not None and p95 < TARGET_P95_S else "FAIL"
        print(f"target p95 < {TARGET_P95_S:g} s {at}: {verdict} (p95 {fmt_s(p95, target.drain_deadline)})")
        if target.rate != TARGET_RATE:
            print(f"  (the target is set at {TARGET_RATE:g} webhooks/s; this run used {target.rate:g}/s)")
    summary = {
        "baseline": baseline,
        "send": send,
        "simple": simple,
        "runs": {r.label: r.summary() for r in runs},
        "verdict": verdict,
        "tiny": plan.tiny,
    }
    print("RESULT_JSON " + json.dumps(summary, default=str))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="a few messages and seconds, for the test suite")
    parser.add_argument("--rate", type=float, default=None, help="webhooks/s in the latency run (default 50)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of paced webhooks (default 10)")
    parser.add_argument("--drain", type=float, default=None, help="seconds to wait for emails after the last webhook")
    parser.add_argument("--send-batch", type=int, default=None, help="emails in the send-rate run (default 200)")
    parser.add_argument("--simple-batch", type=int, default=None, help="emails for the forking-worker comparison")
    parser.add_argument("--sustained-duration", type=float, default=None)
    parser.add_argument("--workers", type=int, default=1, help="worker processes in the latency runs (default 1)")
    parser.add_argument("--smtp-delay", type=float, default=0.0, help="ms the SMTP server takes per message")
    parser.add_argument("--profile-workers", type=Path, default=None, help="write each worker's cProfile here")
    parser.add_argument("--db-name", default=None)
    parser.add_argument("--max-seconds", type=float, default=None, help="hard bound on the whole run")
    args = parser.parse_args(argv)
    tiny = args.tiny
    pick = tiny_picker(tiny)

    plan = Plan(
        send_batch=pick(args.send_batch, 200, 8),
        simple_batch=pick(args.simple_batch, 100, 4),
        rate=pick(args.rate, TARGET_RATE, 4.0),
        duration=pick(args.duration, 10.0, 1.5),
        drain=pick(args.drain, 600.0, 20.0),
        sustained_duration=pick(args.sustained_duration, 30.0, 0.0),
        sender_threads=8,
        workers=max(args.workers, 1),
        smtp_delay=max(args.smtp_delay, 0.0) / 1000.0,
        baseline_messages=50 if tiny else 300,
        tiny=tiny,
        profile_dir=args.profile_workers.resolve() if args.profile_workers else None,
    )
    db_name = args.db_name or f"aftercart_bench_notifications_{os.getpid()}"
    max_seconds = pick(args.max_seconds, 1800.0, 120.0)
    started = time.time()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aftercart-bench-notify-")))
        bench = Bench(plan, db_name, workdir)
        stack.callback(bench.cleanup)
        result = run_armed(bench.run, max_seconds, lambda signum: f"the benchmark exceeded {max_seconds:.0f} s")
        if result is None:
            return 1
        report(plan, result, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
