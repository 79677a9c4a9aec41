"""Screen-pop latency: AMI bytes written to the bridge's socket -> Socket.IO event received.

The whole product path, each part a real process: this script plays the PBX (an AMI
server on loopback writing Asterisk 22 frames), ``callcenter bridge`` reads them,
tracks the calls, looks the caller up on PostgreSQL among N customers (default
1,000,000) and publishes through Redis; ``callcenter serve`` pushes the events to
200 connected agent clients (python-socketio AsyncClient, one asyncio loop). Calls
arrive as a Poisson stream (default 20 calls/s), each ringing 3 agents (ringall),
answered by one of them a moment later, ended a moment after that.

Measured per ``call.ringing``: client receive time minus the time the frame holding
that ``AgentCalled`` was written to the bridge's socket. In the same run, the
baseline: the bare Redis -> Socket.IO hop (a write-only ``SocketIO(message_queue=...)``
emitting to the same clients at the same pace), which is the floor under any pop.

    python bench/screen_pop.py                          # 1,000,000 customers, 200 agents
    python bench/screen_pop.py --customers 20000 --calls 200      # a quick try
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
import uuid
from datetime import UTC, datetime
from pathlib import Path

import socketio
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
import customer_lookup as lookup_bench  # noqa: E402 - the generator lives there

from callcenter.migrate import upgrade  # noqa: E402
from callcenter.users.services import create_user, issue_api_token  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def frame(pairs: list[tuple[str, str]]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode()


def _chan(name: str, uid: str, linked: str, num: str, prefix: str = "") -> list:
    return [(f"{prefix}Channel", name), (f"{prefix}ChannelState", "6"),
            (f"{prefix}ChannelStateDesc", "Up"), (f"{prefix}CallerIDNum", num),
            (f"{prefix}CallerIDName", ""), (f"{prefix}ConnectedLineNum", num),
            (f"{prefix}ConnectedLineName", ""), (f"{prefix}Language", "en"),
            (f"{prefix}AccountCode", ""), (f"{prefix}Context", "inbound"),
            (f"{prefix}Exten", "s"), (f"{prefix}Priority", "8"),
            (f"{prefix}Uniqueid", uid), (f"{prefix}Linkedid", linked)]


class FakePbx:
    """The PBX side of AMI: login, the resync lists, and call frames on demand."""

    def __init__(self) -> None:
        self.writers: list[asyncio.StreamWriter] = []
        self.ready = asyncio.Event()
        self.seq = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        buf = b""
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                break
            buf += chunk
            while b"\r\n\r\n" in buf:
                block, buf = buf.split(b"\r\n\r\n", 1)
                headers = dict(line.split(": ", 1) for line in block.decode().split("\r\n")
                               if ": " in line)
                action = headers.get("Action", "").lower()
                aid = headers.get("ActionID", "")
                if action == "login":
                    writer.write(frame([("Response", "Success"), ("ActionID", aid),
                                        ("Message", "Authentication accepted")]))
                    writer.write(frame([("Event", "FullyBooted"), ("Privilege", "system,all"),
                                        ("Uptime", "1"), ("LastReload", "1"),
                                        ("Status", "Fully Booted")]))
                elif action in ("queuestatus", "coreshowchannels"):
                    done = ("QueueStatusComplete" if action == "queuestatus"
                            else "CoreShowChannelsComplete")
                    writer.write(frame([("Response", "Success"), ("ActionID", aid),
                                        ("EventList", "start"),
                                        ("Message", "will follow")]))
                    writer.write(frame([("Event", done), ("ActionID", aid),
                                        ("EventList", "Complete"), ("ListItems", "0")]))
                    if action == "coreshowchannels":
                        self.writers.append(writer)
                        self.ready.set()
                else:
                    writer.write(frame([("Response", "Success"), ("ActionID", aid),
                                        ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")]))
            await writer.drain()

    def call_frames(self, number: str, customer_id: int, agents: list[int]
                    ) -> tuple[str, bytes, bytes, bytes, list, list]:
        """(linkedid, new channels, lookup result, ring, connect, end) of one ringall call.

        As the captures show Asterisk send them: the channels appear, ~0.5 s later the
        dialplan sets CUSTOMER_ID from the FastAGI lookup, ~50 ms later the caller joins
        the queue and every member is rung in the same burst.
        """
        self.seq += 1
        base = 1795455000 + self.seq
        linked, queue_uid = f"{base}.1", f"{base}.2"
        one, two = f"Local/s@inbound-{self.seq:08x};1", f"Local/s@inbound-{self.seq:08x};2"
        caller = _chan(two, queue_uid, linked, number)
        legs = []
        channels = (frame([("Event", "Newchannel"), ("Privilege", "call,all"),
                           *_chan(one, linked, linked, number)])
                    + frame([("Event", "Newchannel"), ("Privilege", "call,all"), *caller]))
        lookup = frame([("Event", "VarSet"), ("Privilege", "dialplan,all"), *caller,
                        ("Variable", "CUSTOMER_ID"), ("Value", str(customer_id))])
        ring = [frame([("Event", "QueueCallerJoin"), ("Privilege", "agent,all"), *caller,
                       ("Queue", "bench"), ("Position", "1"), ("Count", "1")])]
        for i, agent in enumerate(agents):
            leg = f"Local/bench{agent}@agents-{self.seq:06x}{i:02x};1"
            dest = _chan(leg, f"{base}.{10 + i}", linked, number, "Dest")
            legs.append((agent, dest))
            ring.append(frame([("Event", "Newchannel"), ("Privilege", "call,all"),
                               *_chan(leg, f"{base}.{10 + i}", linked, number)]))
            ring.append(frame([("Event", "AgentCalled"), ("Privilege", "agent,all"), *caller,
                               *dest, ("Queue", "bench"),
                               ("Interface", f"Local/bench{agent}@agents/n"),
                               ("MemberName", f"bench{agent}")]))
        winner, wdest = legs[0]
        member = [("Queue", "bench"), ("Interface", f"Local/bench{winner}@agents/n"),
                  ("MemberName", f"bench{winner}")]
        connect = [frame([("Event", "QueueCallerLeave"), ("Privilege", "agent,all"), *caller,
                          ("Queue", "bench"), ("Position", "1"), ("Count", "0")])]
        for _agent, dest in legs[1:]:
            leg_name = dest[0][1]
            connect.append(frame([("Event", "DialEnd"), ("Privilege", "call,all"), *caller,
                                  *dest, ("DialStatus", "CANCEL")]))
            connect.append(frame([("Event", "Hangup"), ("Privilege", "call,all"),
                                  *_chan(leg_name, dest[12][1], linked, number),
                                  ("Cause", "26"), ("Cause-txt", "Answered elsewhere")]))
        connect.append(frame([("Event", "AgentConnect"), ("Privilege", "agent,all"), *caller,
                              *wdest, *member, ("HoldTime", "1"), ("RingTime", "1")]))
        end = [frame([("Event", "AgentComplete"), ("Privilege", "agent,all"), *caller, *wdest,
                      *member, ("HoldTime", "1"), ("TalkTime", "2"), ("Reason", "agent")])]
        for name, uid in ((wdest[0][1], wdest[12][1]), (two, queue_uid), (one, linked)):
            end.append(frame([("Event", "Hangup"), ("Privilege", "call,all"),
                              *_chan(name, uid, linked, number), ("Cause", "16"),
                              ("Cause-txt", "Normal Clearing")]))
        return linked, channels, lookup, b"".join(ring), connect, end

    async def write(self, data: bytes) -> float:
        writer = self.writers[-1]
        t = time.time()
        writer.write(data)
        await writer.drain()
        return t


async def self_timed_ring(pbx: FakePbx, ring: bytes, agents: list[int], linked: str,
                          written: dict) -> None:
    t = await pbx.write(ring)
    for a in agents:
        written[(linked, a)] = t


def percentiles(ms: list[float]) -> dict:
    if not ms:
        return {"n": 0}
    return lookup_bench.summary(ms)


def seed(url: str, args, rng: random.Random
         ) -> tuple[list[tuple[str, int]], list[str], list[int]]:
    """N customers, and the agents with their interfaces: (caller numbers, tokens, ids)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        phones = lookup_bench.generate(conn, args.customers)
        conn.execute(text("ANALYZE"))
        numbers = lookup_bench.sample(conn, rng, phones, 2000)
    tokens, ids = [], []
    with Session(engine) as session:
        for n in range(args.agents):
            user = create_user(session, username=f"bench{n}", password=uuid.uuid4().hex,
                               role="agent", interface=f"Local/bench{n}@agents/n")
            tokens.append(issue_api_token(session, user))
            ids.append(user.id)
        session.commit()
    engine.dispose()
    return numbers, tokens, ids


