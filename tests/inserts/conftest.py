"""Shared by the inserts tests: an installed shop whose Shopify is the local fake, orders delivered through the
real webhook intake, and the tools that read a printed insert back (pdftoppm, pdffonts, pdftotext, zxing-cpp)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.extensions import db
from app.jobs import QUEUES
from app.orders.models import Order
from tests.conftest import SHOP, load_fixture, webhook_headers
from tests.fakes.shopify import make_id_token
from tests.shopify.conftest import fake_app, fake_shopify, install_shop  # noqa: F401  (fixtures)

APP_URL = "https://aftercart.test"


@pytest.fixture()
def shop_app(fake_app, install_shop, fake_shopify):  # noqa: F811
    install_shop()
    return fake_app


@pytest.fixture()
def work(shop_app, redis_conn) -> Callable[[], None]:
    def run() -> None:
        SimpleWorker([Queue(q, connection=redis_conn) for q in QUEUES], connection=redis_conn).work(burst=True)
        db.session.remove()

    return run


def order_payload(
    number: int, *, first_name: str = "John", locale: str = "en", customer_id: int = 7001, **changes: Any
) -> dict[str, Any]:
    payload = load_fixture("orders_create.json")
    shopify_id = 990000 + number
    payload.update(
        id=shopify_id,
        admin_graphql_api_id=f"gid://shopify/Order/{shopify_id}",
        name=f"#{number}",
        order_number=number,
        email=f"customer{customer_id}@example.com",
        customer_locale=locale,
        financial_status="paid",
        fulfillment_status=None,
        cancelled_at=None,
        created_at=f"2026-11-{number % 28 + 1:02d}T10:00:00+07:00",
        updated_at=f"2026-11-{number % 28 + 1:02d}T10:00:00+07:00",
    )
    payload["customer"] = dict(payload.get("customer") or {}, id=customer_id, first_name=first_name)
    payload.update(changes)
    return payload


@pytest.fixture()
def place_order(shop_app, work, fake_shopify) -> Callable[..., Order]:  # noqa: F811
    """An order placed through the real intake (the webhook, then the worker); the fake Shopify knows it too."""
    client = shop_app.test_client()

    def place(number: int, shop: str = SHOP, known_to_shopify: bool = True, **kwargs: Any) -> Order:
        payload = order_payload(number, **kwargs)
        if known_to_shopify:
            fake_shopify.put_order(shop, {"id": payload["admin_graphql_api_id"], "name": payload["name"]})
        body = json.dumps(payload).encode()
        response = client.post("/webhooks", data=body, headers=webhook_headers("orders/create", body, shop=shop))
        assert response.status_code == 200
        work()
        return db.session.execute(select(Order).where(Order.shopify_order_id == payload["id"])).scalar_one()

    return place


@pytest.fixture()
def packing_slip_on(shop_app) -> None:
    """The merchant uses the packing-slip snippet: the app keeps each order's metafield filled."""
    saved = shop_app.test_client().post(
        "/app/api/inserts/settings", json={"packing_slip": True}, headers=admin_headers()
    )
    assert saved.status_code == 200


def admin_headers(shop: str = SHOP) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_id_token(shop)}"}


def pdf_pages(pdf: bytes, folder: Path, dpi: int = 150) -> list[Path]:
    """Each page of the PDF as a PNG, as a printer would see it."""
    source = folder / "inserts.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))


def qr_codes(page: Path) -> list[str]:
    with Image.open(page) as image:
        return [result.text for result in zxingcpp.read_barcodes(image) if result.format.name == "QRCode"]


def pdf_fonts(pdf: bytes, folder: Path) -> str:
    source = folder / "fonts.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(source)], check=True, capture_output=True, text=True).stdout


def pdf_text(pdf: bytes, folder: Path) -> str:
    source = folder / "text.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True).stdout


def local_path(url: str) -> str:
    """A printed link, as the test client opens it (our host, checked)."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == APP_URL, url
    return parts.path
