"""The intake's lean enqueue writes the very job RQ's own enqueue would, and a worker runs it."""

from __future__ import annotations

from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from app.jobs import FAILURE_TTL, RETRY_DEFAULT, enqueue_new

_MOMENTS = {b"created_at", b"enqueued_at"}


def test_lean_enqueue_saves_the_same_job_as_rq(ctx, redis_conn):
    queue = Queue("webhooks", connection=redis_conn)
    queue.enqueue(divmod, 7, 2, job_id="via-rq", retry=RETRY_DEFAULT, failure_ttl=FAILURE_TTL)
    enqueue_new(divmod, 7, 2, queue="webhooks", job_id="via-lean")

    via_rq = redis_conn.hgetall("rq:job:via-rq")
    via_lean = redis_conn.hgetall("rq:job:via-lean")
    assert set(via_lean) == set(via_rq)
    assert {k: v for k, v in via_lean.items() if k not in _MOMENTS} == {
        k: v for k, v in via_rq.items() if k not in _MOMENTS
    }
    assert all(via_lean[k] for k in _MOMENTS)
    assert queue.job_ids == ["via-rq", "via-lean"]
    assert queue in Queue.all(connection=redis_conn)
    assert redis_conn.ttl("rq:job:via-lean") == redis_conn.ttl("rq:job:via-rq") == -1


def test_a_worker_runs_a_lean_enqueued_job(ctx, redis_conn):
    enqueue_new(divmod, 7, 2, queue="webhooks", job_id="lean-run")
    queue = Queue("webhooks", connection=redis_conn)
    SimpleWorker([queue], connection=redis_conn).work(burst=True)
    job = Job.fetch("lean-run", connection=redis_conn)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == (3, 1)
    assert job.retries_left == RETRY_DEFAULT.max
