"""An app that tells merchants through a real SMTP server and a local webhook receiver, and a shop set up for it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq import Queue, SimpleWorker

from app.extensions import db
from app.jobs import QUEUES
from tests.fakes._server import LoopbackServer
from tests.notifications.conftest import smtp  # noqa: F401  (fixture)
from tests.shopify.conftest import fake_shopify  # noqa: F401  (fixture)


class WebhookReceiver(LoopbackServer):
    """Records each POST (headers, raw body); answers with `status` (settable, e.g. 500 to force a retry)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's hook name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture()
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture()
def alert_app(make_app, smtp, fake_shopify):  # noqa: F811
    """Email to the SMTP server, Shopify's token exchange against the fake, webhooks allowed to loopback."""
    return make_app(
        smtp_url=smtp.url,
        mail_from="updates@aftercart.test",
        shopify_admin_origin=fake_shopify.origin,
        extra={"ALERT_WEBHOOK_ALLOW_PRIVATE": "1"},
    )


@pytest.fixture()
def work(alert_app, redis_conn):
    def run() -> None:
        with alert_app.app_context():
            SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
            db.session.remove()

    return run
