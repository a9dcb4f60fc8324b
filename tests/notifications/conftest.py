"""A real SMTP server on loopback (aiosmtpd) and an app that sends mail through it."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Iterator
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from app.jobs import QUEUES
from tests.conftest import free_port


class Mailbox:
    """Collects what the SMTP server accepted, as parsed messages."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.raw: list[bytes] = []  # as received, for checks that need the exact bytes (DKIM)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            raw = envelope.original_content or envelope.content
            self.raw.append(raw)
            self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture()
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def mail_app(make_app, smtp):
    return make_app(smtp_url=smtp.url, mail_from="updates@aftercart.test")


def release_scheduled_jobs(redis_conn) -> int:
    """Time passes: move every scheduled job (RQ retries, deferred sends) to its queue now."""
    moved = 0
    for name in QUEUES:
        queue = Queue(name, connection=redis_conn)
        registry = ScheduledJobRegistry(queue=queue)
        for job_id in registry.get_job_ids():
            job = Job.fetch(job_id, connection=redis_conn)
            registry.remove(job)
            queue.enqueue_job(job)
            moved += 1
    return moved
