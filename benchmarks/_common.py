"""Helpers the benchmark scripts share: errors, logging, ports, /proc readings, a time bound, the gunicorn
server each one runs the app (and a bare endpoint) under, the services a run starts for itself (redis-server,
a PostgreSQL database, an SMTP server, processes in sessions of their own) and signed Shopify webhooks."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class BenchError(RuntimeError):
    """The benchmark could not run (a service missing, a server that would not start...)."""


class BenchTimeout(BaseException):
    """Raised by SIGALRM or SIGTERM: the run exceeded its bound or was stopped."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    key, rest = line.split(":", 1)
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def time_bound(seconds: int) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise BenchTimeout(f"benchmark exceeded its {seconds} s bound")

    def on_term(signum: int, frame: Any) -> None:
        raise BenchTimeout(f"stopped by signal {signum}")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    previous_term = signal.signal(signal.SIGTERM, on_term)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGTERM, previous_term)


def bounded_run(bound: int, body: Callable[[], int], cleanup: Callable[[], None], workdir: Path | None = None) -> int:
    """`body()`'s exit code, run under time_bound(bound) with `cleanup()` after it whatever happens: 124 when
    the bound is exceeded or the run is stopped, 1 on a BenchError; `workdir` is removed at the end."""
    exit_code = 1
    try:
        with time_bound(bound):
            try:
                exit_code = body()
            finally:
                cleanup()
    except BenchTimeout as exc:
        log(str(exc))
        exit_code = 124
    except BenchError as exc:
        log(f"error: {exc}")
        exit_code = 1
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    return exit_code


def add_service_options(
    parser: argparse.ArgumentParser,
    db_name: str,
    redis_db: int,
    *,
    redis_db_help: str = "Redis db number whose aftercart:* keys are used",
    redis_help: str | None = None,
    keep_db: bool = True,
    reuse_db_help: str = "reuse a --keep-db database of the same size",
) -> None:
    """The options naming the PostgreSQL and Redis a benchmark uses (and whether its database outlives it)."""
    parser.add_argument("--db-name", default=db_name)
    parser.add_argument("--redis-db", type=int, default=redis_db, help=redis_db_help)
    parser.add_argument(
        "--pg-admin",
        default=os.environ.get(
            "AFTERCART_BENCH_PG_ADMIN",
            os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test"),
        ),
    )
    parser.add_argument(
        "--redis", default=os.environ.get("AFTERCART_BENCH_REDIS", "redis://127.0.0.1:6379"), help=redis_help
    )
    if keep_db:
        parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end (debugging)")
        parser.add_argument("--reuse-db", action="store_true", help=reuse_db_help)


def fill_defaults(args: argparse.Namespace, defaults: dict[str, Any]) -> None:
    """Give every option left unset (None) its default from `defaults`."""
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def resolve_loadgen(args: argparse.Namespace) -> bool:
    """Settle --loadgen auto on wrk when installed, else the Python generator; False when wrk was asked for
    and is missing."""
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
        if args.loadgen == "python":
            log("wrk not found (apt-get install wrk): using the Python load generator")
    elif args.loadgen == "wrk" and not shutil.which("wrk"):
        log("wrk is not installed (apt-get install wrk)")
        return False
    return True


def tiny_picker(tiny: bool) -> Callable[[Any, Any, Any], Any]:
    """pick(value, full, small): an option's value when given, else its --tiny or full-size default."""

    def pick(value: Any, full: Any, small: Any) -> Any:
        return value if value is not None else (small if tiny else full)

    return pick


def run_armed(run: Callable[[], Any], seconds: float, message: Callable[[int], str]) -> Any:
    """run() with SIGALRM after `seconds`, and SIGTERM, raising BenchTimeout(message(signum)) (the handlers stay
    for the cleanup that follows); None, logged as FAILED, when it raised BenchError or BenchTimeout."""

    def on_alarm(signum: int, frame: Any) -> None:
        raise BenchTimeout(message(signum))

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_alarm)
    signal.alarm(int(seconds))
    try:
        return run()
    except (BenchError, BenchTimeout) as exc:
        log(f"FAILED: {exc}")
        return None
    finally:
        signal.alarm(0)


