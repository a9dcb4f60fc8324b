"""The RQ worker with its scheduler, and the loop that enqueues the periodic jobs."""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask
from rq import Worker

from app.cron import PERIODIC_JOBS, Periodic
from app.extensions import db
from app.jobs import QUEUES, enqueue, job_id, redis_connection

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = 60


class AppWorker(Worker):
    """A forking worker whose work horses never share the parent's database connections."""

    def main_work_horse(self, *args, **kwargs):  # type: ignore[override]
        db.engine.dispose(close=False)
        return super().main_work_horse(*args, **kwargs)


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
    """Run a worker on the queues (in priority order) with RQ's scheduler and the periodic loop."""
    stop = threading.Event()
    if not burst:
        threading.Thread(target=_periodic_loop, args=(app, stop), daemon=True, name="periodic").start()
    try:
        # RQ retries a dead worker's jobs, and a restarted worker takes over a dead one's scheduler lock, only
        # in its maintenance pass (default: every 10 minutes): after a crash, sends would wait that long.
        worker = AppWorker(list(queues), connection=redis_connection(app), maintenance_interval=MAINTENANCE_SECONDS)
        worker.work(with_scheduler=True, burst=burst)
    finally:
        stop.set()
