"""The merchant's audience kit: the embedded admin under /app.

What every feature's admin pages share: the session-token check (`admin_required`), the page context with
the navigation the wiring lists (`page_context`), the admin's language (the `locale` Shopify passes on the App
Home request, carried on every admin link) and the shop's time zone for dates (`admin_time`, `admin_day`),
the look (Polaris web components from Shopify's CDN, with `static/admin.css` styling the same markup when the
CDN cannot load), the shop-scoped order lookup (`shop_order`); and the core's own pages: orders, webhook
deliveries and privacy requests. It knows no feature: each feature's pages live in its own `admin.py`, on this
kit.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from babel.dates import format_date
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from sqlalchemy import func, select

from app.admin.models import OrderActivity, SetupTick
from app.extensions import db
from app.i18n import N_, format_moment, negotiate_locale, request_locale, t, zone
from app.orders.models import Fulfillment, Order
from app.orders.queries import (
    STATUS_FILTERS,
    OrderSearch,
    carriers_in_use,
    iter_search_pages,
    search_orders,
    shipments_by_order,
)
from app.registry import registry
from app.shopify.auth import admin_required
from app.shopify.inbox import retry_failed_event
from app.shopify.models import ComplianceRequest, Shop, WebhookEvent
from app.shopify.sdk import request_input, shopify_app, to_flask_response

__all__ = [
    "admin_bp",
    "admin_day",
    "admin_locale",
    "admin_required",
    "admin_time",
    "back_to",
    "field_errors",
    "label",
    "locale_arg",
    "page_context",
    "settings_form",
    "shop_order",
    "wants_json",
]

admin_bp = Blueprint("admin", __name__, url_prefix="/app", static_folder="static", static_url_path="/static")

# Codes the core's pages show, as readable labels (`label("admin.payment.", code)`).
N_("admin.payment.authorized"), N_("admin.payment.paid"), N_("admin.payment.partially_paid")
N_("admin.payment.partially_refunded"), N_("admin.payment.pending"), N_("admin.payment.refunded")
N_("admin.payment.voided"), N_("admin.payment.expired")
N_("admin.fulfilment.fulfilled"), N_("admin.fulfilment.partial"), N_("admin.fulfilment.restocked")
N_("admin.fulfilment.unfulfilled")
N_("admin.shipment.success"), N_("admin.shipment.pending"), N_("admin.shipment.open"), N_("admin.shipment.cancelled")
N_("admin.shipment.error"), N_("admin.shipment.failure")
N_("admin.event.received"), N_("admin.event.processing"), N_("admin.event.processed"), N_("admin.event.failed")
N_("admin.event.ignored")
N_("admin.privacy.customers/data_request"), N_("admin.privacy.customers/redact"), N_("admin.privacy.shop/redact")
N_("admin.privacy.status.received"), N_("admin.privacy.status.completed"), N_("admin.privacy.status.failed")
N_("admin.privacy.status.pending")


def label(prefix: str, code: str | None, empty: str = "—") -> str:
    """A code stored in the database (`paid`, `return_declined`) as the merchant reads it, in their language:
    the catalog's `prefix + code` (declared with N_ beside the code), else the code itself, never a key."""
    if not code:
        return empty
    key = f"{prefix}{code}"
    text = t(admin_locale(), key)
    return code.replace("_", " ") if text == key else text


def admin_locale() -> str:
    """The admin's language: the `locale` Shopify passes to the App Home (`th-TH`), else the browser's."""
    return request_locale()


@admin_bp.app_url_defaults
def carry_locale(endpoint: str, values: dict[str, Any]) -> None:
    """Keep the admin's language across navigation: a link from an admin page to another admin page carries the
    `locale` the page was opened with (there are no cookies in the admin's iframe)."""
    if not has_request_context() or "locale" in values or not request.path.startswith("/app"):
        return
    asked = request.args.get("locale")
    if not asked or endpoint.endswith("static"):
        return
    if any(rule.rule.startswith("/app") for rule in current_app.url_map.iter_rules(endpoint)):
        values["locale"] = negotiate_locale(asked)


