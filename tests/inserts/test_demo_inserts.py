"""The demo prints inserts: its orders are listed on the inserts page, each prints with the shop's own note, and
"print all" runs inline (the demo has no worker) to a PDF with every waiting order."""

from __future__ import annotations

import re

from app import create_app
from app.config import Settings
from app.extensions import db
from tests.inserts.conftest import pdf_pages, pdf_text, qr_codes


def test_the_demo_lists_its_orders_and_prints_their_inserts(tmp_path):
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
        client = app.test_client()
        page = client.get("/app/inserts").get_data(as_text=True)
        links = re.findall(r'href="(/app/orders/\d+/insert\.pdf)', page)
        assert links, "the demo's orders are listed with a print link"
        pdf = client.get(links[0])
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        assert "checked by hand" in pdf_text(pdf.data, tmp_path) or "ตรวจด้วยมือ" in pdf_text(pdf.data, tmp_path)
        (first,) = pdf_pages(pdf.data, tmp_path)
        codes = qr_codes(first)
        assert len(codes) == 2
        for url in codes:
            path = url.split("://", 1)[1].split("/", 1)[1]
            opened = client.get("/" + path, follow_redirects=True)
            assert opened.status_code == 200

        batch = client.post("/app/api/inserts/batches", headers={"Accept": "application/json"})
        assert batch.status_code == 202
        status = client.get(batch.json["status_url"]).json
        assert status["status"] == "done" and status["done"] == status["total"] > 0
        printed = client.get(status["download_url"])
        assert printed.status_code == 200 and printed.data.startswith(b"%PDF")
        db.session.remove()
        db.engine.dispose()
