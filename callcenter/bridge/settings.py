"""The bridge's own settings, from the environment like every other process's."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from callcenter.config import ConfigError
from telephony.agi.access import (
    DEFAULT_ALLOWED_PEERS,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_PER_PEER,
    parse_peers,
)


@dataclass(frozen=True)
class AGIAccess:
    """Who may use the FastAGI server and how much of it (telephony.agi.access)."""

    #: ``AGI_ALLOWED_PEERS``: the PBXes' addresses or CIDR ranges (IPv4, IPv6).
    allowed_peers: tuple[str, ...] = DEFAULT_ALLOWED_PEERS
    #: ``AGI_MAX_CONNECTIONS_PER_PEER``: connections one address may hold at once.
    max_per_peer: int = DEFAULT_MAX_PER_PEER
    #: ``AGI_IDLE_TIMEOUT``: seconds a new connection may stay silent.
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT

    def server_options(self) -> dict[str, Any]:
        """FastAGIServer's keyword arguments for these limits."""
        return {"allowed_peers": self.allowed_peers, "max_per_peer": self.max_per_peer,
                "idle_timeout": self.idle_timeout_s}


@dataclass(frozen=True)
class BridgeSettings:
    ami_host: str
    ami_port: int
    ami_username: str
    ami_secret: str
    agi_host: str
    agi_port: int
    #: How long the leader lock lives without a renewal: a standby takes over after it.
    leader_ttl_s: float = 5.0
    #: Asterisk's queue_log (PBX_QUEUE_LOG): the PBX's own record the call log is
    #: repaired from after an outage (callcenter.bridge.pbx_record). None: not read.
    queue_log_path: str | None = None
    #: A write failing this long (database or Redis down) goes to the dead letter.
    dead_letter_after_s: float = 300.0
    agi_access: AGIAccess = field(default_factory=AGIAccess)


def load_agi_access(env: dict | None = None) -> AGIAccess:
    """AGI_ALLOWED_PEERS, AGI_MAX_CONNECTIONS_PER_PEER, AGI_IDLE_TIMEOUT."""
    env = dict(os.environ if env is None else env)
    raw = env.get("AGI_ALLOWED_PEERS") or ",".join(DEFAULT_ALLOWED_PEERS)
    try:
        peers = tuple(str(net) for net in parse_peers(raw))
    except ValueError as exc:
        raise ConfigError(f"AGI_ALLOWED_PEERS: {exc}; give addresses or CIDR ranges "
                          "separated by commas, e.g. 172.28.0.10,10.1.0.0/24") from None
    limit_text = env.get("AGI_MAX_CONNECTIONS_PER_PEER") or str(DEFAULT_MAX_PER_PEER)
    try:
        limit = int(limit_text)
    except ValueError:
        raise ConfigError(f"AGI_MAX_CONNECTIONS_PER_PEER: {limit_text!r} is not a whole "
                          "number") from None
    if not 1 <= limit <= 100_000:
        raise ConfigError("AGI_MAX_CONNECTIONS_PER_PEER: must be between 1 and 100000")
    idle_text = env.get("AGI_IDLE_TIMEOUT") or str(DEFAULT_IDLE_TIMEOUT)
    try:
        idle = float(idle_text)
    except ValueError:
        raise ConfigError(f"AGI_IDLE_TIMEOUT: {idle_text!r} is not a number of seconds") \
            from None
    if not 0.1 <= idle <= 60:
        raise ConfigError("AGI_IDLE_TIMEOUT: must be between 0.1 and 60 seconds")
    return AGIAccess(allowed_peers=peers, max_per_peer=limit, idle_timeout_s=idle)


def _port(env: dict, name: str, default: int) -> int:
    text = env.get(name) or str(default)
    try:
        port = int(text)
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name}: {port} is not a port number (0-65535)")
    return port


def load_bridge_settings(env: dict | None = None) -> BridgeSettings:
    """AMI_HOST, AMI_PORT, AMI_USERNAME, AMI_SECRET, AGI_HOST, AGI_PORT, BRIDGE_LEADER_TTL,
    PBX_QUEUE_LOG, BRIDGE_DEAD_LETTER_AFTER and the FastAGI limits (``load_agi_access``)."""
    env = dict(os.environ if env is None else env)
    username, secret = env.get("AMI_USERNAME", ""), env.get("AMI_SECRET", "")
    # There is no default AMI account: a bridge that logged in as someone unintended
    # would be worse than one that says what is missing.
    if not username:
        raise ConfigError("AMI_USERNAME: not set; the bridge needs an AMI user "
                          "(deploy/asterisk/manager.conf has one called 'bridge')")
    if not secret:
        raise ConfigError("AMI_SECRET: not set; give the secret of AMI_USERNAME")
    ttl_text = env.get("BRIDGE_LEADER_TTL", "5")
    try:
        ttl = float(ttl_text)
    except ValueError:
        raise ConfigError(f"BRIDGE_LEADER_TTL: {ttl_text!r} is not a number of seconds") \
            from None
    if not 0.5 <= ttl <= 300:
        raise ConfigError("BRIDGE_LEADER_TTL: must be between 0.5 and 300 seconds")
    dead_text = env.get("BRIDGE_DEAD_LETTER_AFTER") or "300"
    try:
        dead_after = float(dead_text)
    except ValueError:
        raise ConfigError(f"BRIDGE_DEAD_LETTER_AFTER: {dead_text!r} is not a number of "
                          "seconds") from None
    if not 1 <= dead_after <= 86400:
        raise ConfigError("BRIDGE_DEAD_LETTER_AFTER: must be between 1 and 86400 seconds")
    return BridgeSettings(
        ami_host=env.get("AMI_HOST") or "127.0.0.1", ami_port=_port(env, "AMI_PORT", 5038),
        ami_username=username, ami_secret=secret,
        agi_host=env.get("AGI_HOST") or "127.0.0.1", agi_port=_port(env, "AGI_PORT", 4573),
        leader_ttl_s=ttl, queue_log_path=env.get("PBX_QUEUE_LOG") or None,
        dead_letter_after_s=dead_after, agi_access=load_agi_access(env))
