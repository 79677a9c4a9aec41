"""Scale-out: 1,000 connected agents across 3 `callcenter serve` processes, 20 calls/s.

The screen-pop path of bench/screen_pop.py (this script plays the PBX over AMI,
``callcenter bridge`` tracks the calls and looks the callers up on PostgreSQL, and
publishes once through Redis), with the web side scaled out: ``--servers`` serve
processes (gunicorn, one gthread worker each) on the same database and Redis, and
``--agents`` Socket.IO clients (WebSocket, one asyncio loop) spread evenly over them,
agent n on server n mod servers. Every call rings 3 agents, so the pops of most calls
are delivered by more than one process.

Measured per ``call.ringing``: client receive time minus the time the ``AgentCalled``
frame was written (one clock), p50/p99/max and how many never arrived; per serve
process (arbiter and worker): CPU seconds while the calls ran and in all, RSS, threads.
In the same run, the baseline: the bare Redis -> Socket.IO hop (a write-only
``SocketIO(message_queue=...)`` emitting to the same clients at the same pace).

    python bench/scale_out.py                                  # 1,000 agents, 3 servers
    python bench/scale_out.py --agents 300 --calls 200         # a quick try
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import socketio
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
import customer_lookup as lookup_bench  # noqa: E402
import screen_pop  # noqa: E402 - the fake PBX, the agents' seeding and the summaries

from callcenter.migrate import upgrade  # noqa: E402
from callcenter.users.models import User  # noqa: E402
from callcenter.users.services import create_user, issue_api_token  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 20.0


def seed(url: str, args, rng: random.Random
         ) -> tuple[list[tuple[str, int]], list[str], list[int]]:
    """N customers and the agents (caller numbers, API tokens, user ids), as screen_pop's
    seed, but with one password hash for every agent: they connect with API tokens, and
    a thousand password hashes would cost minutes of CPU before anything is measured."""
    engine = create_engine(url)
    with engine.begin() as conn:
        phones = lookup_bench.generate(conn, args.customers)
        conn.execute(text("ANALYZE"))
        numbers = lookup_bench.sample(conn, rng, phones, 2000)
    tokens, ids = [], []
    with Session(engine) as session:
        first = create_user(session, username="bench0", password="bench-password-0",  # noqa: S106
                            role="agent", interface="Local/bench0@agents/n")
        users = [first] + [
            User(username=f"bench{n}", display_name=f"bench{n}",
                 password_hash=first.password_hash, role=first.role, scope=first.scope,
                 interface=f"Local/bench{n}@agents/n", locale=first.locale)
            for n in range(1, args.agents)]
        session.add_all(users[1:])
        session.flush()
        for user in users:
            tokens.append(issue_api_token(session, user))
            ids.append(user.id)
        session.commit()
    engine.dispose()
    return numbers, tokens, ids


def process_figures(proc: psutil.Process, cpu_at_start: dict[int, float], *,
                    children: bool = True) -> dict:
    """CPU seconds (since ``cpu_at_start`` and in all), RSS and threads of a process
    (with its children: a serve process with its gunicorn worker)."""
    result = {"pid": proc.pid, "cpu_s_total": 0.0, "cpu_s_during_calls": 0.0,
              "rss_mb": 0.0, "threads": 0, "processes": 0}
    for member in [proc, *(proc.children(recursive=True) if children else ())]:
        try:
            times = member.cpu_times()
            cpu = times.user + times.system
            result["cpu_s_total"] += cpu
            result["cpu_s_during_calls"] += cpu - cpu_at_start.get(member.pid, 0.0)
            result["rss_mb"] += member.memory_info().rss / 2**20
            result["threads"] += member.num_threads()
            result["processes"] += 1
        except psutil.NoSuchProcess:
            continue
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}


def cpu_snapshot(procs: list[psutil.Process]) -> dict[int, float]:
    snapshot = {}
    for proc in procs:
        for member in [proc, *proc.children(recursive=True)]:
            try:
                times = member.cpu_times()
                snapshot[member.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                continue
    return snapshot


async def connect_agents(ports: list[int], tokens: list[str], inbox: dict,
                         batch: int = 25) -> list:
    """One WebSocket client per agent, agent n on ``ports[n % len(ports)]``."""
    clients: list = []

    async def connect(n: int, token: str) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)

        def on_ringing(data, n=n):
            key = ("call.ringing", data.get("call_id"), n)
            if key not in inbox:
                inbox[key] = time.time()
                inbox[("stamps",) + key[1:]] = (data.get("ami_read_at"), data.get("sent_at"))

        def on_probe(data, n=n):
            inbox.setdefault(("probe", data.get("i"), n), time.time())

        client.on("call.ringing", on_ringing)
        client.on("bench.probe", on_probe)
        await client.connect(f"http://127.0.0.1:{ports[n % len(ports)]}",
                             auth={"token": token}, transports=["websocket"],
                             wait_timeout=30)
        return client

    for start in range(0, len(tokens), batch):
        clients += await asyncio.gather(*(connect(n, tokens[n]) for n in
                                          range(start, min(start + batch, len(tokens)))))
    return clients


def _wait_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


async def measure(args, env: dict, numbers: list[tuple[str, int]], tokens: list[str],
                  user_ids: list[int]) -> dict:
    rng = random.Random(args.seed)
    pbx = screen_pop.FakePbx()
    server = await asyncio.start_server(pbx.handle, "127.0.0.1", 0)
    env["AMI_PORT"] = str(server.sockets[0].getsockname()[1])
    ports = [screen_pop.free_port() for _ in range(args.servers)]
    serves = [subprocess.Popen([sys.executable, "-m", "callcenter", "serve", "--port",  # noqa: S603
                                str(port)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL) for port in ports]
    bridge = subprocess.Popen([sys.executable, "-m", "callcenter", "bridge"], env=env,  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    inbox: dict = {}
    clients: list = []
    try:
        for port in ports:
            await asyncio.to_thread(_wait_port, port)
        await asyncio.wait_for(pbx.ready.wait(), 30)
        t0 = time.perf_counter()
        clients = await connect_agents(ports, tokens, inbox)
        connect_s = time.perf_counter() - t0
        await asyncio.sleep(2.0)  # the bridge's directory and pools warm up

        # Baseline: the bare Redis -> Socket.IO hop, same clients, same pace.
        from flask_socketio import SocketIO

        from callcenter.realtime.live import channel_for
        emitter = SocketIO(message_queue=env["REDIS_URL"],
                           channel=channel_for(env["REDIS_URL"]))
        probes: dict = {}
        for i in range(args.baseline):
            n = rng.randrange(len(tokens))
            probes[(i, n)] = time.time()
            emitter.emit("bench.probe", {"i": i}, to=f"agent:{user_ids[n]}")
            await asyncio.sleep(rng.expovariate(args.rate * 3))
        await asyncio.sleep(1.0)
        base_ms = [(inbox[("probe", i, n)] - t) * 1000 for (i, n), t in probes.items()
                   if ("probe", i, n) in inbox]

        # The product path.
        watched = [psutil.Process(p.pid) for p in serves]
        cpu_start = cpu_snapshot([*watched, psutil.Process(bridge.pid)])
        bench_cpu_start = cpu_snapshot([psutil.Process()])
        calls_t0 = time.perf_counter()
        written: dict = {}
        pending: list = []
        loop = asyncio.get_running_loop()
        t_next = time.monotonic()
        for _ in range(args.calls):
            agents = rng.sample(range(len(tokens)), 3)
            number, customer_id = rng.choice(numbers)
            linked, channels, lookup, ring, connect, end = pbx.call_frames(
                number, customer_id, agents)
            await pbx.write(channels)
            pending.append(loop.call_later(0.50, pbx.writers[-1].write, lookup))
            pending.append(loop.call_later(
                0.55, lambda r=ring, a=agents, c=linked, lp=loop: lp.create_task(
                    screen_pop.self_timed_ring(pbx, r, a, c, written))))
            pending.append(loop.call_later(1.5, pbx.writers[-1].write, b"".join(connect)))
            pending.append(loop.call_later(2.5, pbx.writers[-1].write, b"".join(end)))
            t_next += rng.expovariate(args.rate)
            await asyncio.sleep(max(0.0, t_next - time.monotonic()))
        await asyncio.sleep(4.0)
        calls_s = time.perf_counter() - calls_t0
        per_server = []
        for n, proc in enumerate(watched):
            figures = process_figures(proc, cpu_start)
            figures["agents"] = len(range(n, len(tokens), args.servers))
            figures["cpu_share_during_calls"] = round(figures["cpu_s_during_calls"] / calls_s, 3)
            per_server.append(figures)
        bridge_figures = process_figures(psutil.Process(bridge.pid), cpu_start)

        pop_ms, read_ms, bridge_ms, hop_ms = [], [], [], []
        for (cid, a), t in written.items():
            got = inbox.get(("call.ringing", cid, a))
            if got is None:
                continue
            read_at, sent_at = inbox[("stamps", cid, a)]
            pop_ms.append((got - t) * 1000)
            read_ms.append((read_at - t) * 1000)
            bridge_ms.append((sent_at - read_at) * 1000)
            hop_ms.append((got - sent_at) * 1000)
        parts = screen_pop.percentiles
        return {
            "pop": {**screen_pop.percentiles(pop_ms), "expected": len(written),
                    "missing": len(written) - len(pop_ms),
                    "what": "AMI AgentCalled written -> call.ringing received"},
            "pop_parts": {
                "socket_to_bridge_read": parts(read_ms),
                "bridge_read_to_published": parts(bridge_ms),
                "published_to_received": parts(hop_ms),
                "what": "the same pops split at ami_read_at and sent_at (same clock)"},
            "baseline_redis_to_socketio": {**screen_pop.percentiles(base_ms),
                                           "expected": len(probes),
                                           "missing": len(probes) - len(base_ms),
                                           "what": "write-only SocketIO emit -> received"},
            "connect_all_agents_s": round(connect_s, 1),
            "calls_window_s": round(calls_s, 1),
            "serve_processes": per_server,
            "bridge_process": bridge_figures,
            # This script: the PBX and the 1,000 clients share one asyncio loop.
            "bench_process": process_figures(psutil.Process(), bench_cpu_start,
                                             children=False),
        }
    finally:
        for client in clients:
            await client.disconnect()
        for proc in [*serves, bridge]:
            proc.terminate()
        for proc in [*serves, bridge]:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for writer in pbx.writers:  # the bridge is gone: end the handlers, then the server
            writer.close()
        await asyncio.sleep(0.1)
        server.close()


def run(args) -> dict:
    rng = random.Random(args.seed)
    name, url = lookup_bench.create_database(args.database_url)
    result: dict = {"database": name, "customers": args.customers, "agents": args.agents,
                    "servers": args.servers, "rate": args.rate, "calls": args.calls,
                    "cpus": os.cpu_count(),
                    "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        upgrade(url)
        numbers, tokens, user_ids = seed(url, args, rng)
        with tempfile.TemporaryDirectory() as instance:
            env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url,
                   "CALLCENTER_INSTANCE": instance, "SECRET_KEY": "bench-secret-key-123456",
                   "AMI_USERNAME": "bench", "AMI_SECRET": "bench",
                   "AGI_PORT": str(screen_pop.free_port()), "PYTHONPATH": str(ROOT)}
            import redis
            redis.Redis.from_url(args.redis_url).flushdb()
            result.update(asyncio.run(measure(args, env, numbers, tokens, user_ids)))
        result["target_p99_ms"] = TARGET_P99_MS
        result["meets_target"] = (result["pop"].get("p99_ms", 1e9) <= TARGET_P99_MS
                                  and result["pop"]["missing"] == 0)
        result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if not args.keep:
            lookup_bench.drop_database(args.database_url, name)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second")
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--baseline", type=int, default=1000, help="bare-hop messages")
    parser.add_argument("--database-url", default=lookup_bench.DEFAULT_ADMIN_URL)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL",
                                                              "redis://127.0.0.1:6379/14"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
