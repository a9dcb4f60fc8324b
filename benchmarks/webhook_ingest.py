"""Webhook intake under load: the real app under gunicorn against a bare WSGI endpoint, same run, same settings.

Every request is a signed `orders/create` delivery with its own X-Shopify-Webhook-Id, so each one
really inserts a `webhook_events` row and enqueues an RQ job (DESIGN.md §2, budget in §5).

    .venv/bin/python benchmarks/webhook_ingest.py [--duration S] [--connections N] [--workers W]
    .venv/bin/python benchmarks/webhook_ingest.py --tiny        # a few seconds, for the test suite

Load comes from `wrk` (Debian package `wrk`) when it is installed, otherwise from a Python
multi-process client (standard library only). The script creates and drops its own PostgreSQL
database and flushes its own Redis db number; it stops everything it started, even on failure,
and never runs longer than a fixed bound.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import math
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (  # noqa: E402
    BenchError,
    GunicornServer,
    add_service_options,
    bounded_run,
    children,
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
BODY_FILE = ROOT / "tests" / "fixtures" / "shopify" / "orders_create.json"
LUA_SCRIPT = BENCH_DIR / "webhook_ingest.lua"

SECRET = "bench-webhook-secret"
SHOP = "bench-store.myshopify.com"
TOPIC = "orders/create"
API_VERSION = "2026-07"
QUEUE = "webhooks"

# Targets from the issue, for a 2-core machine (DESIGN.md §5).
TARGET_RPS = 1000.0
TARGET_P99_MS = 100.0
TARGET_RATIO = 0.15
TARGET_RSS_MB = 150.0


# --------------------------------------------------------------------------- results


@dataclass
class LoadResult:
    tool: str
    sent: int
    ok200: int
    ok2xx: int
    non2xx: int
    responses: int
    window_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    socket_errors: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.responses / self.window_s if self.window_s > 0 else 0.0

    @property
    def in_flight(self) -> int:
        """Requests sent whose answer never came back (cut off, or a socket error)."""
        return max(self.sent - self.responses, 0)


@dataclass
class ServerStats:
    workers: dict[int, int] = field(default_factory=dict)  # pid -> VmHWM kB (peak RSS)
    rss_now: dict[int, int] = field(default_factory=dict)  # pid -> VmRSS kB
    master_hwm_kb: int = 0
    worker_cpu_s: float = 0.0
    machine_busy: float = 0.0


@dataclass
class TargetRun:
    name: str
    load: LoadResult
    server: ServerStats


# --------------------------------------------------------------------------- small helpers


def webhook_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _machine_cpu() -> tuple[int, int]:
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class WorkerMonitor:
    """Samples the gunicorn workers' peak RSS (VmHWM) while the load runs; recycled workers count too."""

    def __init__(self, master_pid: int, interval: float = 0.25) -> None:
        self.master_pid = master_pid
        self.interval = interval
        self.stats = ServerStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu_start: dict[int, float] = {}
        self._cpu_end: dict[int, float] = {}
        self._machine_start = (0, 0)

    def __enter__(self) -> WorkerMonitor:
        self._machine_start = _machine_cpu()
        for pid in children(self.master_pid):
            self._cpu_start[pid] = _cpu_seconds(pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()
        busy0, total0 = self._machine_start
        busy1, total1 = _machine_cpu()
        self.stats.machine_busy = (busy1 - busy0) / max(total1 - total0, 1)
        cpu = 0.0
        for pid, end in self._cpu_end.items():
            cpu += end - self._cpu_start.get(pid, 0.0)
        self.stats.worker_cpu_s = cpu
        self.stats.master_hwm_kb = _proc_status(self.master_pid).get("VmHWM", 0)

    def sample(self) -> None:
        for pid in children(self.master_pid):
            status = _proc_status(pid)
            if "VmHWM" in status:
                self.stats.workers[pid] = max(self.stats.workers.get(pid, 0), status["VmHWM"])
                self.stats.rss_now[pid] = status.get("VmRSS", 0)
                self._cpu_end[pid] = _cpu_seconds(pid)
                self._cpu_start.setdefault(pid, 0.0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


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

    def redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url, socket_timeout=10)

    def pg(self, url: str | None = None):
        import psycopg

        return psycopg.connect(url or self.pg_admin_url, autocommit=True, connect_timeout=5)

    def create(self) -> None:
        with self.pg() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.redis().flushdb()

    def drop(self) -> None:
        try:
            with self.pg() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        except Exception as exc:  # cleanup must go on
            log(f"could not drop database {self.db_name}: {exc}")
        try:
            self.redis().flushdb()
        except Exception as exc:
            log(f"could not flush redis db {self.redis_db}: {exc}")

    def reset_intake(self, settle_timeout: float = 15.0) -> None:
        """Forget the warm-up: empty the inbox and the queues (the shop row stays, like in production).

        First wait until no row has arrived for a moment: on a busy machine gunicorn may still be working
        through warm-up connections the load generator already gave up on, and a row stored after the
        TRUNCATE would count against the measured run."""
        with self.pg(self.database_url) as conn:
            deadline = time.monotonic() + settle_timeout
            last = conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0]
            while time.monotonic() < deadline:
                time.sleep(0.5)
                now = conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0]
                if now == last:
                    break
                last = now
            conn.execute("TRUNCATE webhook_events RESTART IDENTITY")
        self.redis().flushdb()

    def verify(self) -> dict[str, Any]:
        with self.pg(self.database_url) as conn:
            rows, distinct, received = conn.execute(
                "SELECT count(*), count(DISTINCT webhook_id), count(*) FILTER (WHERE status = 'received')"
                " FROM webhook_events"
            ).fetchone()
            ids = {row[0] for row in conn.execute("SELECT id FROM webhook_events")}
        conn_r = self.redis()
        queued = [j.decode() for j in conn_r.lrange(f"rq:queue:{QUEUE}", 0, -1)]
        job_keys = sum(1 for _ in conn_r.scan_iter(match="rq:job:webhook-*", count=1000))
        expected = {f"webhook-{i}" for i in ids}
        return {
            "rows": rows,
            "distinct_webhook_ids": distinct,
            "rows_received": received,
            "jobs_queued": len(queued),
            "job_hashes": job_keys,
            "jobs_match_rows": set(queued) == expected and len(queued) == len(expected),
        }