async def connect_clients(port: int, tokens: list[str], inbox: dict) -> list:
    clients = []
    for n, token in enumerate(tokens):
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
        await client.connect(f"http://127.0.0.1:{port}", auth={"token": token},
                             transports=["websocket"], wait_timeout=10)
        clients.append(client)
    return clients


async def measure(args, env: dict, numbers: list[tuple[str, int]], tokens: list[str],
                  user_ids: list[int]) -> dict:
    rng = random.Random(args.seed)
    pbx = FakePbx()
    server = await asyncio.start_server(pbx.handle, "127.0.0.1", 0)
    env["AMI_PORT"] = str(server.sockets[0].getsockname()[1])
    web_port = free_port()
    procs = [subprocess.Popen([sys.executable, "-m", "callcenter", "serve", "--port",
                               str(web_port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL),
             subprocess.Popen([sys.executable, "-m", "callcenter", "bridge"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    inbox: dict = {}
    clients: list = []
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", web_port), timeout=0.2).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        await asyncio.wait_for(pbx.ready.wait(), 30)
        clients = await connect_clients(web_port, tokens, inbox)
        await asyncio.sleep(1.0)  # the bridge's directory and pools warm up

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
                    self_timed_ring(pbx, r, a, c, written))))
            pending.append(loop.call_later(1.5, pbx.writers[-1].write, b"".join(connect)))
            pending.append(loop.call_later(2.5, pbx.writers[-1].write, b"".join(end)))
            t_next += rng.expovariate(args.rate)
            await asyncio.sleep(max(0.0, t_next - time.monotonic()))
        await asyncio.sleep(4.0)
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
        return {
            "pop": {**percentiles(pop_ms), "expected": len(written),
                    "missing": len(written) - len(pop_ms),
                    "what": "AMI AgentCalled written -> call.ringing received"},
            "pop_parts": {
                "socket_to_bridge_read": percentiles(read_ms),
                "bridge_read_to_published": percentiles(bridge_ms),
                "published_to_received": percentiles(hop_ms),
                "what": "the same pops split at ami_read_at and sent_at (same clock)"},
            "baseline_redis_to_socketio": {**percentiles(base_ms), "expected": len(probes),
                                           "what": "write-only SocketIO emit -> received"},
        }
    finally:
        for client in clients:
            await client.disconnect()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
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
                    "rate": args.rate, "calls": args.calls, "cpus": os.cpu_count(),
                    "started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        upgrade(url)
        t0 = time.perf_counter()
        numbers, tokens, user_ids = seed(url, args, rng)
        result["generate_s"] = round(time.perf_counter() - t0, 1)
        with tempfile.TemporaryDirectory() as instance:
            env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis_url,
                   "CALLCENTER_INSTANCE": instance, "SECRET_KEY": "bench-secret-key-123456",
                   "AMI_USERNAME": "bench", "AMI_SECRET": "bench",
                   "AGI_PORT": str(free_port()), "PYTHONPATH": str(ROOT)}
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
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=200)
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
