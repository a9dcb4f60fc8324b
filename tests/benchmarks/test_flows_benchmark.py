"""benchmarks/flows.py runs end to end (--tiny) and prints every figure it promises: the due steps found by the
scheduler's query at a tenth and at all of the orders, the baseline without the index, peak memory, the verdict;
and it drops its database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_flows_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def test_flows_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "flows.py"), "--tiny", "--db-name", DB_NAME],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr}"
    for orders in ("400", "2,000"):
        assert re.search(
            rf"^find due steps with {orders} orders: p50 {NUMBER} ms, p95 {NUMBER} ms, p99 {NUMBER} ms; "
            r"due found 200 \(20 runs\); plan: ",
            out,
            re.M,
        ), out
    assert re.search(r"^find due steps with 2,000 orders: .*Index Scan on ix_flow_enrolments_due", out, re.M), out
    assert re.search(r"^baseline \(same query, index scans off\) with 2,000 orders: .*Seq Scan", out, re.M), out
    assert re.search(rf"^benchmark process peak RSS: {NUMBER} MB$", out, re.M), out
    assert re.search(r"^target p95 < 1 s per run among 2,000 orders: PASS$", out, re.M), out
    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    assert summary["orders"] == 2000 and summary["due"] == 200
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
