"""benchmarks/notifications.py runs end to end (--tiny) and prints every figure it promises.

The figures themselves are not judged here (DESIGN.md §5: budgets are checked by running the benchmark at
full size, not by timed tests); only that the script runs, every webhook was acknowledged and every email
arrived, and that it drops its database afterwards.
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
SCRIPT = ROOT / "benchmarks" / "notifications.py"
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_notifications_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"
SECONDS = rf"(?:{NUMBER} s|> {NUMBER} s)"


def test_notifications_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr[-4000:]}"

    for label in ("baseline smtplib", "baseline smtplib reused-connection", "worker send", "forking-worker send"):
        rate = re.search(rf"^{label} messages/s: ({NUMBER})( |$)", out, re.M)
        assert rate and float(rate.group(1)) > 0, out
    assert re.search(rf"^worker send wall: {NUMBER} s ", out, re.M), out
    assert re.search(rf"^worker send / baseline: {NUMBER}$", out, re.M), out
    assert re.search(r"^webhook->email run 'target': \d+ signed fulfillments/create at ", out, re.M), out
    assert re.search(rf"^  webhook ack latency p50: {NUMBER} ms, p99: {NUMBER} ms$", out, re.M), out
    assert re.search(rf"^  webhook->email latency p50: {SECONDS}, p95: {SECONDS}, max: {SECONDS}; ", out, re.M), out
    assert re.search(rf"^  pipeline emails/s: {NUMBER} ", out, re.M), out
    assert re.search(rf"^  stage planned -> sent: p50 {SECONDS}, p95 {SECONDS}$", out, re.M), out
    assert re.search(r"^  RQ jobs per webhook: [0-9.]+ \(.*notify \d+.*webhook \d+\)$", out, re.M), out
    assert re.search(r"^target p95 < 2 s at [0-9.]+ webhooks/s: (PASS|FAIL) ", out, re.M), out

    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    target = summary["runs"]["target"]
    assert target["posted"] > 0 and target["ok200"] == target["posted"] and target["errors"] == 0
    assert target["delivered"] == target["posted"], target  # every email arrived (tiny drains fully)
    assert summary["send"]["sent_rows_total"] == summary["send"]["messages"]
    assert summary["baseline"]["per_connection"] > 0

    # Cleaned up: the benchmark's database is gone.
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
