"""gunicorn settings for the web process (Procfile `web`). Environment variables override each one."""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# Requests are short and CPU-bound (webhook intake is ~1 ms of Python, one INSERT, one Redis round trip): a
# worker per core plus one spare. benchmarks/webhook_ingest.py on 2 cores: 3 workers ~15% of the bare
# endpoint's rate, 4 workers ~13% (more processes than cores only add contention with PostgreSQL and Redis).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
# Shopify keeps connections alive and gives a webhook 5 s; never let a request hang past that.
keepalive = 5
timeout = 30
graceful_timeout = 20
# Recycle a worker now and then as a guard against slow leaks (peak RSS is flat in the benchmarks), but not
# every half minute: at ~400 webhooks/s per worker a 10,000 limit restarted workers mid-burst (p99 spikes).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "200000"))
max_requests_jitter = max_requests // 20
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG")  # off by default: it costs throughput
