"""Only one bridge per PBX: the leader lock on a real Redis, and the bridge's settings."""

from __future__ import annotations

import time

import pytest

from callcenter.bridge.leader import LeaderLock
from callcenter.bridge.settings import load_bridge_settings
from callcenter.config import ConfigError


def test_one_holder_at_a_time(redis_conn):
    first = LeaderLock(redis_conn, ttl_s=2, holder="bridge-a")
    second = LeaderLock(redis_conn, ttl_s=2, holder="bridge-b")
    assert first.acquire()
    assert not second.acquire()
    assert second.current_holder() == "bridge-a"
    assert first.renew()
    assert not second.renew(), "a standby must not extend the leader's lock"


def test_standby_takes_over_when_the_lock_lapses(redis_conn):
    first = LeaderLock(redis_conn, ttl_s=0.3, holder="bridge-a")
    second = LeaderLock(redis_conn, ttl_s=0.3, holder="bridge-b")
    assert first.acquire()
    time.sleep(0.45)  # the leader died: no renewal within its TTL
    assert second.acquire()
    # The old leader wakes up: it can neither renew nor release its successor's lock.
    assert not first.renew()
    first.release()
    assert second.current_holder() == "bridge-b"


def test_release_frees_the_lock_at_once(redis_conn):
    first = LeaderLock(redis_conn, ttl_s=30, holder="bridge-a")
    second = LeaderLock(redis_conn, ttl_s=30, holder="bridge-b")
    assert first.acquire()
    first.release()
    assert second.acquire()


def test_settings_defaults_and_errors():
    s = load_bridge_settings({"AMI_USERNAME": "bridge", "AMI_SECRET": "pw"})
    assert (s.ami_host, s.ami_port, s.agi_host, s.agi_port) == ("127.0.0.1", 5038,
                                                                "127.0.0.1", 4573)
    with pytest.raises(ConfigError, match="AMI_USERNAME"):
        load_bridge_settings({"AMI_SECRET": "pw"})
    with pytest.raises(ConfigError, match="AMI_SECRET"):
        load_bridge_settings({"AMI_USERNAME": "bridge"})
    with pytest.raises(ConfigError, match="AMI_PORT"):
        load_bridge_settings({"AMI_USERNAME": "b", "AMI_SECRET": "s", "AMI_PORT": "50x"})
    with pytest.raises(ConfigError, match="AGI_PORT"):
        load_bridge_settings({"AMI_USERNAME": "b", "AMI_SECRET": "s", "AGI_PORT": "70000"})