def _shop_zone():
    shop = getattr(g, "admin", None) and g.admin.shop
    return zone(shop.iana_timezone if shop else None)


def admin_time(value: datetime | None) -> str:
    """A moment in the shop's time zone and the admin's language ("Thu 12 Nov, 14:05"; Thai month names)."""
    if value is None:
        return "—"
    if value.tzinfo is None:  # stored as UTC
        value = value.replace(tzinfo=UTC)
    return format_moment(value, admin_locale(), _shop_zone())


def admin_day(value: datetime | date | None) -> str:
    """A day in the shop's time zone and the admin's language."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        if value.tzinfo is None:  # stored as UTC
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(_shop_zone()).date()
    return format_date(value, "medium", locale=admin_locale())


@admin_bp.get("/patch-id-token")
def patch_id_token():
    """The page App Bridge uses to fetch a fresh ID token and reload the app with it."""
    return to_flask_response(shopify_app().app_home_patch_id_token(request_input()).response)


def page_context() -> dict:
    """What every admin page's layout needs: the shop, App Bridge's key and token, the navigation, the
    language, and the helpers that show codes and dates as the merchant reads them."""
    return {
        "shop": g.admin.shop,
        "api_key": current_app.config["SETTINGS"].shopify_api_key,
        "is_demo": g.admin.is_demo,
        "id_token": g.admin.id_token,
        "admin_nav": registry().admin_nav,
        "locale": admin_locale(),
        "label": label,
        "when": admin_time,
        "day": admin_day,
    }


def first_webhook_received(shop: Shop) -> bool:
    """The setup guide: Shopify has sent this shop's first webhook (the app's subscriptions work)."""
    return (
        db.session.execute(select(WebhookEvent.id).where(WebhookEvent.shop_id == shop.id).limit(1)).first() is not None
    )


def reconciliation_ran(shop: Shop) -> bool:
    """The setup guide: the shop's orders were read from Shopify at least once (history, missed webhooks)."""
    return shop.last_synced_at is not None


def setup_guide(shop: Shop) -> list[dict[str, Any]]:
    """The home page's checklist, from the wiring's SETUP_STEPS: each step's real state now."""
    ticks = {
        tick.step: tick for tick in db.session.execute(select(SetupTick).where(SetupTick.shop_id == shop.id)).scalars()
    }
    rows = []
    for step in registry().setup_steps:
        tick = ticks.get(step.key)
        done = tick is not None if step.tickable else bool(step.check and step.check(shop))
        rows.append({"step": step, "done": done, "tick": tick})
    return rows


@admin_bp.post("/setup/<step>/tick")
@admin_required
def tick_setup_step(step: str):
    """The merchant says a step the app cannot see is done (or not): kept with who and when."""
    if step not in {s.key for s in registry().setup_steps if s.tickable}:
        abort(404)
    shop_id = g.admin.shop.id
    found = db.session.execute(
        select(SetupTick).where(SetupTick.shop_id == shop_id, SetupTick.step == step)
    ).scalar_one_or_none()
    if found is None:
        db.session.add(SetupTick(shop_id=shop_id, step=step, ticked_by=(g.admin.user_id or "")[:255]))
    else:
        db.session.delete(found)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(step=step, done=found is None)
    return redirect(url_for("admin.home"))


