"""benchmarks/webhook_ingest.py runs end to end (--tiny) and prints every figure it promises.

The figures themselves are not judged here (DESIGN.md §5: budgets are checked by benchmarks, not
by timed tests); only that the script runs, cleans up, and that every acknowledged webhook is a
stored row with a queued job.
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
SCRIPT = ROOT / "benchmarks" / "webhook_ingest.py"
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def test_webhook_ingest_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME, "--redis-db", "15"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr}"

    for target in ("bare", "app"):
        rps = re.search(rf"^{target} requests/s: ([0-9.]+)$", out, re.M)
        assert rps and float(rps.group(1)) > 0, out
        assert re.search(rf"^{target} p50 ack latency: [0-9.]+ ms$", out, re.M), out
        assert re.search(rf"^{target} p99 ack latency: [0-9.]+ ms$", out, re.M), out
    assert re.search(r"^app non-2xx: 0 ", out, re.M), out
    assert re.search(r"^ratio app/bare: [0-9.]+ ", out, re.M), out
    assert re.search(r"^  worker pid \d+: peak RSS \(VmHWM\) [0-9.]+ MB", out, re.M), out
    assert re.search(r"^max worker peak RSS: [0-9.]+ MB$", out, re.M), out

    rows = int(re.search(r"^webhook_events rows: (\d+)", out, re.M).group(1))
    jobs = int(re.search(r"^RQ jobs queued on 'webhooks': (\d+)", out, re.M).group(1))
    acked = int(re.search(r"^acknowledged 200: (\d+)$", out, re.M).group(1))
    assert acked > 0 and rows == acked and jobs == acked, out
    assert "rows == jobs == acknowledged: OK" in out

    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    assert summary["consistent"] and summary["rows"] == summary["app"]["ok200"] == summary["jobs"]
    assert summary["worker_peak_rss_mb"] and all(mb > 0 for mb in summary["worker_peak_rss_mb"].values())

    # Cleaned up: the benchmark's database is gone.
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
