"""benchmarks/soak.py runs end to end (--tiny: seconds of traffic, a worker still SIGKILLed and Redis still
restarted) and prints every figure it promises; nothing is lost or duplicated, and its database is dropped.

The figures themselves are not judged here (DESIGN.md §5: budgets are checked by running the benchmark at
full size; docs/operations.md has the full run's figures).
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
SCRIPT = ROOT / "benchmarks" / "soak.py"
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_soak_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
MS = r"(?:[0-9]+(?:\.[0-9]+)? ms|n/a)"

FIGURES = (
    "orders",
    "webhooks sent",
    "webhook ids sent",
    "webhook posts",
    "webhooks acknowledged (2xx)",
    "webhooks retried by the sender",
    "webhooks given up by the sender",
    "webhooks acknowledged but not stored",
    "stored rows",
    "processed",
    "failed",
    "stranded",
    "processed after a retry (attempts > 1)",
    "parcels in the wrong final state",
    "emails expected (app's record, sent or queued)",
    "emails expected (traffic: one 'delivered' per parcel that ends delivered)",
    "emails delivered to SMTP",
    "emails lost",
    "emails duplicated",
    "emails unexpected",
    "tracking lookups",
    "tracking lookups non-2xx",
    "workers that exited on their own",
)


def figure(out: str, key: str) -> int:
    found = re.search(rf"^{re.escape(key)}: (\d+)", out, re.M)
    assert found, f"no figure {key!r} in:\n{out}"
    return int(found.group(1))


def test_soak_benchmark_runs_tiny_loses_and_duplicates_nothing():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr[-4000:]}"

    values = {key: figure(out, key) for key in FIGURES}
    assert re.search(rf"^tracking lookup p50: {MS}, p95: {MS}$", out, re.M), out
    for phase in ("before faults", "after the kill", "redis down", "after redis is back"):
        assert re.search(rf"^  lookups {phase}: \d+, p50 {MS}, p95 {MS}, ", out, re.M), out
        assert re.search(rf"^  webhook acks {phase}: \d+ posts, p50 {MS}, p99 {MS}, ", out, re.M), out
    assert re.search(rf"^baseline \(same run\): lookup p95 before the faults {MS}; ", out, re.M), out
    assert re.search(r"^fault worker kill: at [0-9.]+ s, ", out, re.M), out
    assert re.search(r"^fault redis restart: down from [0-9.]+ s to [0-9.]+ s; ", out, re.M), out
    assert re.search(r"^process web worker: 2 process\(es\), peak RSS [0-9.]+ MB, CPU [0-9.]+ s$", out, re.M), out
    assert re.search(r"^process worker-1: 1 process\(es\), peak RSS [0-9.]+ MB", out, re.M), out
    assert re.search(r"^max peak RSS: [0-9.]+ MB$", out, re.M), out

    # Everything sent was acknowledged, stored once and processed; every email arrived once.
    assert values["webhooks sent"] > 0 and values["webhooks acknowledged (2xx)"] == values["webhooks sent"]
    assert values["stored rows"] == values["webhook ids sent"] == values["processed"]
    assert values["stranded"] == 0 and values["failed"] == 0
    assert values["parcels in the wrong final state"] == 0
    assert values["emails lost"] == 0
    assert values["emails duplicated"] == 0
    assert values["emails unexpected"] == 0
    assert values["emails delivered to SMTP"] == values["emails expected (app's record, sent or queued)"] > 0
    assert values["tracking lookups"] > 0

    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    assert summary["tiny"] and summary["emails_lost"] == 0 and summary["emails_duplicated"] == 0
    assert (
        summary["faults"]["kill_at_s"] > 0 and summary["faults"]["redis_up_at_s"] > summary["faults"]["redis_stop_at_s"]
    )

    # Cleaned up: the benchmark's database is gone.
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
