"""Issue 9, defect 5: the FastAGI server answered anyone who could reach its port, and a
flood of idle connections kept the PBX's calls from being looked up.

Now ``AGI_ALLOWED_PEERS`` (addresses or CIDR ranges, IPv4 and IPv6; loopback by default)
says who may connect: anyone else is closed before a variable is set or a query runs,
logged and counted. One address holds at most ``AGI_MAX_CONNECTIONS_PER_PEER``
connections, a silent one is dropped after ``AGI_IDLE_TIMEOUT``, and idle connections
give their place up first. All over real loopback sockets: 127.0.0.0/8 is local, so
127.0.0.2 and 127.0.0.3 stand for other hosts.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time

import pytest
from agi_fake import FakeAsterisk, asterisk_env
from sqlalchemy.orm import sessionmaker

from callcenter.bridge.agi_scripts import CallCenterScripts, create_fastagi_server
from callcenter.bridge.settings import AGIAccess, load_agi_access, load_bridge_settings
from callcenter.config import ConfigError
from telephony.agi import FastAGIThread
from telephony.agi.access import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_PER_PEER,
    is_allowed,
    parse_peers,
    peer_address,
)

FLOOD = 1500
PBX = "127.0.0.2"        # an allowed PBX of its own
ATTACKER = "127.0.0.1"   # allowed too: a process on the PBX's own host, say
STRANGER = "127.0.0.3"   # not allowed


@pytest.fixture
def start_server(connection):
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                           expire_on_commit=False)
    threads: list[FastAGIThread] = []

    def start(host: str = "127.0.0.1", **options):
        server = create_fastagi_server(factory, host=host, port=0, db_workers=1, region="CN",
                                       timezone="Asia/Shanghai",
                                       scripts=CallCenterScripts(), **options)
        threads.append(FastAGIThread(server).start())
        return server

    yield start
    for thread in threads:
        thread.stop()


@pytest.fixture
def customer(make_user, make_customer):
    return make_customer(make_user("admin"), name="北京燕山石化", phones=["138 1234 5678"],
                         tier="vip")


def lookup(server, source: str | None = None, host: str = "127.0.0.1") -> FakeAsterisk:
    return FakeAsterisk(server.port, env=asterisk_env(callerid="13812345678"), source=source,
                        host=host).run(timeout=10)


# --- who may connect ------------------------------------------------------------------

def test_allowed_peers_setting_defaults_to_loopback_and_takes_cidr_ranges():
    assert load_agi_access({}) == AGIAccess(allowed_peers=("127.0.0.0/8", "::1/128"),
                                            max_per_peer=DEFAULT_MAX_PER_PEER,
                                            idle_timeout_s=DEFAULT_IDLE_TIMEOUT)
    access = load_agi_access({"AGI_ALLOWED_PEERS": " 172.28.0.10, 10.1.0.0/24,fd00::/8 ",
                              "AGI_MAX_CONNECTIONS_PER_PEER": "50",
                              "AGI_IDLE_TIMEOUT": "1.5"})
    assert access == AGIAccess(("172.28.0.10/32", "10.1.0.0/24", "fd00::/8"), 50, 1.5)
    for name, bad in [("AGI_ALLOWED_PEERS", "asterisk"), ("AGI_ALLOWED_PEERS", " , "),
                      ("AGI_ALLOWED_PEERS", "10.0.0.0/33"),
                      ("AGI_MAX_CONNECTIONS_PER_PEER", "0"), ("AGI_IDLE_TIMEOUT", "x")]:
        with pytest.raises(ConfigError, match=name):
            load_agi_access({name: bad})
    bridge = load_bridge_settings({"AMI_USERNAME": "bridge", "AMI_SECRET": "pw",
                                   "AGI_ALLOWED_PEERS": "172.28.0.10"})
    assert bridge.agi_access.allowed_peers == ("172.28.0.10/32",)


def test_a_stranger_is_closed_before_anything_is_set_logged_and_counted(
        start_server, customer, monkeypatch, caplog):
    # No access passed: the bridge's server reads AGI_ALLOWED_PEERS itself.
    monkeypatch.setenv("AGI_ALLOWED_PEERS", f"{PBX}/32")
    server = start_server()
    caplog.set_level(logging.WARNING, logger="telephony.agi.server")
    stranger = lookup(server, source=STRANGER)
    assert stranger.commands == [] and stranger.variables == {}
    assert server.stats["rejected_peer"] == 1 and server.stats["completed"] == 0
    assert any(STRANGER in r.getMessage() and "refused" in r.getMessage()
               for r in caplog.records)
    assert lookup(server, source=PBX).variables["CUSTOMER_ID"] == str(customer.id)


def test_ipv6_peers_and_ipv4_mapped_addresses(start_server, customer):
    mapped = peer_address(("::ffff:127.0.0.3", 4573, 0, 0))
    assert mapped == ipaddress.IPv4Address("127.0.0.3")
    assert is_allowed(mapped, parse_peers("127.0.0.0/8"))
    assert not is_allowed(peer_address(("::1", 1, 0, 0)), parse_peers("127.0.0.0/8"))
    assert not is_allowed(None, parse_peers("127.0.0.0/8"))
    try:
        server = start_server(host="::1")  # default: loopback, ::1 included
    except OSError:
        pytest.skip("no IPv6 loopback here")
    assert lookup(server, host="::1").variables["CUSTOMER_ID"] == str(customer.id)
    only_v4 = start_server(host="::1", access=AGIAccess(allowed_peers=("127.0.0.0/8",)))
    assert lookup(only_v4, host="::1").commands == []
    assert only_v4.stats["rejected_peer"] == 1


# --- a flood of idle connections ------------------------------------------------------

def _open_idle(port: int, source: str, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))
        socks.append(sock)
    return socks


def test_1500_idle_connections_do_not_stop_a_pbx_lookup(start_server, customer):
    """Default limits: 1,500 idle connections from an allowed address and 1,500 from a
    stranger, then real lookups from the PBX (and one from the flooding address itself)
    are answered at once, long before any idle timeout would have freed a place."""
    server = start_server(access=AGIAccess(allowed_peers=(ATTACKER, f"{PBX}/32")))
    assert server.max_sessions < FLOOD
    socks: list[socket.socket] = []
    try:
        socks += _open_idle(server.port, STRANGER, FLOOD)
        socks += _open_idle(server.port, ATTACKER, FLOOD)
        deadline = time.monotonic() + 5
        while server.stats["connections"] < 2 * FLOOD and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.stats["rejected_peer"] == FLOOD
        # The flooding address holds as many idle connections as it may, right now.
        assert server.connections.per_peer[ATTACKER] == server.connections.max_per_peer

        for source in (PBX, ATTACKER, PBX):
            started = time.monotonic()
            fake = lookup(server, source=source)
            elapsed = time.monotonic() - started
            assert fake.variables["CUSTOMER_ID"] == str(customer.id), (source, server.stats)
            assert fake.variables["CUSTOMER_TIER"] == "vip"
            assert elapsed < min(1.0, server.idle_timeout / 2), (source, elapsed)
        assert server.stats["completed"] == 3
        assert server.stats["evicted_idle"] >= FLOOD - server.connections.max_per_peer
        assert server.active <= server.connections.max_per_peer
    finally:
        for sock in socks:
            sock.close()


def test_a_silent_connection_is_dropped_after_the_idle_timeout(start_server):
    server = start_server(access=AGIAccess(idle_timeout_s=0.3))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(asterisk_env()[0][:40])  # half a line, then nothing
        started = time.monotonic()
        assert sock.recv(10) == b""
        assert 0.2 < time.monotonic() - started < 2.0
    assert server.stats["idle_timeout"] == 1


def test_one_address_cannot_hold_more_than_its_share(start_server):
    server = start_server(access=AGIAccess(max_per_peer=3), reply_timeout=30)
    sessions = [FakeAsterisk(server.port, silent=True) for _ in range(3)]
    runners = [threading.Thread(target=f.run, daemon=True) for f in sessions]
    for runner in runners:
        runner.start()
    deadline = time.monotonic() + 5
    while sum(len(f.commands) for f in sessions) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    # Three running sessions (none idle) from 127.0.0.1: a fourth is refused, while
    # another address still gets in.
    assert lookup(server).commands == []
    assert server.stats["rejected_peer_limit"] == 1
    assert lookup(server, source=PBX).variables["QUEUE_PRIORITY"] == "1"
