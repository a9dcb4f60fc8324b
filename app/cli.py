"""flask commands: worker, demo, send-webhook, replay-failed, sweep, reconcile, rotate-token-key."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import select

from app.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--queues", default="webhooks,default,notifications,bulk", show_default=True)
    @click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
    def worker_command(queues: str, burst: bool) -> None:
        """Run an RQ worker with the scheduler and the periodic jobs."""
        from app.worker import run_worker

        settings = current_app.config["SETTINGS"]
        if settings.jobs_inline:
            raise click.ClickException("REDIS_URL is not set: jobs run inline, there is nothing to work on")
        run_worker(current_app._get_current_object(), tuple(q.strip() for q in queues.split(",")), burst)

    @app.cli.command("demo")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True)
    @click.option("--no-serve", is_flag=True, help="Set up the demo store and exit.")
    def demo_command(host: str, port: int, no_serve: bool) -> None:
        """Create the demo store (SQLite, inline jobs) and serve the app."""
        from app.demo import setup_demo
        from app.notifications.sandbox import stop_renderer

        settings = current_app.config["SETTINGS"]
        if settings.is_production:
            raise click.ClickException("the demo refuses to run with production settings")
        from app.demo import demo_returns_links, demo_reviews_links, demo_tracking_links

        shop = setup_demo()
        base = f"http://{host}:{port}"
        click.echo(
            "\nAftercart demo is ready.\n"
            f"  Admin (as the owner of {shop.domain}):  {base}/app\n"
            f"  Tracking page settings:                 {base}/app/settings\n"
            f"  Health:                                 {base}/healthz\n"
            "  Send a signed sample webhook:           "
            "make send-webhook FILE=tests/fixtures/shopify/orders_create.json TOPIC=orders/create\n"
            "\nShopper tracking pages (add ?locale=th for Thai):"
        )
        for name, status, path in demo_tracking_links(shop.id):
            click.echo(f"  {name:>6}  {status:<19} {base}{path}")
        click.echo("\nReturns portal and return status pages (signed links; add ?locale=th for Thai):")
        for name, status, path in demo_returns_links(shop.id):
            click.echo(f"  {name:>9}  {status:<19} {base}{path}")
        click.echo("\nReviews: a demo product page with the storefront's reviews block (add ?locale=th for Thai):")
        for name, note, path in demo_reviews_links(shop.id):
            click.echo(f"  {name}  {note}  {base}{path}")
        # Seeding rendered merchant text in the sandbox's processes; a demo stopped with SIGTERM must not leave
        # them holding its output. Stopped here, in the command, not in the seeders, which tests run in-process.
        stop_renderer()
        if not no_serve:
            from werkzeug.serving import run_simple

            # Flask ignores app.run() under its own CLI; serve with werkzeug directly.
            run_simple(host, port, current_app._get_current_object(), threaded=True)

    @app.cli.command("send-webhook")
    @click.argument("payload_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--topic", required=True, help="e.g. orders/create")
    @click.option("--shop", "shop_domain", default=None, help="Defaults to the demo shop.")
    @click.option("--url", default="http://127.0.0.1:5000/webhooks", show_default=True)
    def send_webhook_command(payload_file: Path, topic: str, shop_domain: str | None, url: str) -> None:
        """Sign a payload with the app secret and POST it like Shopify does."""
        import httpx

        from app.demo import DEMO_SHOP_DOMAIN
        from app.shopify.signatures import webhook_hmac

        body = payload_file.read_bytes()
        settings = current_app.config["SETTINGS"]
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": shop_domain or DEMO_SHOP_DOMAIN,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": settings.shopify_api_version,
            "X-Shopify-Hmac-Sha256": webhook_hmac(settings.shopify_api_secret, body),
        }
        response = httpx.post(url, content=body, headers=headers, timeout=10)
        click.echo(f"{response.status_code} {response.text.strip()}")
        if response.status_code >= 300:
            sys.exit(1)

    @app.cli.command("orders")
    @click.option("--shop", "shop_domain", default=None, help="Defaults to the demo shop.")
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
    def orders_command(shop_domain: str | None, limit: int) -> None:
        """List the orders we hold for a shop (newest first)."""
        from app.demo import DEMO_SHOP_DOMAIN
        from app.orders.models import Order
        from app.shopify.shops import get_shop

        shop = get_shop(db.session, shop_domain or DEMO_SHOP_DOMAIN)
        if shop is None:
            raise click.ClickException("no such shop")
        orders = db.session.execute(
            select(Order).where(Order.shop_id == shop.id).order_by(Order.id.desc()).limit(limit)
        ).scalars()
        for order in orders:
            click.echo(
                f"{order.name:>8}  {order.email or '-':<26} {order.financial_status or '-':<10} "
                f"{order.status:<19} {order.total_price} {order.currency}"
            )

    @app.cli.command("sweep")
    def sweep_command() -> None:
        """Re-enqueue webhook events stranded by a Redis outage or a killed worker."""
        from app.shopify.inbox import requeue_stranded_webhook_events

        click.echo(f"re-enqueued {requeue_stranded_webhook_events()} events")

    @app.cli.command("replay-failed")
    @click.option("--shop", "shop_domain", required=True)
    def replay_failed_command(shop_domain: str) -> None:
        """Put a shop's failed webhook events back in line."""
        from app.shopify.inbox import retry_failed_event
        from app.shopify.models import WebhookEvent
        from app.shopify.shops import get_shop

        shop = get_shop(db.session, shop_domain)
        if shop is None:
            raise click.ClickException("no such shop")
        ids = (
            db.session.execute(
                select(WebhookEvent.id).where(WebhookEvent.shop_id == shop.id, WebhookEvent.status == "failed")
            )
            .scalars()
            .all()
        )
        replayed = sum(retry_failed_event(db.session, shop.id, event_id) for event_id in ids)
        click.echo(f"replayed {replayed} of {len(ids)} failed events")

    @app.cli.command("reconcile")
    @click.option("--shop", "shop_domain", default=None)
    def reconcile_command(shop_domain: str | None) -> None:
        """Fetch orders updated since the last sync from the Admin API (all installed shops by default)."""
        from app.shopify.reconcile import reconcile_all_shops, reconcile_shop
        from app.shopify.shops import get_shop

        if shop_domain:
            shop = get_shop(db.session, shop_domain)
            if shop is None:
                raise click.ClickException("no such shop")
            click.echo(json.dumps(reconcile_shop(shop.id), default=str))
        else:
            click.echo(json.dumps(reconcile_all_shops(), default=str))

    @app.cli.command("rotate-token-key")
    def rotate_token_key_command() -> None:
        """Re-encrypt every stored token with the first key of TOKEN_ENCRYPTION_KEY."""
        from app.shopify.tokens import rotate_token_encryption

        click.echo(f"re-encrypted tokens of {rotate_token_encryption()} shops")

    @app.cli.command("annotate-translations")
    def annotate_translations_command() -> None:
        """Give every message of the other catalogs its English text as a translator comment (the ids are keys)."""
        from app.i18n import DEFAULT_LOCALE, LOCALES, annotate_with_english

        for locale in LOCALES:
            if locale != DEFAULT_LOCALE:
                click.echo(f"{locale}: {annotate_with_english(locale)} messages annotated")
