"""The merchant's returns pages in the embedded admin (/app/returns): list with filters, detail with actions,
and the policy editor (rules, loyalty tiers and their perks) with the simulator before publishing."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from app.admin import admin_required, label, page_context
from app.extensions import db
from app.i18n import N_, request_locale, t
from app.orders.models import Order
from app.returns.models import STATUSES, ReturnFile, ReturnRequest, ReturnStep, ReturnSyncOp
from app.returns.policy_form import (
    OFFERED_RESOLUTIONS,
    OPERATOR_KINDS,
    apply_action,
    check_form,
    form_from_policy,
    form_from_post,
)
from app.returns.rules import CONDITION_FIELDS, RESOLUTIONS, Explanation, PolicyError, policy_from_dict
from app.returns.services import (
    DECLINE_REASONS,
    LABEL_TYPES,
    MAX_LABEL_BYTES,
    ReturnInputError,
    TransitionError,
    Upload,
    add_tracking,
    approve_return,
    check_upload,
    close_return,
    decline_return,
    get_return,
    mark_inspected,
    mark_received,
    policy_row,
    publish_draft,
    resolve_return,
    retry_failed_sync,
    save_draft,
)
from app.returns.simulator import simulate
from app.returns.tracking import scans_for

returns_admin_bp = Blueprint("returns_admin", __name__, url_prefix="/app/returns")

# The codes these pages show, as the merchant reads them (`label("admin.returns.status.", status)`).
N_("admin.returns.status.requested"), N_("admin.returns.status.approved"), N_("admin.returns.status.declined")
N_("admin.returns.status.awaiting_shipment"), N_("admin.returns.status.in_transit")
N_("admin.returns.status.received"), N_("admin.returns.status.inspected"), N_("admin.returns.status.resolved")
N_("admin.returns.status.closed"), N_("admin.returns.status.canceled")
N_("admin.returns.source.portal"), N_("admin.returns.source.shopify")
N_("admin.returns.decline.RETURN_PERIOD_ENDED"), N_("admin.returns.decline.FINAL_SALE")
N_("admin.returns.decline.OTHER")
N_("admin.returns.actor.shopper"), N_("admin.returns.actor.merchant"), N_("admin.returns.actor.shopify")
N_("admin.returns.actor.system")
N_("admin.returns.op.create"), N_("admin.returns.op.approve"), N_("admin.returns.op.decline")
N_("admin.returns.op.reverse_delivery"), N_("admin.returns.op.process"), N_("admin.returns.op.credit")
N_("admin.returns.op_status.pending"), N_("admin.returns.op_status.sending"), N_("admin.returns.op_status.done")
N_("admin.returns.op_status.failed")
N_("admin.returns.file.label"), N_("admin.returns.file.photo")
# The policy form's lists and the engine's problems (rules.PolicyError.reasons), in the merchant's language.
(
    N_("admin.policy.field.days_since_delivery"),
    N_("admin.policy.field.product_tags"),
    N_("admin.policy.field.product_type"),
)
N_("admin.policy.field.collections"), N_("admin.policy.field.is_final_sale"), N_("admin.policy.field.discount_percent")
(
    N_("admin.policy.field.order_value"),
    N_("admin.policy.field.destination_country"),
    N_("admin.policy.field.customer_tags"),
)
N_("admin.policy.field.tier"), N_("admin.policy.field.past_return_count"), N_("admin.policy.field.past_return_rate")
N_("admin.policy.op.eq"), N_("admin.policy.op.ne"), N_("admin.policy.op.gt"), N_("admin.policy.op.gte")
N_("admin.policy.op.lt"), N_("admin.policy.op.lte"), N_("admin.policy.op.in"), N_("admin.policy.op.not_in")
N_("admin.policy.op.contains_any"), N_("admin.policy.op.contains_none"), N_("admin.policy.op.is_true")
N_("admin.policy.op.is_false"), N_("admin.policy.review.manual"), N_("admin.policy.review.auto")
N_("admin.policy.err.number_from"), N_("admin.policy.err.number_range"), N_("admin.policy.err.whole_number")
N_("admin.policy.err.resolutions"), N_("admin.policy.err.condition"), N_("admin.policy.err.condition_field")
N_("admin.policy.err.condition_op"), N_("admin.policy.err.review"), N_("admin.policy.err.message")
N_("admin.policy.err.rule"), N_("admin.policy.err.tier_code"), N_("admin.policy.err.tier_codes_unique")
N_("admin.policy.err.true_false"), N_("admin.policy.err.object"), N_("admin.policy.err.required")
N_("admin.policy.err.choice"), N_("admin.policy.err.number"), N_("admin.policy.err.json")


def _actor() -> str:
    return f"merchant:{g.admin.user_id or 'unknown'}"


def _shop_return(return_id: int) -> ReturnRequest:
    found = get_return(db.session, g.admin.shop.id, return_id)
    if found is None:
        abort(404)
    return found


@returns_admin_bp.get("")
@returns_admin_bp.get("/")
@admin_required
def list_returns():
    shop_id = g.admin.shop.id
    query = select(ReturnRequest).where(ReturnRequest.shop_id == shop_id)
    status = request.args.get("status")
    if status in STATUSES:
        query = query.where(ReturnRequest.status == status)
    source = request.args.get("source")
    if source in ("portal", "shopify"):
        query = query.where(ReturnRequest.source == source)
    resolution = request.args.get("resolution")
    if resolution in RESOLUTIONS:
        query = query.where(ReturnRequest.resolution == resolution)
    if request.args.get("attention") == "1":
        query = query.where(ReturnRequest.needs_attention.is_not(None))
    returns = db.session.execute(query.order_by(ReturnRequest.id.desc()).limit(200)).scalars().all()
    return render_template(
        "admin/returns/list.html",
        returns=returns,
        statuses=STATUSES,
        resolutions=RESOLUTIONS,
        filters=request.args,
        **page_context(),
    )


@returns_admin_bp.get("/<int:return_id>")
@admin_required
def return_detail(return_id: int):
    found = _shop_return(return_id)
    ops = db.session.execute(
        select(ReturnSyncOp).where(ReturnSyncOp.return_request_id == found.id).order_by(ReturnSyncOp.id)
    ).scalars()
    files = db.session.execute(
        select(ReturnFile.id, ReturnFile.kind, ReturnFile.content_type, ReturnFile.size).where(
            ReturnFile.shop_id == found.shop_id, ReturnFile.return_request_id == found.id
        )
    ).all()
    return render_template(
        "admin/returns/detail.html",
        ret=found,
        ops=list(ops),
        files=files,
        scans=scans_for(found),
        decline_reasons=DECLINE_REASONS,
        error=request.args.get("error"),
        **page_context(),
    )


@returns_admin_bp.get("/<int:return_id>/files/<int:file_id>")
@admin_required
def return_file(return_id: int, file_id: int):
    found = _shop_return(return_id)
    stored = db.session.execute(
        select(ReturnFile).where(
            ReturnFile.id == file_id, ReturnFile.shop_id == found.shop_id, ReturnFile.return_request_id == found.id
        )
    ).scalar_one_or_none()
    if stored is None:
        abort(404)
    response = Response(stored.data, mimetype=stored.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "attachment"
    return response


def _act(return_id: int, action: str) -> Any:
    found = _shop_return(return_id)
    form = request.form if request.form else (request.get_json(silent=True) or {})
    try:
        if action == "approve":
            approve_return(db.session, found, _actor())
        elif action == "decline":
            decline_return(db.session, found, _actor(), str(form.get("reason") or ""), form.get("note"))
        elif action == "received":
            mark_received(db.session, found, _actor())
        elif action == "inspected":
            mark_inspected(db.session, found, _actor(), form.get("note"))
        elif action == "resolve":
            resolve_return(db.session, found, _actor())
        elif action == "close":
            close_return(db.session, found, _actor())
        elif action == "tracking":
            add_tracking(db.session, found, _actor(), form.get("company"), str(form.get("number") or ""))
        else:
            abort(404)
        db.session.commit()
    except (TransitionError, ReturnInputError) as exc:
        db.session.rollback()
        message = (
            str(exc) if isinstance(exc, TransitionError) else "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
        )
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            return jsonify(error="invalid", message=message), 409 if isinstance(exc, TransitionError) else 422
        return redirect(url_for("returns_admin.return_detail", return_id=return_id, error=message))
    if request.is_json:
        return jsonify(status=found.status)
    return redirect(url_for("returns_admin.return_detail", return_id=return_id))


@returns_admin_bp.post("/<int:return_id>/<any(approve, decline, received, inspected, resolve, close, tracking):action>")
@admin_required
def return_action(return_id: int, action: str):
    return _act(return_id, action)


@returns_admin_bp.post("/<int:return_id>/label")
@admin_required
def upload_label(return_id: int):
    """The built-in label adapter: the merchant uploads a PDF or PNG label (type and size checked)."""
    found = _shop_return(return_id)
    uploaded = request.files.get("label")
    if uploaded is None or not uploaded.filename:
        return jsonify(error="invalid", message="choose a PDF or PNG label file"), 400
    upload = Upload(uploaded.filename, uploaded.mimetype or "", uploaded.read(MAX_LABEL_BYTES + 1))
    uploaded.close()
    problem = check_upload(upload, LABEL_TYPES, MAX_LABEL_BYTES)
    if problem:
        message = "the label must be a PDF or PNG file" if problem == "bad_type" else "the label is larger than 2 MB"
        return jsonify(error=problem, message=message), 413 if problem == "too_large" else 415
    db.session.add(
        ReturnFile(
            shop_id=found.shop_id,
            return_request_id=found.id,
            kind="label",
            content_type=upload.content_type,
            size=len(upload.data),
            data=upload.data,
        )
    )
    db.session.commit()
    return redirect(url_for("returns_admin.return_detail", return_id=return_id))


@returns_admin_bp.post("/<int:return_id>/sync/<int:op_id>/retry")
@admin_required
def retry_sync(return_id: int, op_id: int):
    found = _shop_return(return_id)
    if not retry_failed_sync(db.session, found.shop_id, op_id):
        abort(404)
    found.needs_attention = None
    db.session.commit()
    return redirect(url_for("returns_admin.return_detail", return_id=return_id))


def _render_policy(
    form: dict[str, Any] | None = None,
    problems: dict[str, Any] | None = None,
    json_text: str | None = None,
    json_problems: dict[str, Any] | None = None,
    status: int = 200,
):
    """The policy page: the form (as stored, or as the merchant typed it with each problem beside its field),
    the JSON as the Advanced view, and the simulator when there is a draft."""
    row = policy_row(db.session, g.admin.shop.id)
    db.session.commit()
    simulation = None
    draft_error = None
    if row.draft:
        try:
            simulation = simulate(
                db.session, g.admin.shop.id, policy_from_dict(row.published), policy_from_dict(row.draft)
            )
        except PolicyError as exc:
            draft_error = exc.errors
    editing = row.draft or row.published
    locale = request_locale()

    def said(found: dict[str, Any] | None) -> dict[str, str]:
        return {field: t(locale, why.key, **why.params()) for field, why in (found or {}).items()}

    return (
        render_template(
            "admin/returns/policy.html",
            row=row,
            editing=editing,
            form=form if form is not None else form_from_policy(editing),
            problems=said(problems),
            editing_json=json_text if json_text is not None else json.dumps(editing, indent=2, ensure_ascii=False),
            json_problems=said(json_problems),
            simulation=simulation,
            draft_error=draft_error,
            resolutions=RESOLUTIONS,
            offered_resolutions=OFFERED_RESOLUTIONS,
            condition_fields=CONDITION_FIELDS,
            operator_kinds=OPERATOR_KINDS,
            saved=request.args.get("saved") == "1",
            **page_context(),
        ),
        status,
    )


@returns_admin_bp.get("/policy")
@admin_required
def policy_page():
    return _render_policy()


@returns_admin_bp.post("/policy")
@admin_required
def save_policy_form():
    """The policy form: a row button adds or removes a row (nothing saved, the page comes back as typed);
    "Save draft" checks every field and keeps the draft, or answers 422 with each problem beside its field."""
    form = form_from_post(request.form)
    if apply_action(form, str(request.form.get("action") or "save")):
        return _render_policy(form=form)
    raw, problems = check_form(form)
    if problems:
        db.session.rollback()
        return _render_policy(form=form, problems=problems, status=422)
    save_draft(db.session, g.admin.shop.id, raw)
    db.session.commit()
    return redirect(url_for("returns_admin.policy_page", saved=1))


@returns_admin_bp.post("/api/policy/draft")
@admin_required
def save_policy_draft():
    """Save a changed policy (JSON) as the draft; 422 naming every bad field. Nothing changes for shoppers
    until it is published. The Advanced view posts the JSON as a form field: its problems come back on the
    page beside the JSON, which keeps what the merchant typed."""
    if not request.is_json and "policy" in request.form:
        text = request.form["policy"]
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            why = Explanation.of("admin.policy.err.json", line=exc.lineno, column=exc.colno)
            return _render_policy(json_text=text, json_problems={"policy": why}, status=422)
        if not isinstance(payload, dict):
            return _render_policy(
                json_text=text, json_problems={"policy": Explanation.of("admin.policy.err.object")}, status=422
            )
        try:
            save_draft(db.session, g.admin.shop.id, payload)
        except PolicyError as exc:
            db.session.rollback()
            return _render_policy(json_text=text, json_problems=exc.reasons, status=422)
        db.session.commit()
        return redirect(url_for("returns_admin.policy_page", saved=1))
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return jsonify(error="invalid", message="send the policy as a JSON object"), 400
    try:
        save_draft(db.session, g.admin.shop.id, payload)
    except PolicyError as exc:
        db.session.rollback()
        return jsonify(error="invalid", fields=exc.errors), 422
    db.session.commit()
    return jsonify(status="draft saved")


@returns_admin_bp.get("/api/policy/simulation")
@admin_required
def simulation_json():
    row = policy_row(db.session, g.admin.shop.id)
    if not row.draft:
        return jsonify(error="no_draft", message="save a draft policy first"), 409
    result = simulate(db.session, g.admin.shop.id, policy_from_dict(row.published), policy_from_dict(row.draft))

    def figures(f):
        return {
            "eligible_requests": f.eligible_requests,
            "credit_bonus_cost": str(f.credit_bonus_cost),
            "free_shipping_cost": str(f.free_shipping_cost),
            "kept_share_percent": str(f.kept_share),
            "returnable_orders": f.returnable_orders,
        }

    return jsonify(
        days=result.days,
        requests=result.requests,
        orders=result.orders,
        published=figures(result.published),
        draft=figures(result.draft),
        became_ineligible=result.became_ineligible,
        became_eligible=result.became_eligible,
    )


@returns_admin_bp.post("/policy/publish")
@admin_required
def publish_policy():
    publish_draft(db.session, g.admin.shop.id)
    db.session.commit()
    return redirect(url_for("returns_admin.policy_page"))


@returns_admin_bp.post("/policy/tiers/<code>/<any(window, free_return_shipping, auto_approve, credit_bonus):perk>")
@admin_required
def toggle_perk(code: str, perk: str):
    """Switch one tier perk on or off in the draft (the simulator shows what it would change)."""
    row = policy_row(db.session, g.admin.shop.id)
    draft = json.loads(json.dumps(row.draft or row.published))
    for tier in draft.get("tiers") or []:
        if tier.get("code") == code:
            perks = tier.setdefault("perks", {})
            current = perks.setdefault(perk, {})
            current["enabled"] = not current.get("enabled", False)
            if perk == "window" and not current.get("days"):
                current["days"] = 60
            break
    else:
        abort(404)
    save_draft(db.session, g.admin.shop.id, draft)
    db.session.commit()
    return redirect(url_for("returns_admin.policy_page"))


def order_panel(order: Order) -> dict[str, Any] | None:
    """The order page's returns, each with its steps (who, when, a note), newest first; None when there are none."""
    returns = (
        db.session.execute(
            select(ReturnRequest)
            .where(ReturnRequest.shop_id == order.shop_id, ReturnRequest.shopify_order_id == order.shopify_order_id)
            .order_by(ReturnRequest.id.desc())
        )
        .scalars()
        .all()
    )
    if not returns:
        return None
    steps: dict[int, list[ReturnStep]] = {r.id: [] for r in returns}
    for step in db.session.execute(
        select(ReturnStep)
        .where(ReturnStep.shop_id == order.shop_id, ReturnStep.return_request_id.in_(list(steps)))
        .order_by(ReturnStep.occurred_at, ReturnStep.id)
    ).scalars():
        steps[step.return_request_id].append(step)
    return {"returns": [{"request": r, "steps": steps[r.id]} for r in returns]}


def order_summary(order: Order) -> list[dict[str, Any]] | None:
    """The order's returns and their steps as JSON (the help-desk feed)."""
    panel = order_panel(order)
    if panel is None:
        return None
    return [
        {
            "id": item["request"].id,
            "status": item["request"].status,
            "status_label": label("admin.returns.status.", item["request"].status),
            "resolution": item["request"].resolution,
            "steps": [
                {"status": s.status, "at": s.occurred_at.isoformat(), "by": s.actor, "note": s.note}
                for s in item["steps"]
            ],
        }
        for item in panel["returns"]
    ]
