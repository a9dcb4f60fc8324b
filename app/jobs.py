"""Queues, job ids, enqueueing (after commit, or inline in the demo) and retry presets."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask import Flask, current_app, has_app_context
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.utils import import_attribute
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

QUEUES = ("webhooks", "default", "notifications", "bulk")

# Transient failures (network, throttling, a locked row) are retried with growing pauses.
RETRY_DEFAULT = Retry(max=5, interval=[10, 30, 120, 600, 1800])
FAILURE_TTL = 7 * 24 * 3600  # failed jobs stay inspectable for a week

_JOB_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def job_id(kind: str, *parts: Any) -> str:
    """A stable RQ job id `<kind>-<parts>`; RQ rejects anything but letters, digits, `_` and `-`."""
    return "-".join([kind, *(_JOB_ID_UNSAFE.sub("_", str(p)) for p in parts)])


def redis_connection(app: Flask | None = None) -> redis.Redis:
    app = app or current_app
    conn = app.extensions.get("aftercart_redis")
    if conn is None:
        settings = app.config["SETTINGS"]
        timeout = settings.redis_socket_timeout
        conn = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=timeout, socket_timeout=max(timeout, 5.0)
        )
        app.extensions["aftercart_redis"] = conn
    return conn


def get_queue(name: str, app: Flask | None = None) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis_connection(app))


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    queue: str = "default",
    job_id: str | None = None,
    retry: Retry | None = RETRY_DEFAULT,
    delay: timedelta | None = None,
    at: datetime | None = None,
    unique: bool = False,
    rerun_settled: bool = True,
    new: bool = False,
) -> None:
    """Enqueue `func(*args)` on `queue`, or run it right away when jobs run inline (demo).

    With `unique=True` a queued or running job with the same id makes this a no-op; a finished or
    failed one is replaced (so a retried event can run again) unless `rerun_settled=False`.
    With `new=True` the caller vouches that no job with this id can exist yet (the id derives from a row
    it just inserted): the job is written in one round trip, without those checks (`enqueue_new`).
    Raises redis.ConnectionError when Redis is unreachable; callers that must not fail keep
    their own durable record (e.g. the webhook inbox) for a sweeper to retry.
    """
    settings = current_app.config["SETTINGS"]
    if settings.jobs_inline:
        _run_inline(func, args)
        return
    if new and job_id and delay is None and at is None:
        enqueue_new(func, *args, queue=queue, job_id=job_id, retry=retry)
        return
    q = get_queue(queue)
    if unique and job_id and rerun_settled:
        job_is_alive(job_id)  # clears a finished or failed job of that id, so it can run again
    options: dict[str, Any] = {"job_id": job_id, "retry": retry, "failure_ttl": FAILURE_TTL}
    try:
        if at is not None:
            q.enqueue_at(at, func, *args, unique=unique, **options)
        elif delay:
            q.enqueue_in(delay, func, *args, unique=unique, **options)
        else:
            q.enqueue(func, *args, unique=unique, **options)
    except DuplicateJobError:
        log.debug("job %s already queued", job_id)


def enqueue_new(
    func: Callable[..., Any], *args: Any, queue: str, job_id: str, retry: Retry | None = RETRY_DEFAULT
) -> None:
    """Enqueue a job whose id is new by construction (e.g. derived from a row just inserted).

    The job is built by RQ itself (`Queue.create_job`, `Job.to_dict`), so a worker reads it exactly as
    one from `Queue.enqueue` (tests compare the two field by field), but it is written with just HSET and
    RPUSH in one round trip, without RQ's MULTI/EXEC and dependency bookkeeping: this runs once per
    webhook at intake. A job whose push was lost is re-enqueued by the sweepers (`job_is_alive`).
    """
    q = get_queue(queue)
    job = q.create_job(func, args=args, job_id=job_id, retry=retry, failure_ttl=FAILURE_TTL)
    job.origin = q.name
    job.enqueued_at = datetime.now(UTC)
    if job.timeout is None:
        job.timeout = q.DEFAULT_TIMEOUT
    mapping = job.to_dict()
    mapping["status"] = JobStatus.QUEUED.value
    with q.connection.pipeline(transaction=False) as pipe:
        pipe.sadd(Queue.redis_queues_keys, q.key)
        pipe.hset(job.key, mapping=mapping)
        pipe.rpush(q.key, job.id)
        pipe.execute()


def _run_inline(func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    # A fresh application context means a fresh database session: this may run from inside another
    # session's after-commit hook, where that session can no longer emit SQL.
    try:
        with current_app.app_context():
            func(*args)
    except Exception:  # an inline job must not break the request that queued it (demo only)
        log.exception("inline job %s failed", getattr(func, "__name__", func))


def job_is_alive(rq_job_id: str) -> bool:
    """True while the job is queued, scheduled or running; a finished, failed or stopped job is deleted
    so the caller can enqueue it afresh. Always False when jobs run inline."""
    if current_app.config["SETTINGS"].jobs_inline:
        return False
    try:
        job = Job.fetch(rq_job_id, connection=redis_connection())
    except Exception:  # NoSuchJobError, or a job whose data cannot be read: treat as gone
        return False
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        # A worker killed between taking the job off its queue and starting it leaves it "queued"
        # in name only: alive only if its queue really still holds it.
        queue = Queue(job.origin, connection=redis_connection())
        if queue.get_job_position(job.id) is not None:
            return True
    elif status in (JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return True
    job.delete()
    return False


def enqueue_after_commit(session: Session, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Enqueue once the session's transaction commits; a rollback drops the job.

    A failed enqueue after commit is logged, not raised: the committed rows are the record,
    and the periodic sweepers pick up work whose job never made it to Redis.
    """
    pending = session.info.setdefault("aftercart_after_commit", [])
    pending.append((func, args, kwargs))


