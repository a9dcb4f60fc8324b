"""Helpers the benchmark scripts share: errors, logging, ports, /proc readings and a time bound."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
