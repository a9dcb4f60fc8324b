"""benchmarks/admin.py runs end to end (--tiny) and prints every figure it promises.

The figures themselves are not judged here (the 100 ms budget is checked by running the benchmark at full
size, not by timed tests); only that the script loads its data, answers every page with 200 through the real
session-token check, finds every order it searches for, reports each number for each page, and drops its
database afterwards.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "admin.py"
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_admin_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"
PAGES = (
    "search_number",
    "search_name",
    "search_email",
    "search_tracking",
    "search_phone",
    "search_customer",
    "list",
    "list_deep",
    "list_delayed",
    "list_stalled",
    "list_exception",
    "list_returned",
    "list_carrier",
    "list_dates",
    "order",
    "order_problem",
    "attention",
)


def test_admin_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME, "--redis-db", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr}"
    assert "Warning" not in proc.stderr, proc.stderr

    assert re.search(r"^load: 2,000 orders, 2,000 fulfillments, 6,000 tracking events, 5 shops$", out, re.M), out
    extra = re.search(r"^admin data: (.*)$", out, re.M)
    assert extra, out
    for what in ("domain_events", "notifications", "merchant_alerts", "return_requests", "open alerts"):
        count = re.search(rf"([\d,]+) {what}\b", extra.group(1))
        assert count and int(count.group(1).replace(",", "")) > 0, extra.group(1)
    assert re.search(rf"^load time: {NUMBER} s ", out, re.M), out
    for page in PAGES:
        found = " order not found: 0 of \\d+;?" if page.startswith("search_") else ""
        assert re.search(
            rf"^{page} in-process p50: {NUMBER} ms, p95: {NUMBER} ms, p99: {NUMBER} ms; statements/request: "
            rf"{NUMBER} \(max \d+\); SQL p50 {NUMBER} ms, p95 {NUMBER} ms; non-200: 0;?{found}  \(",
            out,
            re.M,
        ), page + "\n" + out
        assert re.search(
            rf"^{page} slowest statement: \S.* took {NUMBER} ms; EXPLAIN planning {NUMBER} ms, execution {NUMBER} ms: "
            r"\S",
            out,
            re.M,
        ), page + "\n" + out
    for page in (*PAGES, "bare"):
        line = re.search(
            rf"^{page} under load: ({NUMBER}) requests/s, server p50 {NUMBER} ms, p95 {NUMBER} ms, p99 {NUMBER} ms; "
            rf"client p50 {NUMBER} ms, p95 {NUMBER} ms; 200s (\d+), other 0, errors 0$",
            out,
            re.M,
        )
        assert line and float(line.group(1)) > 0 and int(line.group(2)) > 0, page + "\n" + out
    assert re.search(rf"^app workers peak RSS: {NUMBER} MB \([1-9]\d* workers seen\)$", out, re.M), out
    assert re.search(rf"^bare workers peak RSS: {NUMBER} MB ", out, re.M), out
    assert re.search(rf"^benchmark process peak RSS while serving in-process: {NUMBER} MB$", out, re.M), out
    assert re.search(r"^target p95 server time < 100 ms with 2,000 orders: \d+ of 34 PASS", out, re.M), out

    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    assert summary["orders"] == 2000 and summary["failures"] == 0
    assert set(summary["pages"]) == set(PAGES)
    for page, figures in summary["pages"].items():
        assert figures["ok200"] > 0 and figures["load_p95_ms"] > 0 and figures["statements"] > 0, (page, figures)
    assert summary["bare"]["rps"] > 0 and summary["peak_rss_mb"]["app"] > 0

    # Cleaned up: the benchmark's database is gone, and so are its Redis keys.
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
    redis_base = os.environ.get("AFTERCART_BENCH_REDIS", "redis://127.0.0.1:6379")
    assert not list(redis.Redis.from_url(f"{redis_base}/10").scan_iter(match="aftercart:*", count=1000))