ROOT = Path(__file__).resolve().parent.parent
_SETTING_NAMES = ("workers", "worker_class", "threads", "keepalive", "max_requests", "timeout", "preload_app")


def gunicorn_settings(env: dict[str, str]) -> dict[str, Any]:
    """What gunicorn.conf.py resolves to under this environment (the same file gunicorn reads)."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {k: conf.get(k) for k in _SETTING_NAMES}


def _processes() -> Iterator[tuple[int, list[str]]]:
    """(pid, the /proc/<pid>/stat fields after the command name) of every live process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                # The command name may contain spaces and parentheses: fields start after the last ')'.
                yield int(entry), fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a gunicorn master's workers)."""
    return sorted(child for child, fields in _processes() if int(fields[1]) == pid)


class GunicornServer:
    """One gunicorn master in its own process group (session), started with the project's gunicorn.conf.py,
    ready once every worker is up and the port answers; stop() ends the whole group."""

    def __init__(
        self,
        app_spec: str,
        port: int,
        env: dict[str, str],
        log_path: Path,
        extra_args: tuple[str, ...] = (),
        options: tuple[str, ...] = (),
    ) -> None:
        self.app_spec = app_spec
        self.port = port
        self.env = env
        self.log_path = log_path
        self.extra_args = extra_args
        self.options = options  # more gunicorn options, e.g. an access log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the master without waiting for it (e.g. while a data set loads); then wait_ready()."""
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{self.port}",
            # A bench server must not take over the control socket of a gunicorn someone else runs.
            "--no-control-socket",
            *self.options,
            *self.extra_args,
            self.app_spec,
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.proc is not None, "launch() first"
        workers = int(gunicorn_settings(self.env)["workers"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn {self.app_spec} exited at start:\n{self.log_tail()}")
            if len(children(self.proc.pid)) >= workers and self._port_open():
                return
            time.sleep(0.1)
        raise BenchError(f"gunicorn {self.app_spec} did not start in {timeout:.0f} s:\n{self.log_tail()}")

    def _port_open(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def terminate(self) -> None:
        """Graceful stop of the whole process group (master and workers), without waiting."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # start_new_session: the master leads its group
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.terminate()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        log_file = getattr(self, "_log", None)
        if log_file is not None and not log_file.closed:
            log_file.close()


# --------------------------------------------------------------------------- services a run starts for itself

PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05, check=None) -> Any:
    """Poll `predicate` until it returns something true (returned), calling `check` between polls (it raises
    when a process the wait depends on died); BenchError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if check is not None:
            check()
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def cpu_seconds_of(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds each live process of `pids` has used so far (Linux /proc)."""
    found = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def postgres_pids() -> list[int]:
    """Every PostgreSQL process on this machine (the server runs on loopback beside the benchmark)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as fh:
                    if fh.read().startswith("postgres"):
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def session_pids(leader: int) -> list[int]:
    """The live processes of the session `leader` started (start_new_session=True), zombies excluded."""
    return [pid for pid, fields in _processes() if int(fields[3]) == leader and fields[0] != "Z"]


class SmtpSink:
    """aiosmtpd on loopback, recording when it answered 250 to each message (Message-ID, To)."""

    def __init__(self, delay: float = 0.0) -> None:
        from email import policy as email_policy
        from email.parser import BytesHeaderParser

        self.port = free_port()
        self.delay = delay
        # Only the headers it records, parsed the cheap way: this server shares the cores with what it measures.
        self._parser = BytesHeaderParser(policy=email_policy.compat32)
        self.lock = threading.Lock()
        self.accepted: list[tuple[float, str, str]] = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = self._parser.parsebytes(envelope.original_content or envelope.content)
        with self.lock:
            self.accepted.append((time.time(), str(headers["Message-ID"]), str(headers["To"])))
        return "250 Message accepted for delivery"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def snapshot(self) -> list[tuple[float, str, str]]:
        with self.lock:
            return list(self.accepted)

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)

    def clear(self) -> None:
        with self.lock:
            self.accepted.clear()


class RedisServer:
    """A private redis-server on a free loopback port, its files in `workdir`. With `appendonly` it keeps an
    AOF there (`appendfsync everysec`, `maxmemory-policy noeviction`, as docs/operations.md recommends), so
    stop() then start() is a restart that keeps the queues."""

    def __init__(self, workdir: Path, appendonly: bool = False) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.appendonly = appendonly
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        durability = ["--appendonly", "no"]
        if self.appendonly:
            durability = ["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"]
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", str(self.workdir)]
            + durability,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def up() -> bool:
            if self.proc.poll() is not None:
                raise BenchError("redis-server exited at start")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        wait_for(up, 10, "redis-server")

    def stop(self) -> None:
        """SIGTERM: redis-server flushes its AOF and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Database:
    """A PostgreSQL database of the benchmark's own, created empty and dropped (WITH FORCE) at the end."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def url(self) -> str:
        return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{self.name}"

    def _admin(self):
        import psycopg

        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)

    def create(self) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        try:
            with self._admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        except Exception as exc:  # cleanup goes on
            log(f"could not drop database {self.name}: {exc}")

    def query(self, sql: str, *params: Any) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


def migrate(env: dict[str, str], timeout: float = 120) -> None:
    """`flask db upgrade` against the database in `env`, as the Procfile's release process runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise BenchError(f"migration failed:\n{proc.stdout}\n{proc.stderr}")


class Process:
    """A child process in a session of its own; stop() ends every process of that session (RQ's work
    horses and scheduler sit in process groups of their own)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.cmd = cmd
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> None:
        with open(self.log_path, "wb") as out:
            self.started_at = time.time()
            self.proc = subprocess.Popen(
                self.cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check(self) -> None:
        if self.proc is not None and self.proc.poll() is not None and self.proc.returncode != 0:
            raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _session(self) -> list[int]:
        return session_pids(self.proc.pid) if self.proc is not None else []

    def stop(self, grace: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        for _ in range(100):
            pids = self._session()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


# --------------------------------------------------------------------------- Shopify webhooks

FIXTURES = ROOT / "tests" / "fixtures" / "shopify"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order_payload(order_id: int, name: str, number: int, email: str, at: datetime) -> dict[str, Any]:
    """A paid, open orders/create payload (one line item, shipping to Thailand) created and updated `at`."""
    payload = json.loads((FIXTURES / "orders_create.json").read_text())
    stamp = iso(at)
    payload.update(
        id=order_id,
        admin_graphql_api_id=f"gid://shopify/Order/{order_id}",
        name=name,
        order_number=number,
        email=email,
        contact_email=email,
        financial_status="paid",
        cancelled_at=None,
        cancel_reason=None,
        fulfillment_status=None,
        created_at=stamp,
        updated_at=stamp,
    )
    payload["line_items"] = [{"id": 11, "title": "Cotton tee", "quantity": 1, "price": "390.00"}]
    payload["shipping_address"] = {"country_code": "TH", "province_code": "TH-10"}
    return payload


def fulfillment_payload(fulfillment_id: int, order_id: int, name: str, email: str, at: datetime) -> dict[str, Any]:
    """A successful fulfillments/create payload (Kerry Express, no shipment status yet) created `at`."""
    payload = json.loads((FIXTURES / "fulfillments_create.json").read_text())
    stamp = iso(at)
    number = f"SHP{9000000000 + fulfillment_id % 1_000_000_000}"
    payload.update(
        id=fulfillment_id,
        order_id=order_id,
        admin_graphql_api_id=f"gid://shopify/Fulfillment/{fulfillment_id}",
        status="success",
        shipment_status=None,
        tracking_company="Kerry Express",
        tracking_number=number,
        tracking_numbers=[number],
        tracking_url=None,
        tracking_urls=[],
        name=name,
        email=email,
        created_at=stamp,
        updated_at=stamp,
    )
    payload["destination"] = dict(payload.get("destination") or {}, country_code="TH")
    payload["line_items"] = [{"id": 11, "title": "Cotton tee", "quantity": 1}]
    return payload


def webhook_headers(topic: str, shop: str, webhook_id: str, signature: str, api_version: str) -> dict[str, str]:
    """The headers Shopify sends with a delivery (the event id repeats the webhook id)."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Triggered-At": iso(datetime.now(UTC)),
        "X-Shopify-Event-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": signature,
    }
