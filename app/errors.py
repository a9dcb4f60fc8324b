"""Answers for failures every audience shares: the database unreachable becomes a 503 that says when to retry."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from markupsafe import escape
from sqlalchemy.exc import OperationalError

from app.i18n import negotiate_locale, t

RETRY_AFTER_SECONDS = 30


def register_error_handlers(app: Flask) -> None:
    # psycopg and sqlite3 raise OperationalError when the server is down, unreachable or the file is locked.
    app.register_error_handler(OperationalError, _database_unavailable)


def _database_unavailable(error: Exception) -> Response:
    """503 with Retry-After, in the visitor's language: JSON for scripts, a small page for people."""
    locale = negotiate_locale(request.args.get("locale"), request.accept_languages.best)
    message = t(locale, "errors.unavailable")
    wants_json = "/api/" in request.path or request.accept_mimetypes.best == "application/json"
    if wants_json:
        response = jsonify(error="unavailable", message=message)
    else:
        response = Response(
            f'<!doctype html><html lang="{locale}"><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(message)}</title>"
            '<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">'
            f"<p>{escape(message)}</p></body></html>",
            mimetype="text/html",
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
