"""Jobs for the job-pattern tests: module-level, so a real RQ worker finds them by path.

They count their runs in Redis (the work horse is another process).
"""

from __future__ import annotations

import os

import redis

RUNS_KEY = "test:job-runs:{}"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(os.environ["REDIS_URL"])


def record_run(label: str) -> int:
    """Counts its runs under ``label``; returns the count."""
    return int(_redis().incr(RUNS_KEY.format(label)))


def always_fails(label: str) -> None:
    record_run(label)
    raise RuntimeError(f"{label}: the remote system said no")


def runs(label: str) -> int:
    return int(_redis().get(RUNS_KEY.format(label)) or 0)
