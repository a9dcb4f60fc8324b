"""benchmarks/recommendations.py runs end to end (--tiny) and prints every figure it promises.

The figures are not judged here (budgets are checked by running the benchmark at full size, not by timed
tests): only that it builds its shop, rebuilds, serves, scores both the model and the baseline, and drops
its database afterwards.
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
SCRIPT = ROOT / "benchmarks" / "recommendations.py"
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_recs_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"


def test_recommendations_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME, "--redis-db", "12"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr}"
    assert re.search(r"^catalogue: 300 products in 15 types; orders: 3,000 \(", out, re.M), out
    assert re.search(rf"^full rebuild: {NUMBER} s \([0-9,]+ orders, [0-9,]+ co-purchase rows", out, re.M), out
    assert re.search(rf"^peak memory \(VmHWM\): {NUMBER} MB", out, re.M), out
    assert re.search(rf"^serving p50: {NUMBER} ms, p95: {NUMBER} ms, p99: {NUMBER} ms over 200 requests", out, re.M)
    assert re.search(rf"^serving without impression counting p50: {NUMBER} ms, p95: {NUMBER} ms$", out, re.M), out
    assert re.search(rf"^hit rate@5: model {NUMBER}% vs best sellers {NUMBER}% \(200 held-out", out, re.M), out
    assert re.search(rf"^incremental update per order: p50 {NUMBER} ms, p95 {NUMBER} ms$", out, re.M), out
    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    assert summary["hit_rate_at_5"]["n"] == 200 and summary["serving_ms"]["p95"] > 0
    # The synthetic shop has structure the models should find: they must beat best sellers on it.
    assert summary["hit_rate_at_5"]["model"] > summary["hit_rate_at_5"]["best_sellers"]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
