"""benchmarks/tracking_page.py runs end to end (--tiny) and prints every figure it promises.

The figures themselves are not judged here (budgets are checked by running the benchmark at full
size, not by timed tests); only that the script loads its data, answers every lookup with 200,
reports each number, and drops its database afterwards.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "tracking_page.py"
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_tracking_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def test_tracking_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME, "--redis-db", "11"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr}"

    assert re.search(r"^load: 2,000 orders, 2,000 fulfillments, 6,000 tracking events, 10 shops$", out, re.M), out
    assert re.search(rf"^load time: {NUMBER} s ", out, re.M), out
    for label in ("page", "json"):
        assert re.search(rf"^{label} in-process p50: {NUMBER} ms$", out, re.M), out
        assert re.search(rf"^{label} in-process p95: {NUMBER} ms$", out, re.M), out
        assert re.search(rf"^  {label}: p99 {NUMBER} ms, max {NUMBER} ms; non-200: 0 ", out, re.M), out
    assert re.search(
        r"^  orders\(shop_id, order_number\): planning [0-9.]+ ms, execution [0-9.]+ ms: .*Index Scan", out, re.M
    ), out
    for label in ("page", "json", "bare"):
        rps = re.search(rf"^{label} requests/s: ({NUMBER})$", out, re.M)
        assert rps and float(rps.group(1)) > 0, out
        assert re.search(rf"^{label} latency p50: {NUMBER} ms, p95: {NUMBER} ms$", out, re.M), out
        assert re.search(rf"^{label} server time p50: {NUMBER} ms, p95: {NUMBER} ms$", out, re.M), out
    for label in ("page", "json"):
        assert re.search(rf"^ratio {label}/bare: {NUMBER} ", out, re.M), out
    assert re.search(r"^asset extensions/[^/]+/assets/[^ ]+\.js: raw \d+ bytes, gzip-9 \d+ bytes$", out, re.M), out
    assert re.search(r"^asset extensions/[^/]+/assets/[^ ]+\.css: raw \d+ bytes, gzip-9 \d+ bytes$", out, re.M), out
    assert re.search(rf"^app workers peak RSS: {NUMBER} MB \([1-9]\d* workers seen\)$", out, re.M), out
    assert re.search(r"^target p95 server time < 50 ms with 2,000 orders: ", out, re.M), out

    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    assert summary["orders"] == 2000 and summary["failures"] == 0
    for label in ("page", "json"):
        http = summary["http"][label]
        assert http["ok200"] > 0 and http["other"] == 0 and http["s429"] == 0, http
        assert http["server_p95_ms"] > 0
    assert summary["http"]["bare"]["ok200"] > 0
    assert summary["peak_rss_mb"]["app"] > 0

    # Cleaned up: the benchmark's database is gone.
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
