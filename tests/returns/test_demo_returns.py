"""The demo store has returns in several states and loyalty tiers to toggle, on SQLite with inline jobs."""

from __future__ import annotations

from sqlalchemy import select

from app import create_app
from app.config import Settings
from app.extensions import db
from app.returns.models import ReturnRequest, ReturnSyncOp


def test_demo_has_returns_in_several_states_and_tiers(tmp_path):
    settings = Settings.from_env({"AFTERCART_ENV": "demo", "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"})
    app = create_app(settings)
    with app.app_context():
        from app.demo import setup_demo

        setup_demo()
        returns = db.session.execute(select(ReturnRequest).order_by(ReturnRequest.id)).scalars().all()
        assert {r.status for r in returns} >= {"requested", "awaiting_shipment", "resolved", "declined"}
        assert {r.tier_code for r in returns if r.tier_code} >= {"member", "gold"}
        assert {r.source for r in returns} == {"portal", "shopify"}
        # No Shopify in the demo: sync ops wait, nothing failed.
        assert {op.status for op in db.session.execute(select(ReturnSyncOp)).scalars()} == {"pending"}
        setup_demo()  # idempotent
        assert len(db.session.execute(select(ReturnRequest)).scalars().all()) == len(returns)
        db.session.remove()
    client = app.test_client()
    listing = client.get("/app/returns")
    assert listing.status_code == 200 and listing.text.count("data-return=") == len(returns)
    policy = client.get("/app/returns/policy")
    assert policy.text.count("data-tier=") >= 2
    assert client.post("/app/returns/policy/tiers/silver/auto_approve").status_code == 302
    assert "unpublished changes" in client.get("/app/returns/policy").text
