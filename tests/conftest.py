"""Shared fixtures: a real PostgreSQL database (migrated with Alembic) and a real Redis."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker

from app import create_app
from app.config import Settings
from app.extensions import db
from app.jobs import QUEUES
from app.shopify import shops
from app.shopify.signatures import webhook_hmac

FIXTURES = Path(__file__).parent / "fixtures"
SHOP = "snowdevil.myshopify.com"
OTHER_SHOP = "other-store.myshopify.com"

PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database of this test run's own on the machine's PostgreSQL, so runs never collide."""
    name = f"aftercart_test_{os.getpid()}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class RedisServer:
    """A redis-server process of a test's own on a free loopback port; it can be stopped and restarted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.025)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis server of this run's own, so parallel runs never share queues."""
    if os.environ.get("AFTERCART_TEST_REDIS_URL"):
        yield os.environ["AFTERCART_TEST_REDIS_URL"]
        return
    server = RedisServer()
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def base_settings(database_url: str, redis_url: str) -> Settings:
    return Settings.from_env(
        {
            "AFTERCART_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SHOPIFY_API_KEY": "test-api-key",
            "SHOPIFY_API_SECRET": "test-secret",
            "SHOPIFY_APP_URL": "https://aftercart.test",
        }
    )


@pytest.fixture(scope="session")
def app(base_settings: Settings) -> Iterator[Flask]:
    application = create_app(base_settings)
    with application.app_context():
        from flask_migrate import upgrade

        upgrade()  # the real migrations, so a model without a migration fails here
    yield application
    from app.shopify.inbox import close_writer_connections

    close_writer_connections()
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def make_app(base_settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Build an extra app with some settings changed (e.g. an unreachable Redis)."""
    built: list[Flask] = []

    def factory(**changes: Any) -> Flask:
        application = create_app(replace(base_settings, **changes))
        built.append(application)
        return application

    yield factory
    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture()
def redis_conn(redis_url: str) -> Iterator[redis_lib.Redis]:
    conn = redis_lib.Redis.from_url(redis_url)
    yield conn
    conn.close()


@pytest.fixture(autouse=True)
def clean_state(app: Flask, redis_conn: redis_lib.Redis) -> Iterator[None]:
    shops._shop_id_cache.clear()
    redis_conn.flushdb()
    yield
    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    shops._shop_id_cache.clear()


@pytest.fixture()
def ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "shopify" / name).read_text())


def webhook_headers(
    topic: str, body: bytes, shop: str = SHOP, webhook_id: str | None = None, secret: str = "test-secret"
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Hmac-Sha256": webhook_hmac(secret, body),
    }


@pytest.fixture()
def post_webhook(client: FlaskClient) -> Callable[..., Any]:
    """POST a correctly signed webhook, as Shopify would."""

    def send(topic: str, payload: dict[str, Any] | bytes, **kwargs: Any):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        test_client = kwargs.pop("via", client)
        return test_client.post("/webhooks", data=body, headers=webhook_headers(topic, body, **kwargs))

    return send


@pytest.fixture()
def run_jobs(app: Flask, redis_conn: redis_lib.Redis) -> Callable[[], int]:
    """Work every queue in this process until empty; returns the number of jobs run."""

    def work() -> int:
        queues = [Queue(name, connection=redis_conn) for name in QUEUES]
        before = sum(len(q) for q in queues)
        with app.app_context():
            worker = SimpleWorker(queues, connection=redis_conn)
            worker.work(burst=True)
            db.session.remove()
        return before

    return work
