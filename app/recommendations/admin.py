"""Recommendations in the embedded admin (report, settings, catalogue sync) and the `flask recs` commands.

Every query is scoped by the signed-in shop (g.admin.shop.id). Mutations are JSON fetches; a bad field is a
400 naming each problem, and nothing is saved.
"""

from __future__ import annotations

import re
import sys
import time
from datetime import timedelta
from typing import Any

import click
from flask import Blueprint, g, jsonify, render_template, request
from sqlalchemy import func, select

from app.admin import admin_required
from app.db import utcnow
from app.extensions import db
from app.i18n import N_, request_locale, t
from app.recommendations.attribution import placement_report
from app.recommendations.catalog import latest_sync
from app.recommendations.models import PLACEMENTS, CatalogProduct, CatalogSync, RecommendationSettings
from app.validation import http_url

recommendations_admin_bp = Blueprint("recommendations_admin", __name__, url_prefix="/app/recommendations")
recommendations_cli_bp = Blueprint("recs", __name__, cli_group="recs")

PLACEMENT_LABELS = {  # catalog keys, shown in the merchant's language
    "tracking_page": N_("admin.recs.placement.tracking_page"),
    "tracking_widget": N_("admin.recs.placement.tracking_widget"),
    "return_status": N_("admin.recs.placement.return_status"),
    "return_exchange": N_("admin.recs.placement.return_exchange"),
    "email": N_("admin.recs.placement.email"),
    "unknown": N_("admin.recs.placement.unknown"),
}
N_("admin.recs.sync.starting"), N_("admin.recs.sync.running"), N_("admin.recs.sync.importing")
N_("admin.recs.sync.completed"), N_("admin.recs.sync.failed")
N_("admin.recs.err.ids"), N_("admin.recs.err.unknown_products"), N_("admin.recs.err.discount_code")
N_("admin.recs.err.window"), N_("admin.recs.err.body")
REPORT_DAYS = 30
MAX_IDS = 100
MAX_WINDOW_DAYS = 60
SEARCH_LIMIT = 20
MAX_QUERY = 100
_DISCOUNT_CODE = re.compile(r"\A[A-Za-z0-9_\-]{1,64}\Z")


def _settings(shop_id: int) -> RecommendationSettings:
    found = db.session.execute(
        select(RecommendationSettings).where(RecommendationSettings.shop_id == shop_id)
    ).scalar_one_or_none()
    if found is None:
        found = RecommendationSettings(shop_id=shop_id, is_enabled=True, attribution_window_days=7, pins={})
        db.session.add(found)
    return found


def sync_progress(sync: CatalogSync | None) -> dict[str, Any] | None:
    if sync is None:
        return None
    return {
        "id": sync.id,
        "status": sync.status,
        "object_count": sync.object_count,
        "imported_products": sync.imported_products,
        "error": sync.error,
        "started_at": sync.started_at.isoformat(),
        "finished_at": sync.finished_at.isoformat() if sync.finished_at else None,
    }


@recommendations_admin_bp.get("")
@recommendations_admin_bp.get("/")
@admin_required
def recommendations_page():
    from app.admin import page_context

    shop = g.admin.shop
    settings = _settings(shop.id)
    counts = db.session.execute(
        select(
            func.count(),
            func.count().filter(
                CatalogProduct.deleted_at.is_(None),
                CatalogProduct.status == "active",
                CatalogProduct.is_published.is_(True),
                CatalogProduct.is_available.is_(True),
            ),
        ).where(CatalogProduct.shop_id == shop.id, CatalogProduct.deleted_at.is_(None))
    ).one()
    report = placement_report(db.session, shop.id, utcnow() - timedelta(days=REPORT_DAYS))
    chosen_ids = list(settings.excluded_product_ids or [])
    for ids in (settings.pins or {}).values():
        chosen_ids.extend(ids)
    return render_template(
        "admin/recommendations/index.html",
        settings=settings,
        chosen=catalogue_cards(shop.id, chosen_ids),
        report=report,
        labels={code: t(request_locale(), key) for code, key in PLACEMENT_LABELS.items()},
        placements=PLACEMENTS,
        products_total=counts[0],
        products_recommendable=counts[1],
        sync=sync_progress(latest_sync(db.session, shop.id)),
        report_days=REPORT_DAYS,
        **page_context(),
    )


def _id_list(raw: Any) -> list[int] | None:
    """'123, 456' or [123, 456] -> [123, 456]; None when any entry is not a product id."""
    items = raw if isinstance(raw, list) else [p for p in re.split(r"[\s,]+", str(raw or "")) if p]
    ids: list[int] = []
    for item in items:
        text = str(item).strip()
        if text.startswith("gid://shopify/Product/"):
            text = text.rsplit("/", 1)[-1]
        if not text.isdigit() or len(text) > 19:
            return None
        if int(text) not in ids:
            ids.append(int(text))
    return ids if len(ids) <= MAX_IDS else None


