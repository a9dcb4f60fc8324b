"""The demo: SQLite, inline jobs, seeded through the real webhook path, admin open only there."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from app import create_app
from app.config import Settings
from app.extensions import db
from app.shopify.signatures import webhook_hmac

ROOT = Path(__file__).parents[1]


DEMO_ORDERS = 61


def test_demo_command_sets_up_sqlite_store_and_lists_orders(tmp_path):
    env = {
        "AFTERCART_ENV": "demo",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "PATH": "/usr/bin:/bin",
    }
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    setup = subprocess.run([*flask, "demo", "--no-serve"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr
    assert "http://127.0.0.1:5000/app" in setup.stdout
    again = subprocess.run([*flask, "demo", "--no-serve"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr  # idempotent
    listing = subprocess.run([*flask, "orders"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert listing.returncode == 0, listing.stderr
    assert len(listing.stdout.strip().splitlines()) == 20  # the newest 20 of the demo's orders
    listing = subprocess.run([*flask, "orders", "--limit", "100"], cwd=ROOT, env=env, capture_output=True, text=True)
    lines = listing.stdout.strip().splitlines()
    assert len(lines) == DEMO_ORDERS  # every demo order: tracking, returns, surveys, reviews, thank-you, content,
    # flows and the analytics history
    statuses = {line.split()[0]: line.split()[3] for line in lines}
    assert statuses["#1044"] == "delivered" and statuses["#1010"] == "delayed" and statuses["#1014"] == "cancelled"
    assert statuses["#1055"] == "delivered" and statuses["#1057"] == "out_for_delivery"
    assert statuses["#1058"] == "in_transit" and statuses["#1064"] == "confirmed" and statuses["#1060"] == "delivered"


def test_demo_admin_opens_as_owner_and_a_signed_webhook_shows_up(tmp_path):
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
    client = app.test_client()
    page = client.get("/app")
    assert page.status_code == 200
    assert b"Demo mode" in page.data and b"#1003" in page.data
    assert "frame-ancestors https://aftercart-demo.myshopify.com" in page.headers["Content-Security-Policy"]

    payload = json.loads((ROOT / "tests/fixtures/shopify/orders_create.json").read_text())
    body = json.dumps(payload).encode()
    headers = {
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": "aftercart-demo.myshopify.com",
        "X-Shopify-Webhook-Id": "demo-test-1",
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Hmac-Sha256": webhook_hmac(settings.shopify_api_secret, body),
    }
    assert client.post("/webhooks", data=body, headers=headers).status_code == 200
    page = client.get("/app/orders", query_string={"q": "#9999"})
    assert b"#9999" in page.data  # processed inline, visible at once
    malformed = b'{"id": '
    headers.update(
        {
            "X-Shopify-Webhook-Id": "demo-test-2",
            "X-Shopify-Hmac-Sha256": webhook_hmac(settings.shopify_api_secret, malformed),
        }
    )
    assert client.post("/webhooks", data=malformed, headers=headers).status_code == 200
    page = client.get("/app")
    assert b"malformed JSON" in page.data  # the merchant sees what failed, and why
    with app.app_context():
        db.engine.dispose()


def test_demo_command_serves_the_app(tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 180  # seeding every feature's demo data comes first
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.loads(response.read())
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    proc.terminate()
                    output = proc.communicate(timeout=10)[0]
                    raise AssertionError(f"the demo did not start serving:\n{output[-3000:]}") from None
                time.sleep(0.3)
        assert health["status"] == "ok" and health["redis"].startswith("not used")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/app", timeout=5) as response:
            assert b"Demo mode" in response.read()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def test_advancing_a_demo_order_moves_it_and_sends_its_emails(tmp_path):
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from sqlalchemy import select

        from app.demo import setup_demo
        from app.notifications.models import Notification
        from app.orders.models import Order

        shop_id = setup_demo().id
        order_id = db.session.execute(select(Order.id).where(Order.order_number == 1002)).scalar_one()
    client = app.test_client()
    statuses = []
    for _ in range(6):
        assert client.post(f"/app/demo/orders/{order_id}/advance").status_code == 302
        with app.app_context():
            statuses.append(db.session.get(Order, order_id).status)
    assert statuses == ["shipped", "in_transit", "out_for_delivery", "delivered", "delivered", "delivered"]
    with app.app_context():
        subjects = (
            db.session.execute(
                select(Notification.subject)
                .where(
                    Notification.shop_id == shop_id,
                    Notification.channel == "email",
                    Notification.status == "sent",
                    Notification.shopify_order_id == db.session.get(Order, order_id).shopify_order_id,
                )
                .order_by(Notification.id)
            )
            .scalars()
            .all()
        )
        db.engine.dispose()
    # Somchai shops in Thai: confirmed, shipped, out for delivery, delivered.
    assert subjects == [
        "ยืนยันคำสั่งซื้อ #1002 แล้ว",
        "คำสั่งซื้อ #1002 จัดส่งแล้ว",
        "คำสั่งซื้อ #1002 กำลังนำจ่าย",
        "คำสั่งซื้อ #1002 จัดส่งสำเร็จแล้ว",
    ]


def test_make_demo_takes_a_port_and_send_webhook_follows_it():
    root = Path(__file__).resolve().parents[1]
    commands = subprocess.run(
        ["make", "-n", "demo", "send-webhook", "PORT=5050"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "demo --port 5050" in commands
    assert "--url http://127.0.0.1:5050/webhooks" in commands


def test_package_metadata_uses_an_spdx_license_string():
    # A `license = {text = ...}` table makes setuptools print a deprecation warning on every install.
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    assert isinstance(project["license"], str)


def test_the_demo_prints_signed_links_that_open_the_returns_portal_and_return_pages(tmp_path):
    # /proxy/returns needs Shopify's signature (90 s): the demo prints links of our own instead, as for tracking.
    env = {"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "PATH": "/usr/bin:/bin"}
    setup = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "demo", "--no-serve", "--port", "5050"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert setup.returncode == 0, setup.stderr
    portal = re.findall(r"(#\d+)\s+portal\s+http://127\.0\.0\.1:5050(/l/returns/\S+)", setup.stdout)
    statuses = re.findall(r"(\S+)\s+(\w+)\s+http://127\.0\.0\.1:5050(/l/returns/status/\S+)", setup.stdout)
    assert portal and len(statuses) >= 4, setup.stdout
    app = create_app(Settings.from_env({key: env[key] for key in ("AFTERCART_ENV", "DATABASE_URL")}))
    client = app.test_client()
    name, path = portal[0]
    page = client.get(path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert f"Order {name}" in page.text and 'name="qty_' in page.text  # a real order, with items to return
    assert "Start a return" in page.text and "เริ่มการคืนสินค้า" in client.get(path + "?locale=th").text
    for _, status, path in statuses:
        shown = client.get(path)
        assert shown.status_code == 200 and f'data-return-status="{status}"' in shown.text
    assert client.get(portal[0][1][:-3] + "xyz").status_code == 404  # a link is signed: a changed one opens nothing
    with app.app_context():
        db.engine.dispose()


def test_the_demo_has_a_parcel_in_every_state_the_queue_knows_and_the_owner_was_told_of_each(tmp_path):
    """The demo shows the exceptions queue as a merchant would live with it: every kind of problem, each one
    emailed to the owner (captured by the demo mailbox), the order not shipped in time among them."""
    from sqlalchemy import select

    from app.alerts.models import MerchantAlert

    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
        alerts = db.session.execute(select(MerchantAlert)).scalars().all()
        kinds = {alert.kind for alert in alerts}
        from app.alerts.models import KINDS

        assert set(KINDS) - {"integration_off"} <= kinds, kinds  # every parcel problem
        assert all(alert.emailed_at is not None and alert.delivery_error is None for alert in alerts)
        db.engine.dispose()
    page = app.test_client().get("/app/attention").get_data(as_text=True)
    assert "#1015" in page and "Not told yet" not in page