@event.listens_for(Session, "after_commit")
def _flush_after_commit(session: Session) -> None:
    pending = session.info.pop("aftercart_after_commit", None)
    if not pending:
        return
    for func, args, kwargs in pending:
        try:
            enqueue(func, *args, **kwargs)
        except redis.RedisError:
            log.warning("could not enqueue %s%r after commit; a sweeper will retry", func.__name__, args)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop("aftercart_after_commit", None)


def with_app_context(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a job inside an application context, creating the app once per worker process."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if has_app_context():
            return func(*args, **kwargs)
        app = _worker_app.get("app")
        if app is None:
            # Found by name, as `flask --app app` and RQ find theirs: the core never imports the wiring.
            app = _worker_app["app"] = import_attribute(APP_FACTORY)()
        with app.app_context():
            return func(*args, **kwargs)

    return wrapper


APP_FACTORY = "app.create_app"
_worker_app: dict[str, Flask] = {}


def forget_failed_jobs_mentioning(needles: list[str]) -> int:
    """Delete failed jobs whose recorded error mentions any of `needles` (case-insensitive), with their results.

    Jobs take ids, but an error message can quote a value (a refused recipient, a provider's reply), and RQ keeps
    failed jobs for FAILURE_TTL: a customer's erasure must not wait for that. Returns the jobs deleted; nothing
    to do when jobs run inline."""
    if current_app.config["SETTINGS"].jobs_inline:
        return 0
    wanted = [n.lower() for n in needles if n]
    if not wanted:
        return 0
    forgotten = 0
    for name in QUEUES:
        queue = get_queue(name)
        registry = FailedJobRegistry(queue=queue)
        for job_id in registry.get_job_ids():
            try:
                job = Job.fetch(job_id, connection=queue.connection)
            except Exception:  # gone meanwhile, or unreadable: nothing left to read either
                continue
            result = job.latest_result()
            text = " ".join(str(part) for part in (result.exc_string if result else None, job.description) if part)
            if any(needle in text.lower() for needle in wanted):
                registry.remove(job, delete_job=True)
                forgotten += 1
    return forgotten
