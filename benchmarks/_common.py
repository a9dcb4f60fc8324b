"""Helpers the benchmark scripts share: errors, logging, ports, /proc readings, a time bound, and the gunicorn
server each one runs the app (and a bare endpoint) under."""

from __future__ import annotations

import os
import runpy
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class BenchError(RuntimeError):
    """The benchmark could not run (a service missing, a server that would not start...)."""


class BenchTimeout(BaseException):
    """Raised by SIGALRM or SIGTERM: the run exceeded its bound or was stopped."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    key, rest = line.split(":", 1)
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def time_bound(seconds: int) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise BenchTimeout(f"benchmark exceeded its {seconds} s bound")

    def on_term(signum: int, frame: Any) -> None:
        raise BenchTimeout(f"stopped by signal {signum}")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    previous_term = signal.signal(signal.SIGTERM, on_term)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGTERM, previous_term)


ROOT = Path(__file__).resolve().parent.parent
_SETTING_NAMES = ("workers", "worker_class", "threads", "keepalive", "max_requests", "timeout", "preload_app")


def gunicorn_settings(env: dict[str, str]) -> dict[str, Any]:
    """What gunicorn.conf.py resolves to under this environment (the same file gunicorn reads)."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {k: conf.get(k) for k in _SETTING_NAMES}


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a gunicorn master's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                # The command name may contain spaces and parentheses: fields start after the last ')'.
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


class GunicornServer:
    """One gunicorn master in its own process group (session), started with the project's gunicorn.conf.py,
    ready once every worker is up and the port answers; stop() ends the whole group."""

    def __init__(
        self,
        app_spec: str,
        port: int,
        env: dict[str, str],
        log_path: Path,
        extra_args: tuple[str, ...] = (),
        options: tuple[str, ...] = (),
    ) -> None:
        self.app_spec = app_spec
        self.port = port
        self.env = env
        self.log_path = log_path
        self.extra_args = extra_args
        self.options = options  # more gunicorn options, e.g. an access log
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the master without waiting for it (e.g. while a data set loads); then wait_ready()."""
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{self.port}",
            # A bench server must not take over the control socket of a gunicorn someone else runs.
            "--no-control-socket",
            *self.options,
            *self.extra_args,
            self.app_spec,
        ]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.proc is not None, "launch() first"
        workers = int(gunicorn_settings(self.env)["workers"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"gunicorn {self.app_spec} exited at start:\n{self.log_tail()}")
            if len(children(self.proc.pid)) >= workers and self._port_open():
                return
            time.sleep(0.1)
        raise BenchError(f"gunicorn {self.app_spec} did not start in {timeout:.0f} s:\n{self.log_tail()}")

    def _port_open(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def terminate(self) -> None:
        """Graceful stop of the whole process group (master and workers), without waiting."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)  # start_new_session: the master leads its group
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.terminate()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        log_file = getattr(self, "_log", None)
        if log_file is not None and not log_file.closed:
            log_file.close()