@admin_bp.get("")
@admin_bp.get("/")
@admin_required
def home():
    shop = g.admin.shop
    orders = (
        db.session.execute(
            select(Order)
            .where(Order.shop_id == shop.id)
            .order_by(Order.shopify_created_at.desc(), Order.id.desc())
            .limit(10)
        )
        .scalars()
        .all()
    )
    counts = dict(
        db.session.execute(
            select(WebhookEvent.status, func.count())
            .where(WebhookEvent.shop_id == shop.id)
            .group_by(WebhookEvent.status)
        ).all()
    )
    failed = (
        db.session.execute(
            select(WebhookEvent)
            .where(WebhookEvent.shop_id == shop.id, WebhookEvent.status == "failed")
            .order_by(WebhookEvent.id.desc())
            .limit(20)
        )
        .scalars()
        .all()
    )
    cleaned = (
        db.session.execute(
            select(WebhookEvent)
            .where(
                WebhookEvent.shop_id == shop.id,
                WebhookEvent.status == "processed",
                WebhookEvent.notes.is_not(None),
            )
            .order_by(WebhookEvent.id.desc())
            .limit(20)
        )
        .scalars()
        .all()
    )
    requests_ = (
        db.session.execute(
            select(ComplianceRequest)
            .where(ComplianceRequest.shop_id == shop.id)
            .order_by(ComplianceRequest.id.desc())
            .limit(20)
        )
        .scalars()
        .all()
    )
    return render_template(
        "admin/home.html",
        setup=setup_guide(shop),
        orders=orders,
        shipments=shipments_by_order(db.session, shop.id, orders),
        tz=zone(shop.iana_timezone),
        format_moment=format_moment,
        event_counts=counts,
        failed_events=failed,
        cleaned_events=cleaned,
        compliance_requests=requests_,
        **page_context(),
    )


def shop_order(order_id: int) -> Order:
    """The signed-in shop's order with this id, or 404 (another shop's id is a 404 too)."""
    order = db.session.execute(
        select(Order).where(Order.id == order_id, Order.shop_id == g.admin.shop.id)
    ).scalar_one_or_none()
    if order is None:
        abort(404)
    return order


NOTE_MAX = 4000
ACTIVITY_KEYS = (  # how the order page's activity shows each action (`admin.activity.<action>`)
    N_("admin.activity.note"),
    N_("admin.activity.resend"),
    N_("admin.activity.tracking_link"),
    N_("admin.activity.paused"),
    N_("admin.activity.resumed"),
    N_("admin.activity.lost"),
    N_("admin.activity.reshipped"),
)


def acting_user() -> str:
    """Who is acting in the admin: the merchant user's id from the session token (the demo's owner)."""
    return (g.admin.user_id or "unknown")[:255]


def record_activity(
    session,
    order: Order,
    action: str,
    *,
    detail: dict[str, Any] | None = None,
    note: str | None = None,
) -> OrderActivity:
    """Write one line of the order's audit trail (who, when, what), in the caller's transaction."""
    row = OrderActivity(
        shop_id=order.shop_id,
        shopify_order_id=order.shopify_order_id,
        action=action,
        detail=detail,
        note=note,
        actor=acting_user(),
    )
    session.add(row)
    return row


def order_activity(order: Order, limit: int = 100) -> list[OrderActivity]:
    return list(
        db.session.execute(
            select(OrderActivity)
            .where(OrderActivity.shop_id == order.shop_id, OrderActivity.shopify_order_id == order.shopify_order_id)
            .order_by(OrderActivity.created_at.desc(), OrderActivity.id.desc())
            .limit(limit)
        ).scalars()
    )


def action_answer(order: Order, ok: bool, message: str, status: int = 200):
    """A one-click action's answer: JSON for the page's fetch (a toast), or back to the order page."""
    if wants_json():
        return jsonify(ok=ok, message=message), status
    if not ok:
        return jsonify(ok=ok, message=message), status
    return redirect(url_for("admin.order_detail", order_id=order.id))


# --------------------------------------------------------------------------- settings forms and their answers


def wants_json() -> bool:
    """The page's fetch asked (an answer as JSON), not a plain form post (a redirect back)."""
    return request.accept_mimetypes.best == "application/json" or request.is_json


def locale_arg() -> dict[str, str]:
    """The `locale` this request was opened with, as given, for the redirect back to the page."""
    return {"locale": request.args["locale"]} if request.args.get("locale") else {}


def back_to(endpoint: str) -> Response:
    """Back to an admin page after a plain form post, in the language it was opened in."""
    return redirect(url_for(endpoint, **locale_arg()))


def field_errors(errors: dict[str, str]):
    """A save's answer when fields are wrong: each field's message key, in the admin's language, with a 422."""
    locale = request_locale()
    return jsonify(errors={field: t(locale, key) for field, key in errors.items()}), 422


