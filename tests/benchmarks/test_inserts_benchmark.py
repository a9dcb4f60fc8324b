"""benchmarks/inserts.py runs end to end (--tiny) and prints every figure it promises.

The figures themselves are not judged here (DESIGN.md §5: budgets are checked by running the benchmark at full
size, not by timed tests); only that the script runs, the batch printed every order, and its database is dropped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "inserts.py"
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_inserts_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def test_inserts_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr[-4000:]}"
    assert re.search(rf"^baseline weasyprint one page: {NUMBER} s$", out, re.M), out
    assert re.search(rf"^one insert cold: {NUMBER} s$", out, re.M), out
    assert re.search(rf"^one insert: median {NUMBER} s, max {NUMBER} s over 3 ", out, re.M), out
    batch = re.search(rf"^batch: 20 inserts in ({NUMBER}) s \(({NUMBER}) s per insert, CPU {NUMBER} s\)$", out, re.M)
    assert batch and float(batch.group(1)) > 0, out
    assert re.search(r"^batch target: under \d+ s for 20 \(60 s per 500\): (PASS|FAIL)$", out, re.M), out
    assert re.search(rf"^peak memory: {NUMBER} MB", out, re.M), out
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