def base_env(services: Services, workers: int | None, threads: int | None, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AFTERCART_", "GUNICORN_"))}
    env.update(
        AFTERCART_ENV="test",
        DATABASE_URL=services.database_url,
        REDIS_URL=services.redis_url,
        SHOPIFY_API_KEY="bench-api-key",
        SHOPIFY_API_SECRET=SECRET,
        SHOPIFY_APP_URL="https://aftercart.bench.invalid",
        PORT=str(port),
        PYTHONUNBUFFERED="1",
    )
    env.pop("SHOPIFY_API_SECRET_PREVIOUS", None)
    env.pop("WEB_CONCURRENCY", None) if workers is None else env.update(WEB_CONCURRENCY=str(workers))
    if threads is not None:
        env["GUNICORN_THREADS"] = str(threads)
    for name in ("GUNICORN_THREADS", "GUNICORN_KEEPALIVE", "GUNICORN_MAX_REQUESTS"):
        if name in os.environ and name not in env:
            env[name] = os.environ[name]
    return env


# --------------------------------------------------------------------------- load generators


_WRK_LINE = re.compile(r"^WRK_RESULT (.*)$", re.M)


def run_wrk(
    url: str,
    body_file: Path,
    signature: str,
    run_id: str,
    duration: float,
    connections: int,
    threads: int,
    grace: float,
) -> LoadResult:
    total = max(math.ceil(duration + grace), 1)
    # Shopify counts an acknowledgement slower than 5 s as a failed delivery: so does wrk here.
    timeout = max(min(5, int(grace)), 1)
    cmd = [
        "wrk",
        "--latency",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{total}s",
        "--timeout",
        f"{timeout}s",
        "-s",
        str(LUA_SCRIPT),
        url,
        "--",
        str(body_file),
        signature,
        SHOP,
        TOPIC,
        API_VERSION,
        run_id,
        f"{duration:.3f}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=total + 30)
    match = _WRK_LINE.search(proc.stdout)
    if proc.returncode != 0 or not match:
        raise BenchError(f"wrk failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    values = dict(item.split("=", 1) for item in match.group(1).split())

    def ms(key: str) -> float:
        return float(values[key]) / 1000.0

    return LoadResult(
        tool="wrk",
        sent=int(values["sent"]),
        ok200=int(values["ok200"]),
        ok2xx=int(values["ok2xx"]),
        non2xx=int(values["non2xx"]),
        responses=int(values["responses"]),
        window_s=float(values["window_s"]),
        p50_ms=ms("p50_us"),
        p90_ms=ms("p90_us"),
        p99_ms=ms("p99_us"),
        p999_ms=ms("p999_us"),
        max_ms=ms("max_us"),
        socket_errors={k[4:]: int(v) for k, v in values.items() if k.startswith("err_") and k != "err_status"},
    )


def _python_client(args: tuple) -> dict[str, Any]:
    """One load process: `conns` threads, each with its own keep-alive connection, until the deadline."""
    import http.client

    port, path, body, signature, run_id, proc_index, conns, start_at, deadline = args
    lock = threading.Lock()
    out: dict[str, Any] = {
        "latencies": [],
        "sent": 0,
        "ok200": 0,
        "ok2xx": 0,
        "non2xx": 0,
        "errors": 0,
        "first": None,
        "last": 0.0,
    }

    def worker(thread_index: int) -> None:
        latencies: list[float] = []
        sent = ok200 = ok2xx = non2xx = errors = 0
        last = 0.0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        prefix = f"{run_id}-{proc_index}-{thread_index}-"
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Topic": TOPIC,
            "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Triggered-At": "2026-11-22T10:00:00.000000Z",
        }
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < deadline:
            sent += 1
            headers["X-Shopify-Webhook-Id"] = prefix + str(sent)
            headers["X-Shopify-Event-Id"] = "evt-" + prefix + str(sent)
            began = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                continue
            latencies.append(time.perf_counter() - began)
            last = time.time()
            status = response.status
            ok200 += status == 200
            if 200 <= status < 300:
                ok2xx += 1
            else:
                non2xx += 1
            if response.will_close:
                conn.close()
        conn.close()
        with lock:
            out["latencies"].extend(latencies)
            out["sent"] += sent
            out["ok200"] += ok200
            out["ok2xx"] += ok2xx
            out["non2xx"] += non2xx
            out["errors"] += errors
            out["last"] = max(out["last"], last)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def _default_signals() -> None:
    # Load processes are forked from a parent whose SIGTERM/SIGALRM handlers raise BenchTimeout.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def run_python_load(
    port: int, body: bytes, signature: str, run_id: str, duration: float, connections: int
) -> LoadResult:
    processes = max(1, min(connections, 2))
    per_process = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    start_at = time.time() + 0.5
    deadline = start_at + duration
    jobs = [(port, "/webhooks", body, signature, run_id, i, n, start_at, deadline) for i, n in enumerate(per_process)]
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(processes, initializer=_default_signals)
    try:
        parts = pool.map_async(_python_client, jobs).get(timeout=duration + 60)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    latencies = sorted(lat for part in parts for lat in part["latencies"])
    responses = len(latencies)

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(int(p / 100.0 * responses), responses - 1)] * 1000.0

    last = max(part["last"] for part in parts)
    return LoadResult(
        tool="python",
        sent=sum(p["sent"] for p in parts),
        ok200=sum(p["ok200"] for p in parts),
        ok2xx=sum(p["ok2xx"] for p in parts),
        non2xx=sum(p["non2xx"] for p in parts),
        responses=responses,
        window_s=max(last - start_at, 0.0),
        p50_ms=pct(50),
        p90_ms=pct(90),
        p99_ms=pct(99),
        p999_ms=pct(99.9),
        max_ms=latencies[-1] * 1000.0 if latencies else 0.0,
        socket_errors={"errors": sum(p["errors"] for p in parts)},
    )


