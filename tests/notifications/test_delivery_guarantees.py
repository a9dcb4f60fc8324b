"""Delivery guarantees under failure, for real (DESIGN.md §2 steps 5-7; §6: failure tests are part of the suite).

- a worker killed with SIGKILL mid-batch, then restarted: every message sent, each Message-ID once;
- an opted-out number is never texted;
- an SMS due in the shopper's quiet hours waits for their end (Asia/Bangkok);
- SMTP down for a while, then back: every message sent once, late.

The first and last tests run the real worker (`python -m flask --app app worker`: jobs run in the worker
process, with RQ's scheduler in a process of its own and the periodic loop) in a subprocess of its own,
against this run's PostgreSQL database, Redis server and an aiosmtpd server on loopback. Where the code's
own clocks would make a test wait for minutes, the test says which clock and moves it explicitly (class
`Clock`); nothing of the app is patched.

The kill test found a message lost for good: a worker killed between taking a job off the queue and
marking it started left a job RQ calls queued though nothing holds it, and the sweeper trusted that
status. test_a_job_a_dying_worker_took_off_the_queue_is_sent_by_the_sweeper pins that state down.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rq import Queue, SimpleWorker, Worker
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import select, text

from app.extensions import db
from app.jobs import QUEUES, job_id
from app.notifications import policy
from app.notifications.models import ContactPreference, Notification, NotificationSettings
from app.notifications.preferences import record_opt_in
from app.notifications.services import IN_FLIGHT, requeue_pending_notifications, send_notification
from app.shopify.models import Shop
from tests.conftest import SHOP
from tests.fakes.twilio import FakeTwilio
from tests.notifications.conftest import Mailbox, SmtpServer, release_scheduled_jobs
from tests.tracking.test_timeline import ORDER_ID, T0, event_payload, fulfillment_payload, order_payload

ROOT = Path(__file__).resolve().parents[2]
MAIL_FROM = "updates@aftercart.test"
WORKER_QUEUES = ("webhooks", "default", "notifications")
BANGKOK = ZoneInfo("Asia/Bangkok")
PHONE = "+66812345678"
INBOUND_URL = "https://aftercart.test/hooks/twilio/inbound"


# --------------------------------------------------------------------------- an SMTP server that takes its time


@dataclass(frozen=True)
class Accepted:
    at: float  # time.time() when the server answered 250
    message_id: str
    to: str


class SlowMailbox(Mailbox):
    """Waits `delay` seconds before answering DATA, like a server scanning the message.

    A message counts as accepted when the server answers 250. If the client hangs up while the server
    is still deciding, aiosmtpd cancels this coroutine and nothing is recorded, as a real MTA would not
    deliver it either. From the 250 to the sender's database commit lies the one window in which a
    crash can cause a second copy; that copy carries the same Message-ID.
    """

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.accepted: list[Accepted] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.accepted.append(Accepted(time.time(), str(message["Message-ID"]), str(message["To"])))
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)

    def snapshot(self) -> list[Accepted]:
        with self.lock:
            return list(self.accepted)


def slow_smtp_server(delay: float) -> SmtpServer:
    server = SmtpServer()
    server.mailbox = SlowMailbox(delay)
    return server


@pytest.fixture()
def smtp_servers() -> Iterator[Callable[[float], SmtpServer]]:
    made: list[SmtpServer] = []

    def make(delay: float = 0.0) -> SmtpServer:
        server = slow_smtp_server(delay)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


# --------------------------------------------------------------------------- the real worker, in a subprocess


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, session id) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[3])


class WorkerProcess:
    """`python -m flask --app app worker` in a session of its own.

    `kill()` does what the OOM killer or a container runtime does: SIGKILL to every process of the session
    (the worker and RQ's scheduler process), whatever process groups they put themselves in.
    """

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.proc: subprocess.Popen | None = None
        self.started = 0
        self.names: set[str] = set()  # the RQ worker names of every process started
        self.current: str | None = None  # the live one's

    def start(self, redis_conn, queues: tuple[str, ...] = WORKER_QUEUES) -> None:
        self.started += 1
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "worker", "--queues", ",".join(queues)],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        registered = wait_until(
            lambda: [w.name for w in Worker.all(connection=redis_conn) if w.pid == self.proc.pid],
            60,
            "the worker to register",
            self,
        )
        self.current = registered[0]
        self.names.add(self.current)

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"worker-{self.started}.log"

    @property
    def dead(self) -> set[str]:
        return self.names - {self.current}

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"the worker exited ({self.proc.returncode})\n{self.log_tail()}")

    def session_pids(self) -> list[int]:
        if self.proc is None:
            return []
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _proc_stat(int(entry))
                if stat and stat[1] == self.proc.pid and stat[0] != "Z":
                    found.append(int(entry))
        return found

    def kill(self) -> tuple[float, float]:
        """SIGKILL the whole session; returns when every process of it is gone, with the time the kill began
        and the time it was over (a process may finish a step in between: /proc has to be read first)."""
        assert self.proc is not None
        began = time.time()
        for _ in range(500):
            pids = self.session_pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)
        else:
            raise AssertionError(f"processes of the killed worker survive: {self.session_pids()}")
        self.proc.wait(10)
        self.current = None
        return began, time.time()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # RQ's warm shutdown: the current job finishes
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None or self.session_pids():
            self.kill()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def worker_env(database_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """The worker's environment: the same settings as the `app` fixture's (the demo defaults of
    AFTERCART_ENV=test for SECRET_KEY and TOKEN_ENCRYPTION_KEY), plus `settings`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AFTERCART_", "SHOPIFY_", "TWILIO_", "LINE_", "SMTP_", "MAIL_", "FLASK_", "SECRET_KEY"))
    }
    env.update(
        AFTERCART_ENV="test",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SHOPIFY_API_KEY="test-api-key",
        SHOPIFY_API_SECRET="test-secret",
        SHOPIFY_APP_URL="https://aftercart.test",
        MAIL_FROM=MAIL_FROM,
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


@pytest.fixture()
def real_worker(database_url, redis_url, tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def make(**settings: str) -> WorkerProcess:
        process = WorkerProcess(worker_env(database_url, redis_url, **settings), tmp_path)
        started.append(process)
        return process

    yield make
    for process in started:  # before clean_state empties the database under it
        process.stop()


# --------------------------------------------------------------------------- helpers


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, worker: WorkerProcess | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if worker is not None:
            worker.check_alive()
        if time.monotonic() > deadline:
            tail = f"\n--- worker log ---\n{worker.log_tail()}" if worker else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{tail}")
        time.sleep(0.05)


def notifications(app, channel: str | None = None) -> list[Notification]:
    with app.app_context():
        query = select(Notification).order_by(Notification.id)
        if channel:
            query = query.where(Notification.channel == channel)
        rows = db.session.execute(query).scalars().all()
        db.session.expunge_all()
        db.session.remove()
        return rows


def the_shop_id(app) -> int:
    with app.app_context():
        found = db.session.execute(select(Shop.id).where(Shop.domain == SHOP)).scalar_one()
        db.session.remove()
        return found


def message_id(shop_id: int, notification_id: int) -> str:
    return f"<aftercart-{shop_id}-{notification_id}@aftercart.test>"


def shopper(i: int) -> str:
    return f"shopper{i}@example.com"


def post_orders(app, post_webhook, count: int) -> None:
    """`count` signed orders/create webhooks, one order-confirmed email each to come."""
    client = app.test_client()
    for i in range(count):
        payload = order_payload(T0, id=ORDER_ID + i, name=f"#{1001 + i}", order_number=1001 + i, email=shopper(i))
        assert post_webhook("orders/create", payload, via=client).status_code == 200


def work_in_process(app, redis_conn, queues: tuple[str, ...] = QUEUES) -> None:
    """A burst SimpleWorker in this process, as in test_email_flow."""
    with app.app_context():
        SimpleWorker([Queue(q, connection=redis_conn) for q in queues], connection=redis_conn).work(burst=True)
        db.session.remove()


def configure_shop(app, **settings: Any) -> int:
    with app.app_context():
        shop = db.session.execute(select(Shop).where(Shop.domain == SHOP)).scalar_one()
        shop.name = "Snow Devil"
        shop.iana_timezone = "Asia/Bangkok"
        if settings:
            db.session.add(NotificationSettings(shop_id=shop.id, **settings))
        db.session.commit()
        shop_id = shop.id
        db.session.remove()
        return shop_id


class Clock:
    """Time passing, for the clocks the recovery path reads, done explicitly where waiting would take minutes.

    - RQ takes a started job for abandoned once its worker's heartbeat is 90 s overdue
      (job_monitoring_interval 30 s + 60 s), and only looks during a worker's maintenance, which runs at
      start and then every 10 minutes. A job the dead worker had dequeued but not yet started sits in the
      queue's intermediate list until two maintenance passes at least a minute apart have seen it.
    - RQ's scheduler moves due retries to their queue; the restarted worker has none yet (see the test).
    - The notifications service holds a message whose send began less than IN_FLIGHT (90 s) ago, and its
      sweeper only looks at rows queued for more than 60 s.
    """

    def __init__(self, app, redis_conn, queues: tuple[str, ...] = WORKER_QUEUES) -> None:
        self.app = app
        self.redis = redis_conn
        self.queues = [Queue(name, connection=redis_conn) for name in queues]

    def _dead_executions(self, queue: Queue, dead_workers: set[str]) -> tuple[set[str], set[str]]:
        """(job ids, registry entries) of the executions a dead worker left in the queue's started registry."""
        registry = StartedJobRegistry(queue.name, connection=self.redis)
        jobs, entries = set(), set()
        for rq_job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            entry = f"{rq_job_id}:{execution_id}"
            try:
                worker_name = Execution.fetch(execution_id, rq_job_id, connection=self.redis).worker_name
            except ValueError:  # its record expired (dead) or it has just ended (then its entry is gone too)
                worker_name = None
                if self.redis.zscore(registry.key, entry) is None:
                    continue
            if worker_name is None or worker_name in dead_workers:
                jobs.add(rq_job_id)
                entries.add(entry)
        return jobs, entries

    def lost_jobs(self, rq_job_ids: set[str]) -> set[str]:
        """Jobs RQ calls queued that no queue holds and nothing runs: taken off the queue by a worker that
        died before marking them started. (A worker on several queues dequeues with a plain
        LPOP; RQ's intermediate list, and its cleanup, only exist for single-queue workers.)"""
        started = set()
        for queue in self.queues:
            started |= set(StartedJobRegistry(queue.name, connection=self.redis).get_job_ids(cleanup=False))
        lost = set()
        for rq_job_id in rq_job_ids - started:
            try:
                job = Job.fetch(rq_job_id, connection=self.redis)
            except Exception:
                continue
            queue_key = Queue(job.origin, connection=self.redis).key
            if job.get_status() == JobStatus.QUEUED and self.redis.lpos(queue_key, rq_job_id) is None:
                lost.add(rq_job_id)
        return lost

    def dead_jobs(self, dead_workers: set[str]) -> set[str]:
        """Jobs a dead worker had started, or dequeued without starting."""
        found: set[str] = set()
        for queue in self.queues:
            jobs, _ = self._dead_executions(queue, dead_workers)
            found |= jobs
            started = set(StartedJobRegistry(queue.name, connection=self.redis).get_job_ids(cleanup=False))
            found.update(j for j in queue.intermediate_queue.get_job_ids() if j not in started)
        return found

    def rq_maintenance_later(self, dead_workers: set[str]) -> None:
        """RQ's own maintenance, run once the dead worker's executions have expired and after an earlier
        pass saw its never-started jobs: each abandoned job with retries left is scheduled for a retry."""
        for queue in self.queues:
            registry = StartedJobRegistry(queue.name, connection=self.redis)
            _, entries = self._dead_executions(queue, dead_workers)
            for entry in entries:
                self.redis.zadd(registry.key, {entry: 0}, xx=True)  # the heartbeat is long overdue
            registry.cleanup(timestamp=1)  # only those: the live worker's executions are untouched
            intermediate = queue.intermediate_queue
            started = set(registry.get_job_ids(cleanup=False))
            for rq_job_id in intermediate.get_job_ids():
                if rq_job_id not in started:
                    self.redis.set(intermediate.get_first_seen_key(rq_job_id), time.time() - 120)
            intermediate.cleanup(Worker([queue], connection=self.redis), queue)

    def rows_age(self, seconds: float) -> None:
        """Every notification moment the service compares with now moves `seconds` into the past."""
        with self.app.app_context():
            db.session.execute(
                text(
                    "UPDATE notifications SET created_at = created_at - make_interval(secs => :s), "
                    "sending_started_at = sending_started_at - make_interval(secs => :s)"
                ),
                {"s": seconds},
            )
            db.session.commit()
            db.session.remove()


# --------------------------------------------------------------------------- 1. SIGKILL mid-batch


def test_worker_killed_mid_batch_then_restarted_sends_every_message_exactly_once(
    make_app, post_webhook, smtp_servers, redis_conn, real_worker
):
    """40 order-confirmed emails queued by signed webhooks; the real worker sends them through an SMTP server
    that takes 60 ms a message, is SIGKILLed (worker and scheduler) twice at random moments and
    restarted at once. The restarted worker sends what was still queued; RQ's abandoned-job handling and the
    notifications sweeper bring back what the dead one held; every message is then accepted exactly once,
    or (a kill between the server's 250 and the sender's commit) twice under the same Message-ID."""
    count = 40
    kill_after = (6, 18)  # a kill once this many messages were accepted, plus a random part of one message
    smtp = smtp_servers(0.06)
    smtp.start()
    mailbox: SlowMailbox = smtp.mailbox  # type: ignore[assignment]
    app = make_app(smtp_url=smtp.url, mail_from=MAIL_FROM)
    post_orders(app, post_webhook, count)
    work_in_process(app, redis_conn, ("webhooks", "default"))  # orders stored, N emails queued
    shop_id = the_shop_id(app)
    rows = notifications(app, "email")
    assert len(rows) == count and all(r.status == "queued" for r in rows)
    assert Queue("notifications", connection=redis_conn).count == count

    worker = real_worker(SMTP_URL=smtp.url)
    worker.start(redis_conn)
    kills: list[tuple[float, float]] = []
    for threshold in kill_after:
        wait_until(lambda n=threshold: mailbox.count() >= n, 120, f"{threshold} messages accepted", worker)
        times = [a.at for a in mailbox.snapshot()]
        per_message = statistics.median(b - a for a, b in zip(times, times[1:], strict=False))
        time.sleep(random.uniform(0, per_message))  # anywhere in the next message's journey
        kills.append(worker.kill())
        assert mailbox.count() < count, "the batch was over before the kill: slow the SMTP server down"
        worker.start(redis_conn)  # what a supervisor does

    # The restarted worker sends whatever was still queued; what the dead one had in hand stays put,
    # because RQ still counts those jobs as started (so job_is_alive is true and the sweeper skips them).
    clock = Clock(app, redis_conn)
    notify_ids = {job_id("notify", r.id): r.id for r in rows}

    def unsent_and_held() -> tuple[set[int], set[str]] | None:
        """None while the restarted worker still has work it can do."""
        unsent = {r.id for r in notifications(app, "email") if r.status != "sent"}
        held = clock.dead_jobs(worker.dead) | clock.lost_jobs({job_id("notify", n) for n in unsent})
        if Queue("notifications", connection=redis_conn).count or not unsent <= {notify_ids.get(j) for j in held}:
            return None
        return unsent, held

    def settled() -> bool:
        first = unsent_and_held()
        time.sleep(0.3)
        return first is not None and first == unsent_and_held()

    wait_until(settled, 120, "the restarted worker to send all but what the dead ones held", worker)
    stuck_ids, held_jobs = unsent_and_held()
    stuck = {r.id: r for r in notifications(app, "email") if r.id in stuck_ids}
    for row in stuck.values():
        # Killed before the content was on record (attempts 0) or after it (attempts 1): then
        # sending_started_at says "maybe sent" and holds the message back for IN_FLIGHT.
        assert row.status == "queued" and row.attempts in (0, 1), (row.status, row.attempts, row.reason)
        assert (row.sending_started_at is not None) == (row.attempts == 1)

    clock.rq_maintenance_later(worker.dead)
    lost = clock.lost_jobs(held_jobs & set(notify_ids))
    for rq_job_id in held_jobs & set(notify_ids) - lost:
        assert Job.fetch(rq_job_id, connection=redis_conn).get_status() == JobStatus.SCHEDULED  # RQ's retry
    release_scheduled_jobs(redis_conn)  # the scheduler's part

    def retried() -> bool:
        done = (JobStatus.FINISHED, JobStatus.FAILED)
        return all(Job.fetch(j, connection=redis_conn).get_status() in done for j in held_jobs & set(notify_ids) - lost)

    wait_until(retried, 60, "RQ's retries of the abandoned jobs", worker)
    for row in notifications(app, "email"):
        if row.id in stuck and stuck[row.id].sending_started_at is not None:
            assert row.status == "queued", "a maybe-sent message went again inside the in-flight window"

    clock.rows_age(IN_FLIGHT.total_seconds() + 30)
    with app.app_context():
        requeue_pending_notifications()  # the periodic sweeper (once a minute in the worker)
    outcome = wait_until(lambda: unsent_and_held() if settled() else None, 60, "the sweeper's sends", worker)
    assert not outcome[0], (
        f"never sent: {sorted(outcome[0])}; jobs taken off the queue by a dead worker and never started: "
        f"{sorted(lost)} (RQ calls them queued though no queue holds them)"
    )

    rows = notifications(app, "email")
    expected = {message_id(shop_id, r.id): r for r in rows}
    accepted = mailbox.snapshot()
    copies = Counter(a.message_id for a in accepted)
    assert set(copies) == set(expected)  # every notification reached the server, under its own Message-ID
    for a in accepted:
        assert a.to == shopper(expected[a.message_id].shopify_order_id - ORDER_ID)
    # Exactly once each, except where a kill fell between the server's 250 and the sender's commit: then the
    # second copy carries the same Message-ID (receivers drop it), the first came just before that kill,
    # and it was the killed job's message.
    duplicates = {mid: n for mid, n in copies.items() if n > 1}
    # How long each message was exposed: from the server's 250 to the row saying sent.
    exposed = sorted(expected[a.message_id].sent_at.timestamp() - a.at for a in accepted if copies[a.message_id] == 1)
    print(
        f"\nDELIVERY kills={len(kills)} stuck={len(stuck)} lost_by_rq={len(lost)} "
        f"stuck_maybe_sent={sum(r.sending_started_at is not None for r in stuck.values())} "
        f"duplicates={len(duplicates)} {sorted(duplicates)} "
        f"exposure_ms_p50={statistics.median(exposed) * 1000:.1f} max={exposed[-1] * 1000:.1f}"
    )
    assert len(duplicates) <= len(kills)
    for mid, n in duplicates.items():
        first = min(a.at for a in accepted if a.message_id == mid)
        assert n == 2 and any(began - 2.0 <= first <= over + 0.5 for began, over in kills), (mid, n, first, kills)
        assert job_id("notify", expected[mid].id) in held_jobs
        assert expected[mid].attempts == 2
    assert all(r.sent_at is not None for r in rows)


def test_a_job_a_dying_worker_took_off_the_queue_is_sent_by_the_sweeper(mail_app, post_webhook, smtp, redis_conn):
    """The state a worker on several queues leaves when SIGKILLed between taking a job off the queue (a plain
    LPOP) and marking it started (the test above lands there now and then): RQ calls the job
    queued, no queue holds it, no registry knows it. The sweeper must not take "queued" for alive."""
    post_orders(mail_app, post_webhook, 1)
    work_in_process(mail_app, redis_conn, ("webhooks", "default"))
    [row] = notifications(mail_app, "email")
    assert redis_conn.lpop(Queue("notifications", connection=redis_conn).key) == job_id("notify", row.id).encode()
    assert Job.fetch(job_id("notify", row.id), connection=redis_conn).get_status() == JobStatus.QUEUED

    Clock(mail_app, redis_conn).rows_age(IN_FLIGHT.total_seconds() + 30)  # the sweeper looks after 60 s
    with mail_app.app_context():
        requeue_pending_notifications()
    work_in_process(mail_app, redis_conn)
    assert [m["Message-ID"] for m in smtp.mailbox.messages] == [message_id(the_shop_id(mail_app), row.id)]
    assert [r.status for r in notifications(mail_app, "email")] == ["sent"]


# --------------------------------------------------------------------------- 2. opted-out numbers


@pytest.fixture()
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture()
def sms_app(make_app, smtp, twilio):
    return make_app(smtp_url=smtp.url, mail_from=MAIL_FROM, extra=twilio.extra())


def _sms_to(twilio: FakeTwilio, phone: str = PHONE) -> list[dict[str, str]]:
    """Every create request the fake received for the number, accepted or not."""
    return [form for path, form in twilio.requests if path.endswith("/Messages.json") and form.get("To") == phone]


def _consent(app, shop_id: int) -> None:
    with app.app_context():
        record_opt_in(db.session, shop_id, "sms", PHONE, source="checkout")
        db.session.commit()
        db.session.remove()


def _scan(client, post_webhook, number: int, status: str, hours: int) -> None:
    payload = event_payload(number, 501, status, T0 + timedelta(hours=hours))
    assert post_webhook("fulfillment_events/create", payload, via=client).status_code == 200


def _sms_rows(app, trigger: str) -> list[Notification]:
    return [n for n in notifications(app, "sms") if n.trigger == trigger]


def test_a_number_that_texted_stop_is_never_texted_again(sms_app, post_webhook, twilio, smtp, redis_conn):
    client = sms_app.test_client()
    assert post_webhook("orders/create", order_payload(T0, phone="081-234-5678"), via=client).status_code == 200
    shop_id = configure_shop(sms_app, quiet_hours_start=0, quiet_hours_end=0)  # no quiet hours here
    _consent(sms_app, shop_id)
    fulfillment = fulfillment_payload(501, [(11, 2), (12, 1)], T0, T0, "SHP5012345678")
    assert post_webhook("fulfillments/create", fulfillment, via=client).status_code == 200
    _scan(client, post_webhook, 1, "out_for_delivery", 20)
    work_in_process(sms_app, redis_conn)
    assert len(_sms_to(twilio)) == 1  # with consent, the number gets its texts
    [row] = _sms_rows(sms_app, "out_for_delivery")
    assert row.status == "sent"

    # The next scan queues a text; before the worker gets to it, the shopper replies STOP.
    _scan(client, post_webhook, 2, "attempted_delivery", 26)
    work_in_process(sms_app, redis_conn, ("webhooks", "default"))
    [queued] = _sms_rows(sms_app, "attempted_delivery")
    assert queued.status == "queued"
    path, params, headers = twilio.inbound(INBOUND_URL, PHONE, "STOP")
    response = client.post(path, data=params, headers=headers)
    assert response.status_code == 200 and b"unsubscribed" in response.data
    with sms_app.app_context():
        pref = db.session.execute(select(ContactPreference).where(ContactPreference.channel == "sms")).scalar_one()
        assert pref.is_opted_out and pref.source == "twilio:stop" and pref.address == PHONE
        db.session.remove()
    work_in_process(sms_app, redis_conn)
    [held] = _sms_rows(sms_app, "attempted_delivery")
    assert (held.status, held.reason) == ("suppressed", "sms opted out")  # checked again at send time

    # A later status change plans no text at all, and says why; the email still goes.
    _scan(client, post_webhook, 3, "ready_for_pickup", 30)
    work_in_process(sms_app, redis_conn)
    [later] = _sms_rows(sms_app, "ready_for_pickup")
    assert (later.status, later.reason, later.attempts) == ("suppressed", "sms opted out", 0)
    assert len(_sms_to(twilio)) == 1  # nothing more ever reached Twilio for that number
    assert any("ready for pickup" in (m["Subject"] or "").lower() for m in smtp.mailbox.messages)


def test_a_number_twilio_reports_unsubscribed_is_opted_out_for_good(sms_app, post_webhook, twilio, smtp, redis_conn):
    """Twilio error 21610: the shopper texted STOP to our sender and Twilio told us only now."""
    client = sms_app.test_client()
    assert post_webhook("orders/create", order_payload(T0, phone="081-234-5678"), via=client).status_code == 200
    shop_id = configure_shop(sms_app, quiet_hours_start=0, quiet_hours_end=0)
    _consent(sms_app, shop_id)
    twilio.errors_for[PHONE] = 21610
    fulfillment = fulfillment_payload(501, [(11, 2), (12, 1)], T0, T0, "SHP5012345678")
    assert post_webhook("fulfillments/create", fulfillment, via=client).status_code == 200
    _scan(client, post_webhook, 1, "out_for_delivery", 20)
    work_in_process(sms_app, redis_conn)
    assert len(_sms_to(twilio)) == 1 and twilio.messages == []  # tried once, refused
    [failed] = _sms_rows(sms_app, "out_for_delivery")
    assert failed.status == "failed" and "replied STOP" in failed.reason
    assert release_scheduled_jobs(redis_conn) == 0  # a permanent failure is not retried
    with sms_app.app_context():
        pref = db.session.execute(select(ContactPreference).where(ContactPreference.channel == "sms")).scalar_one()
        assert pref.is_opted_out and pref.source == "sms:21610"
        db.session.remove()
    out_for_delivery = [m for m in smtp.mailbox.messages if "out for delivery" in m["Subject"]]
    assert len(out_for_delivery) == 1  # the email went (no duplicate from the SMS fallback either)

    _scan(client, post_webhook, 2, "attempted_delivery", 26)
    work_in_process(sms_app, redis_conn)
    [later] = _sms_rows(sms_app, "attempted_delivery")
    assert (later.status, later.reason) == ("suppressed", "sms opted out")
    assert len(_sms_to(twilio)) == 1


# --------------------------------------------------------------------------- 3. quiet hours


def _bangkok(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BANGKOK).astimezone(UTC)


@pytest.mark.parametrize(
    ("due", "release"),
    [
        ((2026, 11, 23, 23, 0), (2026, 11, 24, 8, 0)),  # 23:00 local: the next 08:00
        ((2026, 11, 23, 21, 0), (2026, 11, 24, 8, 0)),  # quiet hours begin at 21:00 sharp
        ((2026, 11, 24, 0, 30), (2026, 11, 24, 8, 0)),  # after midnight: the same morning
        ((2026, 11, 24, 7, 59), (2026, 11, 24, 8, 0)),
        ((2026, 12, 31, 23, 0), (2027, 1, 1, 8, 0)),  # across the year
        ((2026, 11, 23, 20, 59), None),
        ((2026, 11, 24, 8, 0), None),  # 08:00 is allowed
        ((2026, 11, 24, 12, 0), None),
    ],
)
def test_quiet_hours_end_at_eight_in_the_shoppers_time_zone(due, release):
    got = policy.quiet_hours_release(_bangkok(*due), BANGKOK, 21, 8)
    assert got == (_bangkok(*release) if release else None)
    if got is not None:
        assert got.tzinfo is UTC and got.astimezone(BANGKOK).hour == 8


def test_an_sms_due_in_quiet_hours_is_deferred_to_their_end_and_the_email_is_not(
    sms_app, post_webhook, twilio, smtp, redis_conn
):
    """With the real clock: quiet hours are set to a 11-hour window around the current Bangkok hour (the
    shape of 21:00-08:00), so the text is due inside them whenever the test runs."""
    client = sms_app.test_client()
    assert post_webhook("orders/create", order_payload(T0, phone="081-234-5678"), via=client).status_code == 200
    hour = datetime.now(BANGKOK).hour
    start, end = (hour - 2) % 24, (hour + 9) % 24
    shop_id = configure_shop(sms_app, quiet_hours_start=start, quiet_hours_end=end)
    _consent(sms_app, shop_id)
    fulfillment = fulfillment_payload(501, [(11, 2), (12, 1)], T0, T0, "SHP5012345678")
    assert post_webhook("fulfillments/create", fulfillment, via=client).status_code == 200
    _scan(client, post_webhook, 1, "out_for_delivery", 20)
    before = datetime.now(UTC)
    work_in_process(sms_app, redis_conn)

    assert _sms_to(twilio) == []
    [row] = _sms_rows(sms_app, "out_for_delivery")
    local_now = before.astimezone(BANGKOK)
    expected = local_now.replace(hour=end, minute=0, second=0, microsecond=0)
    if expected <= local_now:
        expected += timedelta(days=1)
    assert (row.status, row.reason) == ("deferred", "quiet hours")
    assert row.scheduled_for == expected.astimezone(UTC)
    assert row.scheduled_for.astimezone(BANGKOK).hour == end and row.attempts == 0
    registry = ScheduledJobRegistry("notifications", connection=redis_conn)
    rq_id = job_id("notify", row.id, "at", int(row.scheduled_for.timestamp()))
    assert registry.get_job_ids() == [rq_id]
    assert registry.get_scheduled_time(rq_id) == row.scheduled_for  # RQ holds the job until then
    assert any("out for delivery" in m["Subject"] for m in smtp.mailbox.messages)  # email is not held


def test_an_sms_due_at_23_local_goes_out_at_08(sms_app, post_webhook, twilio, redis_conn):
    """Through the clock seam, send_notification(id, now=...): the job as RQ would run it at 23:00, at 07:59
    and at 08:00 Bangkok time."""
    client = sms_app.test_client()
    assert post_webhook("orders/create", order_payload(T0, phone="081-234-5678"), via=client).status_code == 200
    shop_id = configure_shop(sms_app)  # the default quiet hours, 21:00-08:00
    _consent(sms_app, shop_id)
    fulfillment = fulfillment_payload(501, [(11, 2), (12, 1)], T0, T0, "SHP5012345678")
    assert post_webhook("fulfillments/create", fulfillment, via=client).status_code == 200
    _scan(client, post_webhook, 1, "out_for_delivery", 20)
    work_in_process(sms_app, redis_conn, ("webhooks", "default"))
    [row] = _sms_rows(sms_app, "out_for_delivery")
    redis_conn.delete(Queue("notifications", connection=redis_conn).key)  # driven by hand below

    # The last 23:00 in Bangkok (not today's, which after 17:00 UTC is a day ahead and would put the morning
    # past the message horizon of the scan the test sends).
    now = datetime.now(BANGKOK)
    late = now.replace(hour=23, minute=0, second=0, microsecond=0)
    if late > now:
        late -= timedelta(days=1)
    morning = (late + timedelta(days=1)).replace(hour=8)
    with sms_app.app_context():
        assert send_notification(row.id, now=late.astimezone(UTC)) == "deferred"
        db.session.remove()
    [row] = _sms_rows(sms_app, "out_for_delivery")
    assert row.status == "deferred" and row.scheduled_for == morning.astimezone(UTC)
    registry = ScheduledJobRegistry("notifications", connection=redis_conn)
    [rq_id] = registry.get_job_ids()
    assert registry.get_scheduled_time(rq_id) == morning.astimezone(UTC).replace(microsecond=0)
    with sms_app.app_context():
        assert send_notification(row.id, now=(morning - timedelta(minutes=1)).astimezone(UTC)) == "deferred"
        assert send_notification(row.id, now=morning.astimezone(UTC)) == "sent"
        db.session.remove()
    [sent] = _sms_to(twilio)
    assert "out for delivery" in sent["Body"]
    [accepted] = twilio.messages
    [row] = _sms_rows(sms_app, "out_for_delivery")
    assert row.status == "sent" and row.provider_message_id == accepted["sid"] and row.attempts == 1


# --------------------------------------------------------------------------- 4. SMTP down, then back


def test_smtp_down_for_a_while_then_back_sends_every_message_once_late(
    make_app, post_webhook, smtp_servers, redis_conn, real_worker
):
    count = 10
    smtp = smtp_servers(0.0)  # not started: nothing listens on its port
    mailbox: SlowMailbox = smtp.mailbox  # type: ignore[assignment]
    app = make_app(smtp_url=smtp.url, mail_from=MAIL_FROM)
    post_orders(app, post_webhook, count)
    work_in_process(app, redis_conn, ("webhooks", "default"))  # orders stored, N emails queued
    worker = real_worker(SMTP_URL=smtp.url)
    worker.start(redis_conn)
    shop_id = the_shop_id(app)
    scheduled = ScheduledJobRegistry("notifications", connection=redis_conn)

    def failed(attempts: int) -> bool:
        rows = notifications(app, "email")
        return len(rows) == count and all(
            r.attempts >= attempts and r.status == "queued" and (r.reason or "").startswith("retrying") for r in rows
        )

    # The first attempts fail at once (connection refused: known not sent, so nothing is held in flight);
    # RQ schedules each job's retry 10 s later.
    wait_until(lambda: failed(1), 120, "every first attempt to fail", worker)
    rows = notifications(app, "email")
    assert all("mail server unreachable" in r.reason and r.sending_started_at is None for r in rows)
    # The worker's own scheduler brings the retries back after 10 s; SMTP is still down; the next are 30 s out.
    wait_until(lambda: failed(2) and len(scheduled) == count, 60, "the second attempts, 10 s later", worker)
    assert all(r.attempts == 2 for r in notifications(app, "email")) and mailbox.count() == 0

    smtp.start()
    back_at = datetime.now(UTC)
    # The next retries are 30 s out: time passes for them (the worker's scheduler would do the same then).
    assert release_scheduled_jobs(redis_conn) == count
    wait_until(lambda: all(r.status == "sent" for r in notifications(app, "email")), 60, "every message sent", worker)

    rows = notifications(app, "email")
    assert all(r.attempts == 3 and r.sent_at > back_at and r.reason is None for r in rows)
    accepted = mailbox.snapshot()
    assert sorted(a.message_id for a in accepted) == sorted(message_id(shop_id, r.id) for r in rows)
    assert sorted(a.to for a in accepted) == sorted(shopper(i) for i in range(count))
    time.sleep(1.0)  # nothing else is on its way
    assert mailbox.count() == count and len(scheduled) == 0
    assert Queue("notifications", connection=redis_conn).count == 0
