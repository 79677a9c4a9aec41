"""PbxSimulator: the AMI server, the call generator and the in-process API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from typing import Any

from telephony.simulator import actions, queue_actions
from telephony.simulator.ami_server import AmiServer
from telephony.simulator.callerid import CallerId, CallerPool, read_callers
from telephony.simulator.callflow import Call
from telephony.simulator.config import SimulatorConfig
from telephony.simulator.originate import AgentOriginate
from telephony.simulator.pbx import Pbx
from telephony.simulator.queues import Device
from telephony.simulator.spy import SpyOriginate

log = logging.getLogger(__name__)


class PbxSimulator:
    """``await PbxSimulator(config).start()`` -> AMI port; ``await stop()``.

    Use ``ThreadedSimulator`` from synchronous code (tests, benchmarks).
    """

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        # S311: a simulator wants a reproducible stream, not a secret
        seed_source = random.Random()  # noqa: S311
        self.seed = config.seed if config.seed is not None else seed_source.randrange(2**32)
        self.rng = random.Random(self.seed)  # noqa: S311
        self.pbx = Pbx(config, random.Random(f"{self.seed}:pbx"))  # noqa: S311
        known = read_callers(config.callers_file) if config.callers_file else ()
        self.pool = CallerPool(config.hostile_share, known=known)
        self.ami = AmiServer(self)
        self.pbx.subscribers.append(self.ami.broadcast)
        actions.register(self)
        queue_actions.register(self)
        self.calls: set[Any] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.calls_started = 0
        self.calls_finished = 0
        self.ami_port: int | None = None
        self._arrivals: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> int:
        self.ami_port = await self.ami.start(self.config.ami_host, self.config.ami_port)
        if self.config.rate > 0:
            self._arrivals = asyncio.create_task(self._arrival_loop())
        log.info("PBX simulator: AMI on %s:%s, %.2f calls/s, seed %s",
                 self.config.ami_host, self.ami_port, self.config.rate, self.seed)
        return self.ami_port

    async def stop(self) -> None:
        """Stop at once: calls in progress vanish without further events."""
        if self._arrivals is not None:
            self._arrivals.cancel()
        for task in list(self.tasks):
            task.cancel()
        pending = [t for t in [self._arrivals, *self.tasks] if t is not None]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await self.ami.stop()
        if self.pbx.queue_log is not None:
            self.pbx.queue_log.close()

    async def wait_done(self, timeout: float | None = None) -> bool:
        """Wait until generation has ended (duration/max-calls) and every call is over."""
        async def _done() -> None:
            if self._arrivals is not None:
                await asyncio.gather(self._arrivals, return_exceptions=True)
            while self.tasks:
                await asyncio.gather(*list(self.tasks), return_exceptions=True)
        try:
            await asyncio.wait_for(_done(), timeout=timeout)
        except TimeoutError:
            return False
        return True

    # -- traffic ------------------------------------------------------------------
    async def _arrival_loop(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        start = next_at = loop.time()
        while cfg.max_calls is None or self.calls_started < cfg.max_calls:
            next_at += self.rng.expovariate(cfg.rate)
            if cfg.duration is not None and next_at - start > cfg.duration:
                break
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._generated_call()

    def _generated_call(self) -> None:
        self._spawn(self.plan_call(self.calls_started + 1))

    def plan_call(self, number: int) -> Call:
        """Generated call ``number``: same seed, same caller, queue, patience, talk time."""
        # one stream per call, so what a call does never depends on event-loop timing
        rng = random.Random(f"{self.seed}:{number}")  # noqa: S311
        cid = self.pool.draw(rng)
        queue = rng.choice(list(self.pbx.queues))
        return Call(self.pbx, number, cid, rng, queue)

    def originate_inbound(self, cid: CallerId, action_id: str | None, application: str,
                          data: str, variables: list[tuple[str, str]], exten: str) -> None:
        number = self.calls_started + 1
        rng = random.Random(f"{self.seed}:originate:{number}")  # noqa: S311
        # the [inbound] dialplan always queues into the first queue (captured: support)
        queue = next(iter(self.pbx.queues))
        self._spawn(Call(self.pbx, number, cid, rng, queue, action_id=action_id,
                         application=application, data=data or "120",
                         variables=variables, exten=exten))

    def device_by_exten(self, exten: str) -> Device | None:
        return next((d for d in self.pbx.devices.values() if d.exten == exten), None)

    def originate_agent(self, exten: str, cid: CallerId, action_id: str | None, context: str,
                        target: str, application: str, data: str,
                        variables: list[tuple[str, str]] | None = None) -> None:
        device = self.device_by_exten(exten)
        if device is None:
            return
        rng = random.Random(f"{self.seed}:agent-originate:{self.calls_started}")  # noqa: S311
        kind = SpyOriginate if application.lower() == "chanspy" else AgentOriginate
        self._spawn(kind(self.pbx, device, cid, rng, action_id, context, target,
                         application, data, variables or []))

    def _spawn(self, call: Any) -> None:
        self.calls_started += 1
        self.calls.add(call)
        task = asyncio.create_task(self._run(call))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, call: Any) -> None:
        try:
            await call.run()
        except asyncio.CancelledError:
            raise
        except Exception:  # one broken call must not stop the PBX
            log.exception("simulated call %s failed", getattr(call, "number", "?"))
        finally:
            self.calls_finished += 1
            self.calls.discard(call)


class ThreadedSimulator:
    """Runs a PbxSimulator on its own event loop in a daemon thread."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.sim: PbxSimulator | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def ami_port(self) -> int:
        assert self.sim is not None and self.sim.ami_port is not None
        return self.sim.ami_port

    def start(self, timeout: float = 10.0) -> int:
        self._thread = threading.Thread(target=self._main, name="pbx-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("simulator did not start")
        if self._error is not None:
            raise RuntimeError("simulator failed to start") from self._error
        return self.ami_port

    def _main(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.sim = PbxSimulator(self.config)
            self.loop.run_until_complete(self.sim.start())
        except Exception as exc:  # noqa: BLE001 - re-raised by start() in the caller
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.close()

    def call(self, fn: Any, timeout: float = 30.0) -> Any:
        """Run ``fn(sim)`` (sync or coroutine function) on the simulator's loop."""
        assert self.loop is not None and self.sim is not None
        sim = self.sim

        async def runner() -> Any:
            result = fn(sim)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        return asyncio.run_coroutine_threadsafe(runner(), self.loop).result(timeout)

    def wait_done(self, timeout: float) -> bool:
        return bool(self.call(lambda sim: sim.wait_done(timeout), timeout=timeout + 5))

    def stop(self) -> None:
        if self.loop is None or self.sim is None or self._thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(15)

    def __enter__(self) -> ThreadedSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
