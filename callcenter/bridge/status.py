"""The active bridge's status for /healthz and /metrics: AMI link state and counters.

The counters live where the work is done (the AMI client's ``stats``, the FastAGI
server's ``stats``, the pop sender's ``stats``, the effect workers' ``failures``);
``telephony/`` never imports ``callcenter``, so this glue reads them and publishes them
to Redis (``callcenter.realtime.live.write_bridge_status``) every
``BRIDGE_STATUS_EVERY_S``, from the call-log thread, never from the event loop.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from callcenter.realtime.live import BRIDGE_STATUS_EVERY_S, write_bridge_status

log = logging.getLogger(__name__)


def bridge_counters(bridge: Any) -> dict[str, int]:
    """Every counter of this bridge since it became active (names: see metrics.py)."""
    ami = bridge.ami.stats
    agi = bridge.agi.stats
    pops = bridge.pops.stats
    return {
        "effect_failures_pops": bridge.pop_worker.failures,
        "effect_failures_log": bridge.log_worker.failures,
        "pops_sent": pops["pops"],
        "pops_without_user": pops["no_user"],
        "card_failures": pops["card_failures"],
        "agi_sessions": agi["connections"],
        "agi_lookups_failed": agi["lookup_failed"],
        "agi_script_errors": agi["script_error"],
        # The first login is the connection, every later one a reconnect.
        "ami_reconnects": max(0, ami.logins - 1),
        "ami_disconnects": ami.disconnects,
        "ami_connect_failures": ami.connect_failures,
        "ami_ping_failures": ami.ping_failures,
        "ami_resyncs": bridge.resyncs,
        "write_retries_pops": bridge.pop_worker.retries,
        "write_retries_log": bridge.log_worker.retries,
        "dead_lettered_pops": bridge.pop_worker.dead_lettered,
        "dead_lettered_log": bridge.log_worker.dead_lettered,
        "pbx_record_added": bridge.reconciler.stats["added"],
        "pbx_record_corrected": bridge.reconciler.stats["corrected"],
        "pbx_record_closed": bridge.reconciler.stats["closed"],
        "pops_closed_after_resync": bridge.pop_checker.stats["closed"],
        "acw_started": bridge.acw_stats["started"],
        "acw_not_started": bridge.acw_stats["skipped"] + bridge.acw_stats["failed"],
    }


class StatusPublisher:
    """Publishes the bridge's status at most every ``every_s`` (``publish_if_due``)."""

    def __init__(self, bridge: Any, redis_client: redis.Redis, *,
                 every_s: float = BRIDGE_STATUS_EVERY_S) -> None:
        self.bridge = bridge
        self.redis = redis_client
        self.every_s = every_s
        self._next = 0.0

    def publish_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.every_s
        try:
            write_bridge_status(self.redis, ami_up=self.bridge.ami.connected,
                                counters=bridge_counters(self.bridge))
        except redis.RedisError as exc:  # the status lapses: /healthz says so
            log.warning("could not publish the bridge status: %s", exc)
