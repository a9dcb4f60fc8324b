"""benchmarks/engagement.py runs end to end (--tiny) and prints every figure it promises.

The figures themselves are not judged here (the 50 ms and 30 ms budgets are checked by running the benchmark at
full size, not by timed tests); only that the script loads its data, answers every survey answer (303), review
submission and product block (200) through the real signed links and app-proxy signature, reports each number
for each endpoint with the bare app's baseline from the same run, and drops its database afterwards.
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
SCRIPT = ROOT / "benchmarks" / "engagement.py"
PG_ADMIN_URL = os.environ.get("AFTERCART_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = f"aftercart_bench_engagement_tiny_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
NUMBER = r"[0-9]+(?:\.[0-9]+)?"
ENDPOINTS = ("survey_answer", "review_submit", "product_block")


def test_engagement_benchmark_runs_tiny_and_reports_every_figure():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--tiny", "--db-name", DB_NAME, "--redis-db", "11"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out}\n{proc.stderr}"
    assert "Warning" not in proc.stderr, proc.stderr

    assert re.search(r"^load: 2,000 orders, 2,000 fulfillments, 6,000 tracking events, 5 shops$", out, re.M), out
    extra = re.search(r"^engagement data: (.*)$", out, re.M)
    assert extra, out
    for what in ("surveys", "review_requests", "reviews", "review_photos"):
        count = re.search(rf"([\d,]+) {what}\b", extra.group(1))
        assert count and int(count.group(1).replace(",", "")) > 0, extra.group(1)
    assert "each shop's best seller: 2,000 published reviews" in out
    for label in ENDPOINTS:
        assert re.search(
            rf"^{label} in-process p50: {NUMBER} ms, p95: {NUMBER} ms, p99: {NUMBER} ms; statements/request: "
            rf"{NUMBER} \(max \d+\); SQL p50 {NUMBER} ms; other than 200/303: 0$",
            out,
            re.M,
        ), label + "\n" + out
        assert re.search(
            rf"^{label} slowest statement: \S.* took {NUMBER} ms; EXPLAIN planning {NUMBER} ms, "
            rf"execution {NUMBER} ms: \S",
            out,
            re.M,
        ), label + "\n" + out
        line = re.search(
            rf"^{label} under load: ({NUMBER}) requests/s, server p50 {NUMBER} ms, p95 {NUMBER} ms, p99 {NUMBER} ms; "
            rf"ok (\d+), other 0, errors 0; bare app, same requests: ({NUMBER}) requests/s, p95 {NUMBER} ms$",
            out,
            re.M,
        )
        assert line and float(line.group(1)) > 0 and int(line.group(2)) > 0 and float(line.group(3)) > 0, (
            label + "\n" + out
        )
    assert re.search(rf"^app workers peak RSS: {NUMBER} MB \([1-9]\d* workers seen\)$", out, re.M), out
    assert re.search(rf"^bare workers peak RSS: {NUMBER} MB ", out, re.M), out
    assert re.search(rf"^benchmark process peak RSS while serving in-process: {NUMBER} MB$", out, re.M), out
    assert re.search(r"^targets \(p95 server time: .*with 2,000 orders, .*: \d+ of 6 PASS", out, re.M), out

    summary = json.loads(re.search(r"^RESULT_JSON (.*)$", out, re.M).group(1))
    assert summary["orders"] == 2000 and summary["failures"] == 0
    assert set(summary["endpoints"]) == set(ENDPOINTS)
    for label, figures in summary["endpoints"].items():
        assert figures["ok"] > 0 and figures["load_p95_ms"] > 0 and figures["statements"] > 0, (label, figures)

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None
    redis_base = os.environ.get("AFTERCART_BENCH_REDIS", "redis://127.0.0.1:6379")
    assert not list(redis.Redis.from_url(f"{redis_base}/11").scan_iter(match="aftercart:*", count=1000))
