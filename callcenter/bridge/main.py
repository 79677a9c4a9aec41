"""`callcenter bridge`: wait to be the leader, then bridge until stopped or deposed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time

import redis

from callcenter.bridge.leader import LeaderLock
from callcenter.bridge.settings import BridgeSettings
from callcenter.config import Settings

log = logging.getLogger(__name__)


def make_publisher(redis_client: redis.Redis, redis_url: str):
    from callcenter.realtime.publish import LivePublisher
    return LivePublisher(redis_client, redis_url)


async def run_bridge(settings: Settings, bridge_settings: BridgeSettings,
                     stop: asyncio.Event | None = None, *,
                     on_leader: threading.Event | None = None) -> int:
    """Standby until the leader lock is ours, then run the bridge while we keep it.

    Returns 0 when stopped. Losing the lock (Redis gone, or a stall past the TTL)
    stops this bridge's work at once; it then goes back to standby.
    """
    from callcenter.bridge.service import Bridge
    from callcenter.core.domains import init_domains
    from callcenter.db import make_engine, make_sessionmaker
    from callcenter.jobs import redis_url as resolve_redis_url
    from callcenter.redis_conn import redis_from_url

    init_domains()  # the domains' receivers and live events, before any effect
    stop = stop or asyncio.Event()
    url = resolve_redis_url(settings)
    client = redis_from_url(url)
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    lock = LeaderLock(client, bridge_settings.leader_ttl_s)
    from callcenter.bridge.pop_ledger import PopLedger
    # Outlives each leader term: after a Redis outage deposed this bridge and it leads
    # again, it still knows which pops it sent, even if Redis came back empty.
    ledger = PopLedger()
    announced_standby = False
    try:
        while not stop.is_set():
            asked_at = time.monotonic()
            try:
                leader = await asyncio.to_thread(lock.acquire)
            except redis.RedisError as exc:
                log.warning("Redis unavailable for the leader lock (%s); retrying", exc)
                leader = False
            if not leader:
                if not announced_standby:
                    holder = await asyncio.to_thread(_holder, lock)
                    log.info("standby: another bridge (%s) is active; waiting to take over",
                             holder)
                    announced_standby = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), lock.renew_every_s)
                continue
            announced_standby = False
            log.info("active: this bridge (%s) holds the PBX link", lock.holder)
            if on_leader is not None:
                on_leader.set()
            deposed = asyncio.Event()
            both = asyncio.Event()
            bridge = Bridge(settings, bridge_settings, session_factory=factory,
                            redis_client=client, publisher=make_publisher(client, url),
                            ledger=ledger)
            bridge.lease_until = asked_at + lock.ttl_ms / 1000
            keeper = asyncio.create_task(_keep_lock(lock, stop, deposed, both, bridge))
            try:
                await bridge.run(both)
            finally:
                both.set()
                await keeper
                if not deposed.is_set():
                    await asyncio.to_thread(lock.release)
            if deposed.is_set():
                log.error("lost the leader lock; this bridge stopped its work")
    finally:
        engine.dispose()
    return 0


def _holder(lock: LeaderLock) -> str:
    try:
        return lock.current_holder() or "?"
    except redis.RedisError:
        return "?"


async def _keep_lock(lock: LeaderLock, stop: asyncio.Event, deposed: asyncio.Event,
                     both: asyncio.Event, bridge=None) -> None:
    """Renew the lock; set ``both`` when told to stop or when the lock is lost.

    A Redis hiccup is not a loss while the lock's TTL has not run out since the last
    renewal; after that another bridge may hold it, so this one must stop. Each renewal
    moves ``bridge.lease_until`` on (TTL from when it was sent): if this loop stalls past
    it, the bridge drops the events it reads on waking instead of acting on them before
    this task gets to find out the lock is gone.
    """
    loop = asyncio.get_running_loop()
    renewed_at = loop.time()
    # The first renewal goes out as soon as the loop is free: the lease was counted from
    # before the acquire, and building the Bridge and starting it ate into it.
    first = True
    while not both.is_set():
        if not first:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_first(stop, both), lock.renew_every_s)
        first = False
        if stop.is_set():
            both.set()
            return
        asked_at = time.monotonic()
        try:
            kept = await asyncio.to_thread(lock.renew)
        except redis.RedisError as exc:
            log.warning("could not renew the leader lock: %s", exc)
            kept = loop.time() - renewed_at < lock.ttl_ms / 1000 - lock.renew_every_s
        else:
            if kept:
                renewed_at = loop.time()
                if bridge is not None:
                    _warn_if_late(bridge.lease_until - asked_at, lock)
                    bridge.lease_until = asked_at + lock.ttl_ms / 1000
        if not kept:
            deposed.set()
            both.set()
            return


def _warn_if_late(left_s: float, lock: LeaderLock) -> None:
    """Say so when a renewal went out with less than one renewal interval of the lease
    left: a little more delay and this bridge would have stopped itself."""
    if left_s < lock.renew_every_s:
        log.warning("the leader lock was renewed with %.0f ms of its lease left (TTL %d "
                    "ms): this bridge's event loop is running late", left_s * 1000,
                    lock.ttl_ms)


async def _first(*events: asyncio.Event) -> None:
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waits:
            task.cancel()


def main(settings: Settings, bridge_settings: BridgeSettings) -> int:
    """The CLI entry: run until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    async def _main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        return await run_bridge(settings, bridge_settings, stop)
    return asyncio.run(_main())
