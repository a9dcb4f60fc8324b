"""The RQ worker with its scheduler, and the loop that enqueues the periodic jobs."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
import time

from flask import Flask
from rq import SimpleWorker
from rq.scheduler import RQScheduler
from rq.worker import DequeueStrategy

from app.cron import PERIODIC_JOBS, Periodic
from app.jobs import QUEUES, enqueue, job_id, redis_connection

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 60
HEARTBEAT_SLACK_S = 1.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ParentBoundScheduler(RQScheduler):
    """RQ's scheduler process, made to stop when the worker that forked it dies.

    RQ forks the scheduler; a worker killed with SIGKILL (OOM killer, container runtime) left it running as an
    orphan that kept renewing `rq:scheduler-lock:*` (17+ minutes seen), so no new worker could schedule. The
    child asks the kernel for SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG); RQ's own SIGTERM handling
    then stops it and releases its locks. Where prctl is missing it checks its parent every second instead."""

    def work(self) -> None:
        parent = os.getppid()
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            threading.Thread(target=self._watch_parent, args=(parent,), daemon=True, name="parent-watch").start()
        if os.getppid() != parent:  # the worker died before the request took effect
            return
        super().work()

    def _watch_parent(self, parent: int) -> None:
        while os.getppid() == parent:
            time.sleep(1)
        self.request_stop(signal.SIGTERM, None)


class AppWorker(SimpleWorker):
    """Runs each job in the worker process itself, not in a forked work horse.

    Our jobs are short (a webhook, a domain event, one message) and a fork per job cost more than the job
    (benchmarks/notifications.py: ~6 sends/s forking against ~40/s in process), which turned a burst of
    webhooks into minutes of email latency. Job timeouts still hold (SIGALRM in the main thread), each job
    gets a fresh app context and database session, and a worker that dies mid-job is recovered the same way
    (RQ's abandoned-job handling plus our sweepers; tests/notifications/test_delivery_guarantees.py)."""

    def __init__(self, *args, app: Flask, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app
        self._heartbeat_expires = 0.0  # monotonic time until which the last heartbeat keeps our keys alive

    def _start_scheduler(self, burst: bool = False, logging_level=None, date_format=None, log_format=None) -> None:
        """RQ 3.0's own (rq/worker/base.py), with a scheduler that stops when this worker dies."""
        options = {"date_format": date_format, "log_format": log_format}
        self.scheduler = ParentBoundScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            serializer=self.serializer,
            **{k: v for k, v in options.items() if v is not None},
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()

    def heartbeat(self, timeout: int | None = None, pipeline=None):  # type: ignore[override]
        """RQ's heartbeat (extend the worker's keys' expiry), at most once a second for the same expiry.

        RQ sends one around every job three times in a few milliseconds, each as three separate commands
        (profiled in benchmarks/notifications.py: about a quarter of RQ's own time per job). One that would only
        move the expiry by under HEARTBEAT_SLACK_S is skipped; one that is sent goes as one pipeline."""
        timeout = timeout or self.worker_ttl + 60
        expires = time.monotonic() + timeout
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)  # part of RQ's own pipeline, sent with it
        elif abs(expires - self._heartbeat_expires) < HEARTBEAT_SLACK_S:
            return
        else:
            with self.connection.pipeline(transaction=False) as batch:
                super().heartbeat(timeout, pipeline=batch)
                batch.execute()
        self._heartbeat_expires = expires

    def execute_job(self, job, queue):  # type: ignore[override]
        # A context of its own per job: a fresh database session, removed (connection returned) at the end.
        with self.app.app_context():
            super().execute_job(job, queue)


def enqueue_due_periodic_jobs(now: float | None = None, jobs: tuple[Periodic, ...] = PERIODIC_JOBS) -> int:
    """Enqueue each periodic job once for the current interval; any number of workers may call this."""
    now = time.time() if now is None else now
    count = 0
    for periodic in jobs:
        bucket = int(now // periodic.every_seconds)
        enqueue(
            periodic.func,
            queue=periodic.queue,
            job_id=job_id("cron", periodic.name, bucket),
            unique=True,
            rerun_settled=False,  # one run per interval, even after it finished
            retry=None,
        )
        count += 1
    return count


def _periodic_loop(app: Flask, stop: threading.Event, tick: float = 15.0) -> None:
    with app.app_context():
        while not stop.is_set():
            try:
                enqueue_due_periodic_jobs()
            except Exception:
                log.exception("could not enqueue periodic jobs (will retry)")
            stop.wait(tick)


def run_worker(app: Flask, queues: tuple[str, ...] = QUEUES, burst: bool = False) -> None:
    """Run a worker on the queues with RQ's scheduler and the periodic loop.

    The queues take turns (round robin): under a burst of webhooks the messages they cause keep going out
    instead of waiting until every webhook is processed."""
    stop = threading.Event()
    if not burst:
        threading.Thread(target=_periodic_loop, args=(app, stop), daemon=True, name="periodic").start()
    try:
        # RQ retries a dead worker's jobs, and a restarted worker takes over a dead one's scheduler lock, only
        # in its maintenance pass (default: every 10 minutes): after a crash, sends would wait that long.
        worker = AppWorker(
            list(queues), connection=redis_connection(app), maintenance_interval=MAINTENANCE_SECONDS, app=app
        )
        worker.work(with_scheduler=True, burst=burst, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
    finally:
        stop.set()
