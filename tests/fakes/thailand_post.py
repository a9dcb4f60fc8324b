"""A local HTTP server speaking Thailand Post's Track API (token exchange, then batch tracking)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes._server import LoopbackServer


class FakeThailandPost(LoopbackServer):
    API_TOKEN = "tp-api-token"
    SESSION_TOKEN = "tp-session-token"

    def __init__(self) -> None:
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.fail_next: list[int] = []  # statuses to answer with before behaving
        self.requests: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append((self.path, body))
                if fake.fail_next:
                    self._send(fake.fail_next.pop(0), {"message": "error"})
                    return
                auth = self.headers.get("Authorization", "")
                if self.path == "/post/api/v1/authenticate/token":
                    if auth != f"Token {fake.API_TOKEN}":
                        self._send(401, {"detail": "Invalid token."})
                        return
                    self._send(200, {"expire": "2026-12-22 00:00:00+07:00", "token": fake.SESSION_TOKEN})
                elif self.path == "/post/api/v1/track":
                    if auth != f"Token {fake.SESSION_TOKEN}":
                        self._send(401, {"detail": "Invalid token."})
                        return
                    wanted = body.get("barcode") or []
                    items = {number: fake.items.get(number, []) for number in wanted}
                    self._send(
                        200,
                        {
                            "response": {"items": items, "track_count": {}},
                            "message": "successful",
                            "status": True,
                        },
                    )
                else:
                    self._send(404, {"detail": "Not found."})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
