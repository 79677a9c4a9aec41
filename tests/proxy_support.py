"""deploy/haproxy/haproxy.cfg run by the real haproxy binary in front of real
`callcenter serve` processes, for test_proxy.py and security/test_proxy_tls.py.

The deployed config with changes for a host without Docker only: it listens on free
loopback ports (HTTP and HTTPS), its certificate folder holds a throwaway one made by
the deployed deploy/haproxy/make-cert.sh (openssl), and the servers are named by address
instead of found through docker's DNS.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from serve_support import ServeProcess, free_port, serve_env
from stack import seed, wait_until

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
MAKE_CERT = ROOT / "deploy" / "haproxy" / "make-cert.sh"


def make_cert(folder: Path, hostname: str = "127.0.0.1") -> Path:
    """A self-signed certificate for ``hostname``, as the compose tls-init makes it."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sh", str(MAKE_CERT), str(folder)], check=True, capture_output=True,
                   timeout=60, env={**os.environ, "TLS_HOSTNAME": hostname})
    return folder / "site.pem"


def local_config(ports: list[int], listen: int, listen_tls: int, certs: Path) -> str:
    """The deployed config on ``listen``/``listen_tls``, with the servers at ``ports``."""
    cfg = HAPROXY_CFG.read_text()
    cfg, bound = re.subn(r"^(\s*)bind :8080$", rf"\1bind 127.0.0.1:{listen}", cfg, flags=re.M)
    cfg, bound_tls = re.subn(r"^(\s*)bind :8443 ssl crt /usr/local/etc/haproxy/certs/ ",
                             rf"\1bind 127.0.0.1:{listen_tls} ssl crt {certs}/ ", cfg,
                             flags=re.M)
    servers = "\n".join(f"    server web{n} 127.0.0.1:{port} check inter 1s"
                        for n, port in enumerate(ports, 1))
    cfg, templated = re.subn(r"^\s*server-template .*$", servers, cfg, flags=re.M)
    cfg = re.sub(r"^resolvers docker\n(    .*\n)+", "", cfg, flags=re.M)  # no docker DNS
    assert (bound, bound_tls, templated) == (1, 1, 1) and "127.0.0.11" not in cfg
    return cfg


@dataclass
class Proxied:
    http: str           # the plain-HTTP port (redirects)
    https: str          # the HTTPS port
    cert: Path          # to verify the HTTPS port with
    env: dict[str, str]
    servers: list[ServeProcess]
    ids: dict[str, int]
    tokens: dict[str, str]


@contextmanager
def proxied_serves(database_url: str, redis_url: str, tmp_path: Path, count: int = 2,
                   seeded: tuple[dict[str, int], dict[str, str]] | None = None,
                   **extra_env: str) -> Iterator[Proxied]:
    """``count`` serve processes (PROXY_HOPS=1) behind haproxy with the deployed config.
    ``seeded``: what ``stack.seed`` returned for this database, when it is a seeded copy
    (``fresh_database.seeded``); else it is seeded here."""
    ids, tokens = seeded or seed(database_url)
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {**serve_env(database_url, redis_url, instance), "PROXY_HOPS": "1", **extra_env}
    cert = make_cert(tmp_path / "certs")  # before any process starts: nothing to leak
    servers: list[ServeProcess] = []
    proxy = None
    try:
        for n in range(1, count + 1):
            servers.append(ServeProcess(env, tmp_path / f"serve-{n}.log"))
        listen, listen_tls = free_port(), free_port()
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(local_config([s.port for s in servers], listen, listen_tls,
                                    cert.parent))
        for server in servers:
            server.wait_ready()
        # Started once every server answers, so its first health checks find them up.
        with (tmp_path / "haproxy.log").open("wb") as log:
            proxy = subprocess.Popen(  # noqa: S603,S607
                ["haproxy", "-W", "-db", "-f", str(cfg)], stdout=log,
                stderr=subprocess.STDOUT, env={**os.environ, "HTTPS_PORT": str(listen_tls)})
        result = Proxied(f"http://127.0.0.1:{listen}", f"https://127.0.0.1:{listen_tls}",
                         cert, env, servers, ids, tokens)
        wait_until(lambda: _answers(result), 20, what="haproxy answers")
        yield result
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)
        for server in servers:
            server.kill()


def _answers(proxied: Proxied) -> bool:
    try:
        return requests.get(proxied.https + "/login", timeout=2,
                            verify=str(proxied.cert)).status_code == 200
    except requests.RequestException:
        return False
