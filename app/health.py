"""GET /healthz: database and Redis reachability as JSON."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from app.extensions import db
from app.jobs import redis_connection

health_bp = Blueprint("health", __name__)


@health_bp.get("/healthz")
def healthz():
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means "not reachable" here
        db.session.rollback()
        checks["database"] = f"error: {type(exc).__name__}"
    if current_app.config["SETTINGS"].jobs_inline:
        checks["redis"] = "not used (jobs run inline)"
    else:
        try:
            redis_connection().ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    healthy = all(v == "ok" or v.startswith("not used") for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503
