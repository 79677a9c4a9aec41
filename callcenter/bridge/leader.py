"""One active bridge per PBX: a Redis lock with a time to live.

The active bridge holds ``live.LEADER_KEY`` (``SET NX PX``) and renews it every third
of its TTL. A standby polls for it; when the active bridge dies (or loses Redis) the
key lapses and the standby takes over within one TTL. Renewal and release compare
the holder's id first (a Lua script, atomic on the server), so a bridge that stalled
past its TTL cannot extend or delete a lock that a successor now holds.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

import redis

from callcenter.realtime.live import LEADER_KEY

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class LeaderLock:
    def __init__(self, client: redis.Redis, ttl_s: float = 5.0, key: str = LEADER_KEY,
                 holder: str | None = None) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = max(100, int(ttl_s * 1000))
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def renew_every_s(self) -> float:
        return self.ttl_ms / 3000

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this bridge is now the leader."""
        return bool(self.client.set(self.key, self.holder, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        """Extend the lock; False when it was lost (expired and maybe taken by another)."""
        return bool(self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]))

    def release(self) -> None:
        try:
            self._release(keys=[self.key], args=[self.holder])
        except redis.RedisError as exc:  # the TTL frees it anyway
            log.warning("could not release the bridge lock: %s", exc)

    def current_holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