def settings_form(lists: dict[str, str] | None = None, ticks: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A save's fields: the JSON object (None when the body is not one), or the posted form, one value a field.
    `lists` maps a many-valued field (checkboxes) to the hidden marker the page sends with it: the field is a list
    only when the marker came (no box ticked still says "none"), and the marker is dropped. Each of `ticks` is a
    single checkbox: with its `<name>_shown` marker it becomes True or False."""
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else None
    lists = lists or {}
    form: dict[str, Any] = {key: request.form.get(key) for key in request.form if key not in lists}
    for name, marker in lists.items():
        if marker in request.form:
            form[name] = request.form.getlist(name)
        form.pop(marker, None)
    for name in ticks:
        if f"{name}_shown" in request.form:
            form[name] = name in request.form
        form.pop(f"{name}_shown", None)
    return form


@admin_bp.post("/orders/<int:order_id>/notes")
@admin_required
def add_order_note(order_id: int):
    order = shop_order(order_id)
    locale = request_locale()
    text = (request.form.get("note") or (request.get_json(silent=True) or {}).get("note") or "").strip()
    if not text or len(text) > NOTE_MAX:
        return jsonify(ok=False, message=t(locale, "admin.activity.note_invalid", max=NOTE_MAX)), 422
    record_activity(db.session, order, "note", note=text)
    db.session.commit()
    return action_answer(order, True, t(locale, "admin.activity.note_saved"))


@admin_bp.get("/orders/<int:order_id>")
@admin_required
def order_detail(order_id: int):
    order = shop_order(order_id)
    fulfillments = (
        db.session.execute(
            select(Fulfillment)
            .where(Fulfillment.shop_id == order.shop_id, Fulfillment.shopify_order_id == order.shopify_order_id)
            .order_by(Fulfillment.shopify_created_at)
        )
        .scalars()
        .all()
    )
    # The features' parts of the page (the wiring's ORDER_PANELS): parcels, alerts, messages, returns.
    panels = []
    for panel in registry().order_panels:
        values = panel.build(order)
        if values is not None:
            panels.append((panel.template, values))
    return render_template(
        "admin/order.html",
        order=order,
        fulfillments=fulfillments,
        panels=panels,
        activity=order_activity(order),
        action_token=secrets.token_urlsafe(12),  # one per page view: a double click is one action
        **page_context(),
    )


@admin_bp.get("/api/orders/<int:order_id>")
@admin_required
def order_json(order_id: int):
    order = shop_order(order_id)
    return jsonify(
        id=order.id,
        name=order.name,
        email=order.email,
        financial_status=order.financial_status,
        fulfillment_status=order.fulfillment_status,
        total_price=str(order.total_price) if order.total_price is not None else None,
        currency=order.currency,
    )


@admin_bp.get("/api/webhook-events")
@admin_required
def webhook_events_json():
    status = request.args.get("status")
    query = select(WebhookEvent).where(WebhookEvent.shop_id == g.admin.shop.id)
    if status:
        query = query.where(WebhookEvent.status == status)
    events = db.session.execute(query.order_by(WebhookEvent.id.desc()).limit(100)).scalars()
    return jsonify(
        events=[
            {
                "id": e.id,
                "topic": e.topic,
                "status": e.status,
                "error": e.error,
                "notes": e.notes or [],
                "attempts": e.attempts,
                "received_at": e.received_at.isoformat(),
            }
            for e in events
        ]
    )


@admin_bp.post("/webhook-events/<int:event_id>/retry")
@admin_required
def retry_event(event_id: int):
    if not retry_failed_event(db.session, g.admin.shop.id, event_id):
        abort(404)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(status="queued")
    return redirect(url_for("admin.home"))


@admin_bp.get("/compliance/<int:request_id>.json")
@admin_required
def compliance_report(request_id: int):
    record = db.session.execute(
        select(ComplianceRequest).where(
            ComplianceRequest.id == request_id, ComplianceRequest.shop_id == g.admin.shop.id
        )
    ).scalar_one_or_none()
    if record is None:
        abort(404)
    return jsonify(
        topic=record.topic,
        status=record.status,
        created_at=record.created_at.isoformat(),
        completed_at=record.completed_at.isoformat() if record.completed_at else None,
        report=record.report,
    )


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _printable(raw: str | None) -> str:
    return "".join(ch for ch in raw or "" if ch.isprintable())


def _order_search() -> OrderSearch:
    args = request.args
    status = args.get("status") or None
    return OrderSearch(
        text=_printable(args.get("q"))[:200],
        status=status if status in STATUS_FILTERS else None,
        carrier=_printable(args.get("carrier"))[:32] or None,
        placed_from=_day(args.get("from")),
        placed_to=_day(args.get("to")),
    )


def _search_args(search: OrderSearch) -> dict[str, str]:
    """The filters as query parameters, to carry onto the next page and the CSV link."""
    values = {
        "q": search.text,
        "status": search.status or "",
        "carrier": search.carrier or "",
        "from": search.placed_from.isoformat() if search.placed_from else "",
        "to": search.placed_to.isoformat() if search.placed_to else "",
        "locale": request.args.get("locale", ""),
    }
    return {key: value for key, value in values.items() if value}


@admin_bp.get("/orders")
@admin_required
def orders_page():
    """Find any order in one step: one box (order name or number, email, phone, tracking number, customer name),
    filters, newest first, page by page."""
    shop = g.admin.shop
    search = _order_search()
    tz = zone(shop.iana_timezone)
    page = search_orders(db.session, shop.id, search, tz, cursor=request.args.get("after"))
    return render_template(
        "admin/orders.html",
        search=search,
        page=page,
        shipments=shipments_by_order(db.session, shop.id, page.orders),
        carriers=carriers_in_use(db.session, shop.id),
        status_filters=STATUS_FILTERS,
        search_args=_search_args(search),
        is_first_page=not request.args.get("after"),
        tz=tz,
        format_moment=format_moment,
        **page_context(),
    )


def _status_label(locale: str, status: str | None) -> str:
    return t(locale, f"status.{status}") if status else ""


def _parcel_text(locale: str, parcel: Fulfillment) -> str:
    return " ".join(
        filter(None, (parcel.carrier_name, parcel.tracking_number, _status_label(locale, parcel.shipment_state)))
    )


def _spreadsheet_safe(cells: list[str]) -> list[str]:
    """Shopper-typed text opened in a spreadsheet must not run as a formula (`=HYPERLINK(...)`): such cells
    start with a quote, as OWASP's CSV-injection advice says."""
    return ["'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell for cell in cells]


CSV_COLUMNS = {  # column -> its heading's catalog key
    "order": N_("admin.orders.csv.order"),
    "placed": N_("admin.orders.csv.placed"),
    "customer": N_("admin.orders.csv.customer"),
    "email": N_("admin.orders.csv.email"),
    "phone": N_("admin.orders.csv.phone"),
    "status": N_("admin.orders.csv.status"),
    "parcels": N_("admin.orders.csv.parcels"),
    "total": N_("admin.orders.csv.total"),
    "currency": N_("admin.orders.csv.currency"),
}


@admin_bp.get("/orders.csv")
@admin_required
def orders_csv():
    """The filtered list as CSV, every matching order (read a chunk at a time, streamed)."""
    shop = g.admin.shop
    search = _order_search()
    tz = zone(shop.iana_timezone)
    locale = request_locale()
    shop_id = shop.id

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([t(locale, key) for key in CSV_COLUMNS.values()])
        for orders in iter_search_pages(db.session, shop_id, search, tz):
            parcels = shipments_by_order(db.session, shop_id, orders)
            for order in orders:
                writer.writerow(
                    _spreadsheet_safe(
                        [
                            order.name,
                            order.shopify_created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                            order.customer_name or "",
                            order.email or "",
                            order.phone or "",
                            _status_label(locale, order.status),
                            "; ".join(_parcel_text(locale, p) for p in parcels[order.shopify_order_id]),
                            str(order.total_price) if order.total_price is not None else "",
                            order.currency or "",
                        ]
                    )
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            db.session.expunge_all()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="orders-{date.today().isoformat()}.csv"'},
    )