# --------------------------------------------------------------------------- the run


@dataclass
class Plan:
    duration: float
    warmup: float
    connections: int
    wrk_threads: int
    grace: float
    loadgen: str


def drive(plan: Plan, port: int, body: bytes, signature: str, label: str, duration: float) -> LoadResult:
    run_id = f"{label}-{uuid.uuid4().hex[:12]}"
    if plan.loadgen == "wrk":
        return run_wrk(
            f"http://127.0.0.1:{port}/webhooks",
            BODY_FILE,
            signature,
            run_id,
            duration,
            plan.connections,
            plan.wrk_threads,
            plan.grace,
        )
    return run_python_load(port, body, signature, run_id, duration, plan.connections)


def bench_target(
    name: str,
    app_spec: str,
    plan: Plan,
    env: dict[str, str],
    services: Services | None,
    workdir: Path,
    body: bytes,
    signature: str,
) -> TargetRun:
    port = free_port()
    env = dict(env, PORT=str(port))
    # Only the bare endpoint needs benchmarks/ on the path; the app runs exactly as in the Procfile.
    extra = ("--pythonpath", str(BENCH_DIR)) if services is None else ()
    server = GunicornServer(app_spec, port, env, workdir / f"gunicorn-{name}.log", extra)
    try:
        log(f"{name}: starting gunicorn {app_spec} on 127.0.0.1:{port}")
        server.start()
        if plan.warmup > 0:
            log(f"{name}: warm-up {plan.warmup:g} s")
            drive(plan, port, body, signature, f"warm-{name}", plan.warmup)
        if services is not None:
            services.reset_intake()
        log(f"{name}: measuring {plan.duration:g} s with {plan.connections} connections ({plan.loadgen})")
        assert server.proc is not None
        with WorkerMonitor(server.proc.pid) as monitor:
            load = drive(plan, port, body, signature, name, plan.duration)
        if server.proc.poll() is not None:
            raise BenchError(f"gunicorn {app_spec} died during the run:\n{server.log_tail()}")
        return TargetRun(name=name, load=load, server=monitor.stats)
    except BaseException:
        tail = server.log_tail()
        if tail:
            log(f"{name}: gunicorn log tail:\n{tail}")
        raise
    finally:
        server.stop()


