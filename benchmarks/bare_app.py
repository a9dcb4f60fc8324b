"""The baseline for benchmarks/webhook_ingest.py: a bare WSGI endpoint that reads the body and answers 200.

It reads the request body like any real endpoint must (so the bytes moved are the same as for
the app) and returns a small JSON body like the app's acknowledgement; nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

_BODY = b'{"status":"queued"}\n'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length:
        environ["wsgi.input"].read(length)
    start_response("200 OK", list(_HEADERS))
    return [_BODY]
