"""A local Klaviyo speaking the Create Event API's wire format (POST /api/events, JSON:API, a private key and a
revision header): it checks what Klaviyo checks, keeps each accepted event, drops a repeated `unique_id` as
Klaviyo does, and can be told to answer 429 (with Retry-After) a number of times."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes._server import LoopbackServer

KEY = "pk_test_0123456789abcdef"


class FakeKlaviyo(LoopbackServer):
    def __init__(self) -> None:
        self.events: list[dict] = []  # accepted, one per unique_id
        self.requests = 0
        self.throttle = 0  # answer 429 this many more times
        lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's hook name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    fake.requests += 1
                    status, answer = fake._answer(self.path, self.headers, body)
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/vnd.api+json")
                self.end_headers()
                if answer is not None:
                    self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def _answer(self, path, headers, body):
        def error(status: int, detail: str):
            return status, {
                "errors": [{"status": status, "code": "invalid", "title": "Invalid input.", "detail": detail}]
            }

        if path.rstrip("/") != "/api/events":
            return error(404, "no such endpoint")
        if headers.get("Authorization") != f"Klaviyo-API-Key {KEY}":
            return error(401, "Missing or invalid private key.")
        if not headers.get("revision"):
            return error(400, "Missing revision header.")
        if self.throttle > 0:
            self.throttle -= 1
            return error(429, "Request was throttled.")
        try:
            data = json.loads(body)["data"]
            attributes = data["attributes"]
            assert data["type"] == "event"
            name = attributes["metric"]["data"]["attributes"]["name"]
            email = attributes["profile"]["data"]["attributes"]["email"]
            assert attributes["metric"]["data"]["type"] == "metric" and name
            assert attributes["profile"]["data"]["type"] == "profile" and email
            assert isinstance(attributes["properties"], dict)
        except (KeyError, TypeError, ValueError, AssertionError):
            return error(400, "The payload provided in the request is invalid.")
        unique_id = attributes.get("unique_id")
        if unique_id is None or all(e["attributes"].get("unique_id") != unique_id for e in self.events):
            self.events.append(data)
        return 202, None