def _mb(kb: int) -> float:
    return kb / 1024.0


def background_cpu(seconds: float = 1.0) -> float:
    """Share of the machine's CPU busy while nothing of ours runs: other users skew every figure."""
    busy0, total0 = _machine_cpu()
    time.sleep(seconds)
    busy1, total1 = _machine_cpu()
    return (busy1 - busy0) / max(total1 - total0, 1)


def report(
    plan: Plan,
    settings: dict[str, Any],
    bare: TargetRun,
    app: TargetRun,
    check: dict[str, Any],
    body_len: int,
    background: float,
) -> tuple[dict[str, Any], bool]:
    ratio = app.load.rps / bare.load.rps if bare.load.rps else 0.0
    print("Aftercart webhook intake benchmark (DESIGN.md §2, §5)")
    print(
        f"  gunicorn.conf.py: workers={settings['workers']} worker_class={settings['worker_class']} "
        f"threads={settings['threads']} keepalive={settings['keepalive']} max_requests={settings['max_requests']}"
    )
    tool = (
        "wrk"
        if plan.loadgen == "wrk"
        else ("python multi-process client (the client itself caps the bare rate, so the ratio reads high)")
    )
    print(
        f"  load: {tool}, {plan.connections} connections, {plan.duration:g} s per target after "
        f"{plan.warmup:g} s warm-up, {TOPIC} body {body_len} bytes, unique X-Shopify-Webhook-Id per request"
    )
    print(
        f"  machine: {os.cpu_count()} CPUs, everything (load, gunicorn, PostgreSQL, Redis) on loopback; "
        f"CPU busy before the run (other processes): {background:.0%}, load average {os.getloadavg()[0]:.2f}"
    )
    if background > 0.15:
        print("  WARNING: the machine was not idle before the run; figures are lower than on an idle machine")
    print()
    header = (
        f"  {'target':<6} {'requests/s':>11} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} "
        f"{'max ms':>8} {'200s':>8} {'non-2xx':>8} {'unanswered':>10} {'CPU busy':>9}"
    )
    print(header)
    for run in (bare, app):
        load = run.load
        print(
            f"  {run.name:<6} {load.rps:>11.1f} {load.p50_ms:>8.2f} {load.p90_ms:>8.2f} {load.p99_ms:>8.2f} "
            f"{load.p999_ms:>9.2f} {load.max_ms:>8.2f} {load.ok200:>8} {load.non2xx:>8} {load.in_flight:>10} "
            f"{run.server.machine_busy:>8.0%}"
        )
    print()
    print(f"bare requests/s: {bare.load.rps:.1f}")
    print(f"app requests/s: {app.load.rps:.1f}")
    print(f"app p50 ack latency: {app.load.p50_ms:.2f} ms")
    print(f"app p99 ack latency: {app.load.p99_ms:.2f} ms")
    print(f"bare p50 ack latency: {bare.load.p50_ms:.2f} ms")
    print(f"bare p99 ack latency: {bare.load.p99_ms:.2f} ms")
    print(f"app non-2xx: {app.load.non2xx}   bare non-2xx: {bare.load.non2xx}")
    for run in (app, bare):
        errors = ", ".join(f"{k} {v}" for k, v in run.load.socket_errors.items())
        print(f"{run.name} socket errors: {errors or 'none'}; sent {run.load.sent}, unanswered {run.load.in_flight}")
    print(f"ratio app/bare: {ratio:.3f} ({ratio:.1%} of the bare endpoint's rate)")
    for run in (app, bare):
        if run.load.responses:
            print(f"{run.name} worker CPU per request: {run.server.worker_cpu_s / run.load.responses * 1000:.2f} ms")

    acked = app.load.ok200
    consistent = (
        check["rows"] == acked
        and check["jobs_queued"] == acked
        and check["distinct_webhook_ids"] == check["rows"]
        and check["rows_received"] == check["rows"]
        and check["jobs_match_rows"]
    )
    print(
        f"webhook_events rows: {check['rows']} (distinct webhook ids {check['distinct_webhook_ids']}, "
        f"status received {check['rows_received']})"
    )
    print(
        f"RQ jobs queued on '{QUEUE}': {check['jobs_queued']} (job hashes {check['job_hashes']}, "
        f"job ids match rows: {'yes' if check['jobs_match_rows'] else 'NO'})"
    )
    print(f"acknowledged 200: {acked}")
    print(f"rows == jobs == acknowledged: {'OK' if consistent else 'MISMATCH'}")

    hwm = app.server.workers
    print(f"app gunicorn workers: {len(hwm)} (master VmHWM {_mb(app.server.master_hwm_kb):.1f} MB)")
    for pid, kb in sorted(hwm.items()):
        rss_end = _mb(app.server.rss_now.get(pid, 0))
        print(f"  worker pid {pid}: peak RSS (VmHWM) {_mb(kb):.1f} MB, RSS at end {rss_end:.1f} MB")
    max_rss = _mb(max(hwm.values())) if hwm else 0.0
    print(f"max worker peak RSS: {max_rss:.1f} MB")
    bare_hwm = _mb(max(bare.server.workers.values())) if bare.server.workers else 0.0
    print(f"bare worker peak RSS (for reference): {bare_hwm:.1f} MB")

    targets = {
        f"app >= {TARGET_RPS:.0f} webhooks/s": app.load.rps >= TARGET_RPS,
        f"app p99 < {TARGET_P99_MS:.0f} ms": app.load.p99_ms < TARGET_P99_MS,
        f"app >= {TARGET_RATIO:.0%} of bare": ratio >= TARGET_RATIO,
        f"worker peak RSS < {TARGET_RSS_MB:.0f} MB": bool(hwm) and max_rss < TARGET_RSS_MB,
        "no non-2xx": app.load.non2xx == 0,
    }
    print("targets: " + "; ".join(f"{name}: {'PASS' if ok else 'MISS'}" for name, ok in targets.items()))

    summary = {
        "loadgen": plan.loadgen,
        "connections": plan.connections,
        "duration_s": plan.duration,
        "gunicorn": settings,
        "bare": {
            "rps": bare.load.rps,
            "p50_ms": bare.load.p50_ms,
            "p99_ms": bare.load.p99_ms,
            "non2xx": bare.load.non2xx,
            "ok200": bare.load.ok200,
        },
        "app": {
            "rps": app.load.rps,
            "p50_ms": app.load.p50_ms,
            "p99_ms": app.load.p99_ms,
            "non2xx": app.load.non2xx,
            "ok200": acked,
            "unanswered": app.load.in_flight,
        },
        "ratio": ratio,
        "background_cpu": background,
        "rows": check["rows"],
        "jobs": check["jobs_queued"],
        "consistent": consistent,
        "worker_peak_rss_mb": {str(pid): round(_mb(kb), 1) for pid, kb in hwm.items()},
        "targets_met": all(targets.values()),
    }
    print("RESULT_JSON " + json.dumps(summary, sort_keys=True))
    return summary, consistent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=float, default=None, help="seconds of load per target (default 25; 1.5 with --tiny)"
    )
    parser.add_argument(
        "--connections", type=int, default=None, help="concurrent client connections (default 32; 4 with --tiny)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers (WEB_CONCURRENCY; default: what gunicorn.conf.py says)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="gunicorn threads per worker (GUNICORN_THREADS; >1 selects gthread)"
    )
    parser.add_argument("--warmup", type=float, default=None, help="seconds of warm-up load per target")
    parser.add_argument("--tiny", action="store_true", help="a couple of seconds, few connections (for tests)")
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--wrk-threads", type=int, default=None, help="wrk threads (default: 2, 1 in --tiny)")
    add_service_options(
        parser,
        "aftercart_bench",
        14,
        redis_db_help="Redis db number, flushed (default 14)",
        redis_help="Redis server URL without the db number",
        keep_db=False,
    )
    parser.add_argument("--enforce-targets", action="store_true", help="exit 3 when a target is missed")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 1.5 if args.tiny else 25.0
    if args.connections is None:
        args.connections = 4 if args.tiny else 32
    if args.workers is None and args.tiny:
        args.workers = 2
    if args.warmup is None:
        args.warmup = 0.3 if args.tiny else 2.0
    if args.duration <= 0 or args.connections <= 0:
        parser.error("--duration and --connections must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not resolve_loadgen(args):
        return 2
    # Time for the answers to requests sent before the end of the measured window (see the Lua script).
    grace = 1.0 if args.tiny else 5.0
    plan = Plan(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        wrk_threads=min(args.wrk_threads or (1 if args.tiny else 2), args.connections),
        grace=grace,
        loadgen=args.loadgen,
    )
    # Two targets, each: start, warm-up, run, grace; plus database set-up and migrations.
    bound = int(2 * (plan.warmup + plan.duration + plan.grace + 40) + 90)

    body = BODY_FILE.read_bytes()
    signature = webhook_hmac(SECRET, body)
    services = Services(args.pg_admin, args.db_name, args.redis, args.redis_db)
    env = base_env(services, args.workers, args.threads, 0)
    settings = gunicorn_settings(env)
    log(f"gunicorn settings: {settings}; time bound {bound} s")

    workdir = Path(tempfile.mkdtemp(prefix="aftercart-bench-"))

    def measure() -> int:
        background = background_cpu()
        services.create()
        log(f"created database {services.db_name}, flushed redis db {services.redis_db}; migrating")
        migrate(env, timeout=120)
        bare = bench_target("bare", "bare_app:app", plan, env, None, workdir, body, signature)
        app = bench_target("app", "app:create_app()", plan, env, services, workdir, body, signature)
        check = services.verify()
        summary, consistent = report(plan, settings, bare, app, check, len(body), background)
        if consistent and args.enforce_targets and not summary["targets_met"]:
            return 3
        return 0 if consistent else 2

    return bounded_run(bound, measure, services.drop, workdir)


if __name__ == "__main__":
    sys.exit(main())