def validate_settings(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings a form carries, checked for shape; `errors` maps a field to a catalog key
    (`admin.recs.err.*`, values `{max}`). Whether the products are the shop's own is `unknown_products`."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    values["is_enabled"] = str(data.get("is_enabled", "")).lower() in ("1", "true", "on", "yes")
    excluded = _id_list(data.get("excluded_product_ids", ""))
    if excluded is None:
        errors["excluded_product_ids"] = "admin.recs.err.ids"
    values["excluded_product_ids"] = excluded or []
    pins: dict[str, list[int]] = {}
    for placement in PLACEMENTS:
        found = _id_list(data.get(f"pins_{placement}", ""))
        if found is None:
            errors[f"pins_{placement}"] = "admin.recs.err.ids"
        elif found:
            pins[placement] = found
    values["pins"] = pins
    code = str(data.get("discount_code") or "").strip()
    if code and not _DISCOUNT_CODE.match(code):
        errors["discount_code"] = "admin.recs.err.discount_code"
    values["discount_code"] = code or None
    window = str(data.get("attribution_window_days") or "").strip()
    if not window.isdigit() or not 1 <= int(window) <= MAX_WINDOW_DAYS:
        errors["attribution_window_days"] = "admin.recs.err.window"
    else:
        values["attribution_window_days"] = int(window)
    return values, errors


def unknown_products(shop_id: int, values: dict[str, Any]) -> dict[str, list[int]]:
    """Field -> the chosen product ids that are not in this shop's synced catalogue (another shop's product,
    a deleted one, or a made-up id). One indexed query for every field."""
    fields = {"excluded_product_ids": values["excluded_product_ids"]}
    fields.update({f"pins_{placement}": ids for placement, ids in values["pins"].items()})
    wanted = {i for ids in fields.values() for i in ids}
    if not wanted:
        return {}
    known = set(
        db.session.execute(
            select(CatalogProduct.shopify_product_id).where(
                CatalogProduct.shop_id == shop_id,
                CatalogProduct.shopify_product_id.in_(wanted),
                CatalogProduct.deleted_at.is_(None),
            )
        ).scalars()
    )
    return {field: missing for field, ids in fields.items() if (missing := [i for i in ids if i not in known])}


def _image_src(url: str | None) -> str:
    """A product picture safe to put in an `src`: an http(s) address, or the demo's inline image."""
    if url and url.startswith("data:image/"):
        return url
    return http_url(url)


def _card(product: CatalogProduct) -> dict[str, Any]:
    return {
        "id": product.shopify_product_id,
        "title": product.title,
        "image_url": _image_src(product.image_url),
        "is_recommendable": product.status == "active" and product.is_published and product.is_available,
    }


def catalogue_cards(shop_id: int, product_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Shopify product id -> title, picture and whether it can be shown, for the shop's own products."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(CatalogProduct).where(
            CatalogProduct.shop_id == shop_id,
            CatalogProduct.shopify_product_id.in_(set(product_ids)),
            CatalogProduct.deleted_at.is_(None),
        )
    ).scalars()
    return {row.shopify_product_id: _card(row) for row in rows}


def search_catalogue(shop_id: int, text: str, limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
    """The shop's products whose title contains `text` (any case), titles starting with it first, then A-Z.
    LIKE's wildcards in the text are matched as themselves. Scoped by the (shop_id, ...) index."""
    text = " ".join(text.split())[:MAX_QUERY]
    query = select(CatalogProduct).where(CatalogProduct.shop_id == shop_id, CatalogProduct.deleted_at.is_(None))
    order: list[Any] = []
    if text:
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        title = func.lower(CatalogProduct.title)
        query = query.where(title.like(f"%{escaped}%", escape="\\"))
        order.append(title.like(f"{escaped}%", escape="\\").desc())
    order.extend([func.lower(CatalogProduct.title), CatalogProduct.shopify_product_id])
    rows = db.session.execute(query.order_by(*order).limit(limit)).scalars()
    return [_card(row) for row in rows]


@recommendations_admin_bp.get("/api/products")
@admin_required
def search_products_json():
    """The product picker's search: the shop's synced products by title, with their pictures."""
    return jsonify(products=search_catalogue(g.admin.shop.id, str(request.args.get("q") or "")))


@recommendations_admin_bp.post("/api/settings")
@admin_required
def save_settings_json():
    locale = request_locale()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error="invalid", fields={"body": t(locale, "admin.recs.err.body")}), 400
    values, errors = validate_settings(data)
    fields = {
        field: t(locale, key, max=MAX_IDS if key == "admin.recs.err.ids" else MAX_WINDOW_DAYS)
        for field, key in errors.items()
    }
    if not errors:
        for field, missing in unknown_products(g.admin.shop.id, values).items():
            fields[field] = t(locale, "admin.recs.err.unknown_products", ids=", ".join(str(i) for i in missing))
    if fields:
        return jsonify(error="invalid", fields=fields), 400
    settings = _settings(g.admin.shop.id)
    for name, value in values.items():
        setattr(settings, name, value)
    db.session.commit()
    return jsonify(status="saved")


