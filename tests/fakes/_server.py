"""What every local fake server shares: a server on a free loopback port, run in a thread for a `with` block."""

from __future__ import annotations

import threading
from typing import Any


class LoopbackServer:
    """Mixin: subclasses set `self.server` (a socketserver/werkzeug server bound to 127.0.0.1) in __init__."""

    server: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name=type(self).__name__
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
