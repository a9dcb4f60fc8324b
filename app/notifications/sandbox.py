"""The sandbox merchant templates run in, and the budget every merchant render keeps, whatever its branches.

Two layers:
1. Jinja's immutable sandbox, bounded up front (`MessageSandbox`): no Python internals; no `*` or `**` that
   builds a huge value, no string padding or `str.format`, no huge ranges, at most MAX_LOOPS loops, output at
   most MAX_OUTPUT characters. Defaults (ours) render with this alone, in process.
2. A merchant's template also renders in a child process of its own (`render_merchant`), with a memory ceiling
   (RLIMIT_AS) and a wall-clock budget per render. What layer 1 cannot see (a string doubled in a loop with
   `~`, nested macros, work hidden behind `{% if order_name != '#1001' %}` that validation's sample order never
   reaches) runs into the ceiling or the clock: the child is killed and replaced, and the caller gets
   `BudgetExceeded` and falls back to the default template.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import multiprocessing
import os
import re
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

log = logging.getLogger(__name__)
_LOOP_TAG = re.compile(r"\{%-?\s*for\b")

RENDER_SECONDS = 1.0  # wall clock for one merchant message (subject, body and short text together)
MEMORY_HEADROOM = 96 * 1024 * 1024  # the child's address space may grow this much beyond its size at start
MAX_FILTER_WIDTH = 200  # center/indent/wordwrap/truncate widths


class BudgetExceeded(RuntimeError):
    """A merchant template used more time or memory than one message may."""


MAX_LOOPS = 2  # `{% for %}` tags per template
MAX_RANGE = 100
MAX_OUTPUT = 20_000
MAX_REPEAT = 2_000  # characters or items produced by `*`
SAFE_STR_METHODS = frozenset(
    {"upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith", "endswith", "split"}
)


class MessageSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, bounded: a merchant template can neither reach Python internals nor
    make a worker spin or fill its memory (`'x' * 10**9`, huge ranges, padding format specs)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            if not all(isinstance(v, int | float) for v in (left, right)) or abs(right) > 32 or abs(left) > 10**6:
                raise SecurityError("exponent too large")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value):
        # Jinja hands str.format / format_map to its own formatter before any attribute check, and a
        # width spec ('{:>1000000000}') pads to any size, so refuse them outright.
        if callable(value) and getattr(value, "__name__", None) in ("format", "format_map"):
            if isinstance(getattr(value, "__self__", None), str):
                raise SecurityError("str.format is not available in message templates")
        return None

    def is_safe_attribute(self, obj, attr, value):
        if isinstance(obj, str) and attr not in SAFE_STR_METHODS:
            return False  # format, ljust, center, zfill ... can pad to any size
        return super().is_safe_attribute(obj, attr, value)


def _bounded_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range longer than {MAX_RANGE}")
    return values


@functools.lru_cache(maxsize=512)
def _compiled(source: str):
    # Parsing and compiling cost more than rendering; the same few defaults and merchant templates recur.
    return _sandbox.from_string(source)


def _bounded_width(filter_func):
    def bounded(value, width=80, *args, **kwargs):
        if isinstance(width, int) and width > MAX_FILTER_WIDTH:
            raise SecurityError(f"width larger than {MAX_FILTER_WIDTH}")
        return filter_func(value, width, *args, **kwargs)

    return bounded


_sandbox = MessageSandbox(autoescape=False, undefined=StrictUndefined)
_sandbox.globals["range"] = _bounded_range
_sandbox.filters.pop("format", None)  # '%5000000s'|format pads to any size
for _name in ("center", "indent", "wordwrap", "truncate"):
    _sandbox.filters[_name] = _bounded_width(_sandbox.filters[_name])


def render_string(source: str, context: dict[str, Any]) -> str:
    """Render a (merchant or default) template in the bounded sandbox, in this process; raises on any breach."""
    if source.count("{%") and len(_LOOP_TAG.findall(source)) > MAX_LOOPS:
        raise SecurityError(f"at most {MAX_LOOPS} loops in a template")
    output = _compiled(source).render(**context)
    if len(output) > MAX_OUTPUT:
        raise SecurityError(f"rendered text longer than {MAX_OUTPUT} characters")
    return output


def _render_parts(sources: dict[str, str], context: dict[str, Any]) -> dict[str, str]:
    return {key: render_string(source, context) for key, source in sources.items()}


def _exit_with_parent() -> None:
    """Leave when the process that started this child is gone: an orphaned child would live on, holding the
    parent's stdout (a demo stopped with SIGTERM never closed its output)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def _start_child() -> None:
    _exit_with_parent()  # before the memory ceiling: the thread's stack counts against it
    _limit_child_memory()


def _limit_child_memory() -> None:
    import resource

    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    ceiling = size + MEMORY_HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))


class _Child:
    """One child process at a time for this process's merchant renders; replaced when killed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def render(self, sources: dict[str, str], context: dict[str, Any], seconds: float) -> dict[str, str]:
        with self._lock:
            if self._pool is None:
                # forkserver: a clean child, not a copy of a worker holding database and Redis connections.
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_start_child,
                )
                # The first start imports the app; it is not the template's time.
                self._pool.submit(_render_parts, {}, {}).result(timeout=60)
            future = self._pool.submit(_render_parts, sources, context)
            try:
                return future.result(timeout=seconds)
            except concurrent.futures.TimeoutError:
                self._kill()
                raise BudgetExceeded(f"rendering took longer than {seconds:g} s") from None
            except MemoryError:
                self._kill()
                raise BudgetExceeded("rendering needed more memory than a message may") from None
            except BrokenProcessPool:
                self._kill()
                raise BudgetExceeded("rendering ran out of memory") from None

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)


_child = _Child()


def stop_renderer() -> None:
    """Stop the render child and multiprocessing's forkserver and resource tracker behind it (started again by
    the next render). A process that rendered merchant text and is then stopped with SIGTERM otherwise leaves
    them running, holding its stdout: the demo's seeding renders the flows' texts before it serves."""
    from multiprocessing import forkserver, resource_tracker

    with _child._lock:
        _child._kill()
    # Python keeps no public way to stop these two; both start again on demand.
    forkserver._forkserver._stop()
    resource_tracker._resource_tracker._stop()


def render_merchant(
    sources: dict[str, str], context: dict[str, Any], seconds: float = RENDER_SECONDS
) -> dict[str, str]:
    """Render a merchant's templates (field -> source) within the budget of one message.

    Raises BudgetExceeded when the render takes too long or needs too much memory (the child is replaced), and
    whatever the sandbox raises for a template it refuses (SecurityError, TemplateError)."""
    return _child.render(sources, context, seconds)
