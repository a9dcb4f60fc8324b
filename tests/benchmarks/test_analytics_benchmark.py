"""benchmarks/analytics.py runs end to end (--tiny) and prints every figure it promises: the backfill's throughput
and peak memory against a plain read of the same rows, the incremental cost per event, and the dashboard's server
time for 90 days and two years against the admin's order list. The figures are not judged here."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "analytics.py"
DB_NAME = f"aftercart_bench_analytics_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def test_analytics_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME, "--redis-db", "9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr}"
    assert re.search(r"^load: 2,000 orders, 2,000 fulfillments, 6,000 tracking events, 5 shops", out, re.M), out
    assert re.search(r"^backfill: [0-9.]+ s .* orders/s, .* events/s\), .* peak RSS [0-9.]+ MB", out, re.M), out
    assert re.search(r"^  baseline: a plain read of the same rows", out, re.M), out
    assert re.search(r"^incremental: [0-9]+ events -> [0-9]+ dirty days; .* ms per event", out, re.M), out
    for page in ("dashboard_90d", "dashboard_2y", "csv_2y", "baseline_orders_list"):
        assert re.search(rf"^{page} +p50 +[0-9.]+ ms +p95 +[0-9.]+ ms +p99 +[0-9.]+ ms", out, re.M), page
    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    assert summary["failures"] == 0 and summary["rollup_rows"] > 0
    assert all(page["statuses"] == {"200": 5} for page in summary["pages"].values())
