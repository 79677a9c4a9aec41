"""``callcenter simulate``: build the configuration from CLI options and run."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys

from telephony.simulator.config import ConfigError, SimulatorConfig, parse_queues
from telephony.simulator.simulator import PbxSimulator


def parse_range(name: str, text: str) -> tuple[float, float]:
    """``3-12`` or ``5`` -> (low, high)."""
    low, sep, high = text.partition("-")
    try:
        values = (float(low), float(high)) if sep else (float(low), float(low))
    except ValueError as exc:
        raise ConfigError(f"{name}: expected N or LOW-HIGH seconds, got {text!r}") from exc
    return values


def build_config(options: dict) -> SimulatorConfig:
    queue_settings = {"timeout": options["ring_timeout"], "retry": options["retry"],
                      "wrapuptime": options["wrapup"]}
    return SimulatorConfig(
        ami_host=options["ami_host"], ami_port=options["ami_port"],
        username=options["username"], secret=options["secret"], rate=options["rate"],
        queues=parse_queues(options["queues"], options["agents"], options["strategy"],
                            **queue_settings),
        agents=options["agents"], seed=options["seed"], duration=options["duration"],
        max_calls=options["max_calls"],
        talk_time=parse_range("--talk-time", options["talk_time"]),
        answer_delay=parse_range("--answer-delay", options["answer_delay"]),
        no_answer_prob=options["no_answer_prob"], abandon_prob=options["abandon_prob"],
        patience=parse_range("--patience", options["patience"]),
        queue_timeout=options["queue_timeout"], transfer_prob=options["transfer_prob"],
        caller_hangup_prob=options["caller_hangup_prob"],
        hostile_share=options["hostile_share"], callers_file=options.get("callers"),
        agi_host=options["agi_host"],
        agi_port=options["agi_port"], dialplan_noise=not options["quiet_dialplan"],
        queue_log=options["queue_log"])


async def _run(config: SimulatorConfig) -> PbxSimulator:
    sim = PbxSimulator(config)
    port = await sim.start()
    queues = ", ".join(f"{q.name}({q.strategy}: {len(q.agents)} agents)" for q in config.queues)
    print(f"PBX simulator: AMI on {config.ami_host}:{port}, {config.rate} calls/s, "
          f"queues {queues}, seed {sim.seed}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    bounded = config.duration is not None or config.max_calls is not None
    done = asyncio.ensure_future(sim.wait_done() if bounded and config.rate > 0
                                 else asyncio.Event().wait())
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([done, stopped], return_when=asyncio.FIRST_COMPLETED)
    done.cancel()
    stopped.cancel()
    await sim.stop()
    return sim


def run(options: dict) -> None:
    try:
        config = build_config(options)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    sim = asyncio.run(_run(config))
    print(f"calls started {sim.calls_started}, finished {sim.calls_finished}, "
          f"AMI events {sim.pbx.events_emitted}", flush=True)
