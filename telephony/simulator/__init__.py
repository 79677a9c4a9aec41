"""A PBX simulator that speaks AMI (and calls FastAGI) like the captured Asterisk 22.

    sim = PbxSimulator(SimulatorConfig(ami_port=0, rate=5, seed=1))
    port = await sim.start()
    ...
    await sim.stop()

From synchronous code: ``with ThreadedSimulator(config) as sim: sim.ami_port``.
CLI: ``callcenter simulate --ami-port 5038 --rate 2``.
"""

from telephony.simulator.callerid import HOSTILE_CALLERS, CallerId, parse_callerid
from telephony.simulator.config import ConfigError, QueueSpec, SimulatorConfig, parse_queues
from telephony.simulator.simulator import PbxSimulator, ThreadedSimulator

__all__ = [
    "HOSTILE_CALLERS",
    "CallerId",
    "ConfigError",
    "PbxSimulator",
    "QueueSpec",
    "SimulatorConfig",
    "ThreadedSimulator",
    "parse_callerid",
    "parse_queues",
]
