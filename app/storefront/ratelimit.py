"""Fixed-window rate limits for shopper lookups, in Redis (or in memory when jobs run inline)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import redis
from flask import current_app

from app.jobs import redis_connection

_local_counts: dict[str, int] = defaultdict(int)
_local_lock = threading.Lock()


def hit(key: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt; True while within the limit. Fails open if Redis is down (the page stays
    up; the per-shop limit still bounds abuse once Redis is back)."""
    bucket = int(time.time() // window_seconds)
    full_key = f"aftercart:rl:{key}:{bucket}"
    settings = current_app.config["SETTINGS"]
    if settings.jobs_inline:
        with _local_lock:
            _local_counts[full_key] += 1
            return _local_counts[full_key] <= limit
    try:
        pipe = redis_connection().pipeline()
        pipe.incr(full_key)
        pipe.expire(full_key, window_seconds + 1)
        count, _ = pipe.execute()
    except redis.RedisError:
        return True
    return int(count) <= limit


def hit_unless_over(hit_key: str, hit_limit: int, watch_key: str, watch_limit: int, window_seconds: int) -> bool:
    """Count one attempt under `hit_key` and read `watch_key`, in one round trip; True when both are
    within their limits. Fails open when Redis is down, like `hit`."""
    bucket = int(time.time() // window_seconds)
    hit_full, watch_full = f"aftercart:rl:{hit_key}:{bucket}", f"aftercart:rl:{watch_key}:{bucket}"
    if current_app.config["SETTINGS"].jobs_inline:
        with _local_lock:
            if _local_counts.get(watch_full, 0) >= watch_limit:
                return False
            _local_counts[hit_full] += 1
            return _local_counts[hit_full] <= hit_limit
    try:
        pipe = redis_connection().pipeline(transaction=False)
        pipe.get(watch_full)
        pipe.incr(hit_full)
        pipe.expire(hit_full, window_seconds + 1)
        watched, count, _ = pipe.execute()
    except redis.RedisError:
        return True
    return int(watched or 0) < watch_limit and int(count) <= hit_limit


def reset_local() -> None:
    with _local_lock:
        _local_counts.clear()
