"""The merchant's analytics dashboard in the embedded admin (/app/analytics), on the admin kit: a range of the
shop's local days against the previous period of the same length, charts with their tables, CSV downloads of
those tables, the published formulas, the settings behind the estimates, and the history backfill."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from app.admin import admin_required, page_context
from app.analytics import report
from app.analytics.models import Backfill
from app.analytics.queries import previous_range
from app.analytics.services import analytics_settings, save_settings, start_backfill, today_for, validate_settings
from app.extensions import db
from app.i18n import N_, request_locale, t

analytics_admin_bp = Blueprint("analytics_admin", __name__, url_prefix="/app")

PRESETS = (7, 30, 90, 365)
MAX_RANGE_DAYS = 3 * 366
ERROR_KEYS = (
    N_("analytics.error.cost"),
    N_("analytics.error.share"),
    N_("analytics.error.email"),
    N_("analytics.error.locale"),
    N_("analytics.error.range"),
    N_("analytics.error.body"),
)


class RangeError(ValueError):
    pass


def _range(today: date) -> tuple[date, date]:
    """The range asked for: `from`/`to` (ISO dates, inclusive) or `days` back from today; 30 days by default."""
    try:
        if request.args.get("from") or request.args.get("to"):
            first = date.fromisoformat(request.args.get("from", ""))
            last = date.fromisoformat(request.args.get("to", ""))
        else:
            days = int(request.args.get("days", 30))
            if days < 1:
                raise ValueError
            first, last = today - timedelta(days=days - 1), today
    except ValueError as error:
        raise RangeError from error
    if first > last or (last - first).days + 1 > MAX_RANGE_DAYS:
        raise RangeError
    return first, last


def _locale_arg() -> dict[str, str]:
    return {"locale": request.args["locale"]} if request.args.get("locale") else {}


def _range_error() -> Response:
    response = jsonify(error=t(request_locale(), "analytics.error.range"))
    response.status_code = 400
    return response


@analytics_admin_bp.get("/analytics")
@admin_required
def analytics_page():
    """The dashboard: every section's figures against the previous period, its charts and tables."""
    shop = g.admin.shop
    try:
        first, last = _range(today_for(shop))
    except RangeError:
        return _range_error()
    settings = analytics_settings(db.session, shop.id)
    locale = request_locale()
    sections = report.build(db.session, shop.id, shop.currency or "USD", settings, first, last, locale)
    backfill = db.session.execute(select(Backfill).where(Backfill.shop_id == shop.id)).scalar_one_or_none()
    prev_first, prev_last = previous_range(first, last)
    f = report.Formatter(locale, shop.currency or "USD")
    return render_template(
        "admin/analytics/page.html",
        sections=sections,
        first=first,
        last=last,
        period=f._("analytics.period", first=f.day(first, True), last=f.day(last, True)),
        previous=f._("analytics.previous", first=f.day(prev_first, True), last=f.day(prev_last, True)),
        presets=PRESETS,
        settings=settings,
        share_percent=f.num(float(settings.contact_share) * 100, 1),
        backfill=backfill.progress() if backfill else None,
        **page_context(),
    )


@analytics_admin_bp.get("/analytics/export/<table_id>.csv")
@admin_required
def export_table(table_id: str):
    """One table of the dashboard as CSV, exactly as the page shows it (same range, language and formats)."""
    shop = g.admin.shop
    try:
        first, last = _range(today_for(shop))
    except RangeError:
        return _range_error()
    settings = analytics_settings(db.session, shop.id)
    sections = report.build(
        db.session, shop.id, shop.currency or "USD", settings, first, last, request_locale(), charts=False
    )
    table = report.find_table(sections, table_id)
    if table is None:
        abort(404)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{table_id}-{first}-{last}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@analytics_admin_bp.get("/analytics/metrics")
@admin_required
def metrics_page():
    """The published definitions (docs/metrics.md), shown in the admin as written."""
    path = Path(current_app.root_path).parent / "docs" / "metrics.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return render_template(
        "admin/analytics/metrics.html",
        text=text,
        back_url=url_for("analytics_admin.analytics_page", **_locale_arg()),
        **page_context(),
    )


@analytics_admin_bp.post("/api/analytics/settings")
@admin_required
def save_analytics_settings():
    locale = request_locale()
    if request.is_json:
        form = request.get_json(silent=True)
        if not isinstance(form, dict):
            return jsonify(error=t(locale, "analytics.error.body")), 400
    else:
        form = request.form.to_dict()
    clean, errors = validate_settings(form)
    if errors:
        return jsonify(errors={field: t(locale, key) for field, key in errors.items()}), 422
    save_settings(db.session, g.admin.shop.id, clean)
    db.session.commit()
    if request.is_json:
        return jsonify(saved=True)
    return redirect(url_for("analytics_admin.analytics_page", **_locale_arg()))


@analytics_admin_bp.post("/analytics/backfill")
@admin_required
def backfill():
    """Roll up the shop's history (two years at most) in the background; the page shows its progress."""
    progress = start_backfill(db.session, g.admin.shop).progress()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(progress)
    return redirect(url_for("analytics_admin.analytics_page", **_locale_arg()))


@analytics_admin_bp.get("/api/analytics/backfill")
@admin_required
def backfill_progress():
    row = db.session.execute(select(Backfill).where(Backfill.shop_id == g.admin.shop.id)).scalar_one_or_none()
    return jsonify(row.progress() if row else {"status": "none"})
