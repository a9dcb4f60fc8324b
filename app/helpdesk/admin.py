"""The help-desk page in the admin: make or rotate the token (shown once), revoke it, and how to set up Gorgias."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, render_template, request
from sqlalchemy import select

from app.admin import admin_required, page_context
from app.extensions import db
from app.helpdesk.models import HelpdeskToken
from app.helpdesk.services import issue_token, revoke_token

helpdesk_admin_bp = Blueprint("helpdesk_admin", __name__, url_prefix="/app")


def _page(token: str | None = None):
    current = db.session.execute(
        select(HelpdeskToken).where(HelpdeskToken.shop_id == g.admin.shop.id)
    ).scalar_one_or_none()
    feed_url = current_app.config["SETTINGS"].shopify_app_url + "/helpdesk/v1/customer"
    return render_template(
        "admin/helpdesk/index.html", current=current, token=token, feed_url=feed_url, **page_context()
    )


@helpdesk_admin_bp.get("/helpdesk")
@admin_required
def helpdesk_page():
    return _page()


@helpdesk_admin_bp.post("/helpdesk/token")
@admin_required
def make_token():
    """Make a token, or a new one in place of the old (which stops working at once)."""
    token = issue_token(db.session, g.admin.shop.id)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(token=token)
    return _page(token)


@helpdesk_admin_bp.post("/helpdesk/token/revoke")
@admin_required
def revoke():
    revoke_token(db.session, g.admin.shop.id)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(revoked=True)
    return _page()


def helpdesk_ready(shop) -> bool:
    """The setup guide: a help desk has a token."""
    return db.session.execute(select(HelpdeskToken.id).where(HelpdeskToken.shop_id == shop.id)).first() is not None
