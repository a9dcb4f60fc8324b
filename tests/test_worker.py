"""Periodic jobs are enqueued once per interval however many workers run; dead jobs are swept."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.cron import PERIODIC_JOBS
from app.db import utcnow
from app.extensions import db
from app.jobs import QUEUES
from app.shopify.inbox import requeue_stranded_webhook_events
from app.shopify.models import WebhookEvent
from app.worker import enqueue_due_periodic_jobs
from tests.conftest import load_fixture


def test_periodic_jobs_are_enqueued_once_per_interval(ctx, redis_conn):
    now = 1_800_000_000.0
    for _ in range(3):  # three workers ticking at the same moment
        enqueue_due_periodic_jobs(now)
    queued = {q: Queue(q, connection=redis_conn).job_ids for q in QUEUES}
    assert sum(len(ids) for ids in queued.values()) == len(PERIODIC_JOBS)
    longest = max(periodic.every_seconds for periodic in PERIODIC_JOBS)
    enqueue_due_periodic_jobs(now + longest + 1)  # the next interval of every job
    assert sum(len(Queue(q, connection=redis_conn)) for q in queued) == 2 * len(PERIODIC_JOBS)


def test_event_whose_job_died_is_requeued_by_the_sweeper(ctx, post_webhook, redis_conn):
    post_webhook("orders/create", load_fixture("orders_create.json"))
    queue = Queue("webhooks", connection=redis_conn)
    [job] = queue.jobs
    # A worker killed mid-job leaves it failed in RQ while our row still says `received`.
    job.delete()
    db.session.execute(WebhookEvent.__table__.update().values(received_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert requeue_stranded_webhook_events() == 1
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    db.session.expire_all()
    assert db.session.execute(select(WebhookEvent.status)).scalar_one() == "processed"
    assert requeue_stranded_webhook_events() == 0


def session_in_use() -> int:
    """A job that reports which database session it ran with."""
    return db.session().hash_key  # unique per Session object, never reused


def test_the_worker_runs_each_job_in_its_own_app_context(app, redis_conn):
    from rq.job import Job

    from app.jobs import enqueue_new
    from app.worker import AppWorker

    with app.app_context():
        outer = db.session().hash_key
        for n in range(2):
            enqueue_new(session_in_use, queue="default", job_id=f"session-{n}", retry=None)
        AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn, app=app).work(burst=True)
    first, second = (Job.fetch(f"session-{n}", connection=redis_conn).return_value() for n in range(2))
    assert first is not None and second is not None
    assert len({outer, first, second}) == 3  # no job saw the worker's session or another job's


def record_turn(name: str) -> None:
    from app.jobs import redis_connection

    redis_connection().rpush("test:turns", name)


def test_the_worker_serves_its_queues_in_turn(app, redis_conn):
    """A burst of webhook jobs must not hold back the messages they cause until the burst is over."""
    from app.jobs import enqueue_new
    from app.worker import run_worker

    with app.app_context():
        for n in range(3):
            enqueue_new(record_turn, f"webhook-{n}", queue="webhooks", job_id=f"turn-webhook-{n}", retry=None)
        for n in range(3):
            enqueue_new(record_turn, f"send-{n}", queue="notifications", job_id=f"turn-send-{n}", retry=None)
        run_worker(app, ("webhooks", "notifications"), burst=True)
    turns = [t.decode() for t in redis_conn.lrange("test:turns", 0, -1)]
    assert sorted(turns) == sorted([f"webhook-{n}" for n in range(3)] + [f"send-{n}" for n in range(3)])
    assert turns.index("send-0") < turns.index("webhook-2"), turns


def _expire_calls(redis_conn) -> int:
    return int(redis_conn.info("commandstats").get("cmdstat_expire", {}).get("calls", 0))


def test_the_worker_sends_a_heartbeat_once_around_each_job_not_five_times(app, redis_conn):
    """RQ heartbeats five times around each job, two EXPIREs each, three times in as many round trips; the
    worker skips the repeats that would not move its keys' expiry (about 13 EXPIREs a job in all, from 17)."""
    from app.jobs import enqueue_new
    from app.worker import AppWorker

    jobs = 20
    with app.app_context():
        for n in range(jobs):
            enqueue_new(divmod, n, 3, queue="default", job_id=f"beat-{n}", retry=None)
        worker = AppWorker([Queue("default", connection=redis_conn)], connection=redis_conn, app=app)
        before = _expire_calls(redis_conn)
        worker.work(burst=True)
        expires = _expire_calls(redis_conn) - before
    assert len(Queue("default", connection=redis_conn)) == 0
    assert expires <= 15 * jobs, f"{expires} EXPIREs for {jobs} jobs"

    # A skipped heartbeat never shortens the life of the worker's keys: one sent now sets the full TTL.
    worker.register_birth()
    worker._heartbeat_expires = 0.0
    worker.heartbeat()
    assert redis_conn.ttl(worker.key) > worker.worker_ttl
    worker.heartbeat()  # within the second: skipped, the TTL stays
    assert redis_conn.ttl(worker.key) > worker.worker_ttl
    worker.register_death()


def test_the_scheduler_dies_with_a_killed_worker_and_frees_its_lock(database_url, redis_url, redis_conn, tmp_path):
    """SIGKILL to the worker alone (as the OOM killer does): RQ's forked scheduler must not live on as an orphan
    renewing `rq:scheduler-lock:*`, or no other worker can schedule for minutes."""
    from tests.notifications.test_delivery_guarantees import WorkerProcess, wait_until, worker_env

    worker = WorkerProcess(worker_env(database_url, redis_url), tmp_path)
    worker.start(redis_conn, queues=("default",))
    try:
        lock = "rq:scheduler-lock:default"
        wait_until(lambda: redis_conn.exists(lock), 30, "the scheduler to take its lock", worker)

        # RQ takes the lock in the worker, then forks the scheduler: the child appears a moment later.
        def scheduler_children():
            return [pid for pid in worker.session_pids() if pid != worker.proc.pid]

        wait_until(scheduler_children, 10, "RQ's scheduler to run in a process of its own", worker)
        children = scheduler_children()
        os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait(10)
        wait_until(lambda: not [pid for pid in children if _alive(pid)], 10, "the scheduler to exit")
        wait_until(lambda: not redis_conn.exists(lock), 10, "the scheduler lock to be released")
    finally:
        worker.stop()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
