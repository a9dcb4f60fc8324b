"""Aftercart: create_app(), the factory. With the wiring files beside it (topics, subscribers, privacy,
blueprints, cron, demo) it is the only code that imports features; the core reaches them through the
registry it installs (app/registry.py)."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import i18n
from app.config import Settings
from app.db import commit_read_only_requests, ping_idle_connections, use_generic_plans
from app.extensions import db, migrate
from app.validation import http_url


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app. No database, Redis or network is touched here."""
    settings = settings or Settings.from_env()
    app = Flask(__name__, template_folder="../templates", instance_relative_config=True)
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
    )
    # Forwarded headers are believed only through the proxies the operator says are there (TRUSTED_PROXY_HOPS):
    # any client can send X-Forwarded-For or X-Forwarded-Host, and the lookup limits key on the client's address.
    hops = settings.trusted_proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    i18n.init_app(app)
    app.jinja_env.filters["http_url"] = http_url
    commit_read_only_requests(app, db)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            ping_idle_connections(db.engine)
            use_generic_plans(db.engine)
    migrate.init_app(app, db, directory=_migrations_dir())
    _import_models()

    from app import blueprints, privacy, subscribers, topics
    from app.registry import Registry, install

    install(
        app,
        Registry(
            topic_handlers=topics.HANDLERS,
            compliance_handlers=topics.COMPLIANCE_HANDLERS,
            event_subscribers=subscribers.EVENT_SUBSCRIBERS,
            in_transaction_subscribers=subscribers.IN_TRANSACTION_SUBSCRIBERS,
            privacy=privacy.PRIVACY,
            admin_nav=blueprints.ADMIN_NAV,
            order_panels=blueprints.ORDER_PANELS,
            setup_steps=blueprints.SETUP_STEPS,
        ),
    )
    for blueprint in blueprints.BLUEPRINTS:
        app.register_blueprint(blueprint)
    from app.errors import register_error_handlers

    register_error_handlers(app)

    from app.shopify.webhooks import WebhookIntake

    # Outermost: Shopify's webhook deliveries skip Flask's request machinery (see app/shopify/webhooks.py).
    app.wsgi_app = WebhookIntake(app, app.wsgi_app)  # type: ignore[method-assign]

    from app.cli import register_cli

    register_cli(app)
    return app


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    return {
        # Idle connections are tested before use by app.db.ping_idle_connections, not on every checkout.
        "pool_pre_ping": False,
        "pool_size": 5,
        "max_overflow": 5,
        "connect_args": {
            # A dead database must fail the request fast (5xx, Shopify retries), not hang past 5 s.
            "connect_timeout": 2,
        },
    }


def _migrations_dir() -> str:
    import os

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def _import_models() -> None:
    # Every model module, so Alembic and relationships see the whole schema.
    import app.admin.models  # noqa: F401
    import app.alerts.models  # noqa: F401
    import app.events  # noqa: F401
    import app.extension_api.models  # noqa: F401
    import app.helpdesk.models  # noqa: F401
    import app.notifications.models  # noqa: F401
    import app.orders.models  # noqa: F401
    import app.recommendations.models  # noqa: F401
    import app.returns.models  # noqa: F401
    import app.shopify.models  # noqa: F401
    import app.tracking.models  # noqa: F401