@recommendations_admin_bp.get("/api/sync")
@admin_required
def sync_status_json():
    return jsonify(sync=sync_progress(latest_sync(db.session, g.admin.shop.id)))


@recommendations_admin_bp.post("/api/sync")
@admin_required
def start_sync_json():
    from app.recommendations.jobs import queue_catalog_sync

    running = latest_sync(db.session, g.admin.shop.id)
    if running is not None and running.status in ("starting", "running", "importing"):
        return jsonify(error="already_running", sync=sync_progress(running)), 409
    queue_catalog_sync(g.admin.shop.id)
    return jsonify(status="queued"), 202


@recommendations_admin_bp.post("/api/rebuild")
@admin_required
def rebuild_json():
    from app.recommendations.jobs import queue_rebuild

    queue_rebuild(g.admin.shop.id)
    return jsonify(status="queued"), 202


@recommendations_admin_bp.get("/api/report")
@admin_required
def report_json():
    rows = placement_report(db.session, g.admin.shop.id, utcnow() - timedelta(days=REPORT_DAYS))
    return jsonify(
        days=REPORT_DAYS,
        placements=[{**row, "revenue": str(row["revenue"])} for row in rows],
    )


# --- CLI -------------------------------------------------------------------------------------------------


def progress_bar(done: int, total: int | None, width: int = 30) -> str:
    if not total:
        return "[" + "?" * 3 + " " * (width - 3) + f"] {done}"
    filled = min(width, int(width * done / total))
    return "[" + "#" * filled + "." * (width - filled) + f"] {done}/{total}"


@recommendations_cli_bp.cli.command("sync")
@click.option("--shop", "shop_domain", required=True, help="the shop's myshopify.com domain")
@click.option("--poll-every", default=2.0, show_default=True, help="seconds between status checks")
def sync_command(shop_domain: str, poll_every: float) -> None:
    """Bulk-sync a shop's catalogue now, with a progress bar, then rebuild its models."""
    from app.recommendations import catalog, model_build
    from app.shopify.graphql import AdminClient
    from app.shopify.shops import get_shop

    shop = get_shop(db.session, shop_domain)
    if shop is None:
        raise click.ClickException(f"no shop {shop_domain}")

    def show(sync: CatalogSync) -> None:
        label = "importing" if sync.status == "importing" else "exporting"
        total = sync.object_count if sync.status == "importing" else None
        done = sync.imported_lines if sync.status == "importing" else sync.object_count
        sys.stdout.write(f"\r{label} {progress_bar(done, total)} lines, {sync.imported_products} products ")
        sys.stdout.flush()

    with AdminClient(shop.id) as client:
        try:
            sync = catalog.start_bulk_sync(db.session, shop.id, client)
        except catalog.BulkSyncError as exc:
            raise click.ClickException(str(exc)) from exc
        while catalog.poll_bulk_sync(db.session, sync, client, on_progress=show) == "running":
            show(sync)
            time.sleep(poll_every)
    show(sync)
    click.echo()
    if sync.status != "completed":
        raise click.ClickException(f"sync {sync.status}: {sync.error}")
    counts = model_build.rebuild_models(db.session, shop.id)
    click.echo(f"imported {sync.imported_products} products; models rebuilt from {counts['orders']} orders")


@recommendations_cli_bp.cli.command("rebuild")
@click.option("--shop", "shop_domain", required=True)
def rebuild_command(shop_domain: str) -> None:
    """Recompute a shop's recommendation models from all its orders."""
    from app.recommendations import model_build
    from app.shopify.shops import get_shop

    shop = get_shop(db.session, shop_domain)
    if shop is None:
        raise click.ClickException(f"no shop {shop_domain}")
    started = time.perf_counter()
    counts = model_build.rebuild_models(db.session, shop.id)
    click.echo(f"rebuilt in {time.perf_counter() - started:.1f}s: {counts}")
