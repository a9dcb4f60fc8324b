"""The merchant's content library in the embedded admin (/app/content): every entry with its scope, timing and
languages; a form to add or change one (English and Thai, an optional video); deleting; importing from a
product metafield (Shopify's standard `descriptors.care_guide` by default) through the Admin GraphQL API."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import delete, func, select

from app.admin import admin_required, page_context
from app.content.imports import DEFAULT_METAFIELD, ImportFailed, import_from_metafield
from app.content.models import KINDS, LOCALES, SCOPES, ContentEntry, ContentRelease
from app.content.services import clean_entry, save_entry
from app.extensions import db
from app.i18n import N_, request_locale, t
from app.recommendations.models import CatalogCollection, CatalogProduct, CatalogVariant

content_admin_bp = Blueprint("content_admin", __name__, url_prefix="/app")

LABEL_KEYS = (
    N_("content.kind.getting_started"),
    N_("content.kind.care"),
    N_("content.kind.faq"),
    N_("content.scope.product"),
    N_("content.scope.variant"),
    N_("content.scope.product_type"),
    N_("content.scope.collection"),
    N_("content.admin.language.en"),
    N_("content.admin.language.th"),
)
ERROR_KEYS = (
    N_("content.error.kind"),
    N_("content.error.scope"),
    N_("content.error.scope_value"),
    N_("content.error.delay_days"),
    N_("content.error.video_url"),
    N_("content.error.too_long"),
    N_("content.error.both"),
    N_("content.error.text"),
    N_("content.error.body"),
    N_("content.error.metafield"),
    N_("content.error.import_failed"),
)
_METAFIELD = re.compile(r"^[A-Za-z0-9_-]{2,255}\.[A-Za-z0-9_-]{2,64}$")


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.is_json


def _locale_arg() -> dict[str, str]:
    return {"locale": request.args["locale"]} if request.args.get("locale") else {}


def _form_of(entry: ContentEntry | None) -> dict[str, Any]:
    if entry is None:
        return {"kind": "getting_started", "scope": "product", "scope_value": "", "delay_days": 7, "video_url": ""}
    form: dict[str, Any] = {
        "kind": entry.kind,
        "scope": entry.scope,
        "scope_value": entry.scope_value,
        "delay_days": entry.delay_days,
        "video_url": entry.video_url or "",
    }
    for locale in LOCALES:
        words = (entry.texts or {}).get(locale) or {}
        form[f"title_{locale}"] = words.get("title", "")
        form[f"body_{locale}"] = words.get("body", "")
    return form


PICKER_LIMIT = 500


def _scope_options(shop_id: int) -> dict[str, list[tuple[str, str]]]:
    """What each scope's field offers from the synced catalogue, as (value, what the merchant reads): the merchant
    types a name and picks it; the id goes in."""
    session = db.session
    products = session.execute(
        select(CatalogProduct.shopify_product_id, CatalogProduct.title)
        .where(CatalogProduct.shop_id == shop_id, CatalogProduct.deleted_at.is_(None))
        .order_by(CatalogProduct.title)
        .limit(PICKER_LIMIT)
    ).all()
    variants = session.execute(
        select(CatalogVariant.shopify_variant_id, CatalogProduct.title, CatalogVariant.title)
        .join(
            CatalogProduct,
            (CatalogProduct.shop_id == CatalogVariant.shop_id)
            & (CatalogProduct.shopify_product_id == CatalogVariant.shopify_product_id),
        )
        .where(CatalogVariant.shop_id == shop_id, CatalogProduct.deleted_at.is_(None))
        .order_by(CatalogProduct.title, CatalogVariant.position)
        .limit(PICKER_LIMIT)
    ).all()
    types = session.execute(
        select(CatalogProduct.product_type)
        .where(CatalogProduct.shop_id == shop_id, CatalogProduct.product_type.is_not(None))
        .distinct()
        .order_by(CatalogProduct.product_type)
        .limit(PICKER_LIMIT)
    ).scalars()
    collections = session.execute(
        select(CatalogCollection.shopify_collection_id, func.max(CatalogCollection.title))
        .where(CatalogCollection.shop_id == shop_id)
        .group_by(CatalogCollection.shopify_collection_id)
        .limit(PICKER_LIMIT)
    ).all()
    return {
        "product": [(str(pid), title) for pid, title in products],
        "variant": [
            (str(vid), title if not variant or variant == "Default Title" else f"{title} · {variant}")
            for vid, title, variant in variants
        ],
        "product_type": [(kind, kind) for kind in types if kind],
        "collection": [(str(cid), title or str(cid)) for cid, title in collections],
    }


def _page(form: dict[str, Any], errors: dict[str, str], editing: int | None, status: int = 200, notice: str = ""):
    shop = g.admin.shop
    entries = (
        db.session.execute(
            select(ContentEntry)
            .where(ContentEntry.shop_id == shop.id)
            .order_by(ContentEntry.kind.desc(), ContentEntry.id)
        )
        .scalars()
        .all()
    )
    released = dict(
        db.session.execute(
            select(ContentRelease.entry_id, func.count())
            .where(ContentRelease.shop_id == shop.id, ContentRelease.status == "released")
            .group_by(ContentRelease.entry_id)
        ).all()
    )
    locale = request_locale()
    options = _scope_options(shop.id)
    body = render_template(
        "admin/content/page.html",
        entries=entries,
        released=released,
        kinds=KINDS,
        scopes=SCOPES,
        locales=LOCALES,
        form=form,
        problems={field: t(locale, key) for field, key in errors.items()},
        editing=editing,
        notice=notice,
        default_metafield=DEFAULT_METAFIELD,
        options=options,
        names={(scope, value): label for scope, pairs in options.items() for value, label in pairs},
        **page_context(),
    )
    return body, status


@content_admin_bp.get("/content")
@admin_required
def content_page():
    editing = request.args.get("edit", type=int)
    entry = None
    if editing is not None:
        entry = db.session.execute(
            select(ContentEntry).where(ContentEntry.id == editing, ContentEntry.shop_id == g.admin.shop.id)
        ).scalar_one_or_none()
        if entry is None:
            abort(404)
    imported = request.args.get("imported", type=int)
    notice = t(request_locale(), "content.admin.imported", count=imported) if imported is not None else ""
    return _page(_form_of(entry), {}, editing, notice=notice)


def _posted() -> dict[str, Any] | None:
    if request.is_json:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else None
    return {key: request.form.get(key) for key in request.form}


@content_admin_bp.post("/content")
@content_admin_bp.post("/content/<int:entry_id>")
@admin_required
def save_content(entry_id: int | None = None):
    form = _posted()
    locale = request_locale()
    if form is None:
        return jsonify(error=t(locale, "content.error.body")), 400
    values, errors = clean_entry(form)
    if errors:
        if _wants_json():
            return jsonify(errors={field: t(locale, key) for field, key in errors.items()}), 422
        return _page(form, errors, entry_id, status=422)
    entry = save_entry(db.session, g.admin.shop.id, values, entry_id)
    if entry is None:
        abort(404)
    db.session.commit()
    if _wants_json():
        return jsonify(id=entry.id, saved=True)
    return redirect(url_for("content_admin.content_page", **_locale_arg()))


@content_admin_bp.post("/content/<int:entry_id>/delete")
@admin_required
def delete_content(entry_id: int):
    deleted = db.session.execute(
        delete(ContentEntry).where(ContentEntry.id == entry_id, ContentEntry.shop_id == g.admin.shop.id)
    ).rowcount
    if not deleted:
        abort(404)
    db.session.commit()
    if _wants_json():
        return jsonify(deleted=True)
    return redirect(url_for("content_admin.content_page", **_locale_arg()))


@content_admin_bp.post("/content/import")
@admin_required
def import_content():
    form = _posted()
    locale = request_locale()
    if form is None:
        return jsonify(error=t(locale, "content.error.body")), 400
    metafield = str(form.get("metafield") or DEFAULT_METAFIELD).strip()
    raw_days = str(form.get("delay_days") or "7").strip()
    if not _METAFIELD.match(metafield) or not raw_days.isdigit() or int(raw_days) > 365:
        return jsonify(errors={"metafield": t(locale, "content.error.metafield")}), 422
    try:
        count = import_from_metafield(db.session, g.admin.shop.id, metafield, int(raw_days))
    except ImportFailed as failure:
        db.session.rollback()
        return jsonify(error=t(locale, "content.error.import_failed"), reason=failure.reason), 502
    db.session.commit()
    if _wants_json():
        return jsonify(imported=count)
    return redirect(url_for("content_admin.content_page", imported=count, **_locale_arg()))
