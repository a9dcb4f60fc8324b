"""benchmarks/extensions.py runs end to end (--tiny) and prints every figure it promises.

The 50 ms budget is checked by running the benchmark at full size, not by a timed test; here only that the
script loads its data, answers every endpoint with 200 through the real session-token check, reports each
figure with its baseline, and drops its database afterwards."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "extensions.py"
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_extensions_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def test_extensions_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME, "--redis-db", "12"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr}"
    assert "Warning" not in proc.stderr, proc.stderr
    assert re.search(r"^load: 2,000 orders, 2,000 fulfillments, 6,000 tracking events, 5 shops$", out, re.M), out
    for endpoint in ("order_status", "fulfillment_slot", "thank_you", "baseline"):
        assert re.search(
            rf"^{endpoint} in-process p50: {NUMBER} ms, p95: {NUMBER} ms, p99: {NUMBER} ms; "
            rf"statements/request: {NUMBER} \(max \d+\); non-200: 0$",
            out,
            re.M,
        ), endpoint + "\n" + out
    assert re.search(rf"^benchmark process peak RSS while serving in-process: {NUMBER} MB$", out, re.M), out
    assert re.search(r"^target p95 server time < 50 ms with 2,000 orders: \d of 3 PASS", out, re.M), out
    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    assert summary["orders"] == 2000 and summary["failures"] == 0
    assert set(summary["endpoints"]) == {"order_status", "fulfillment_slot", "thank_you", "baseline"}
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
