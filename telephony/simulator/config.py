"""Simulator configuration: queues, agents, traffic and timing."""

from __future__ import annotations

from dataclasses import dataclass, field

STRATEGIES = ("ringall", "rrmemory")


class ConfigError(ValueError):
    pass


@dataclass
class QueueSpec:
    """One queue as queues.conf defines it (captures: timeout 15, retry 2, wrapuptime 2)."""

    name: str
    strategy: str = "ringall"
    agents: list[int] = field(default_factory=list)  # agent numbers: 1 -> agent1
    timeout: float = 15.0  # ring timeout per attempt
    retry: float = 2.0
    wrapuptime: float = 2.0
    servicelevel: int = 30
    weight: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"queue {self.name!r}: strategy must be one of {STRATEGIES}")
        if not self.name or any(c in self.name for c in ",;:=| \r\n"):
            raise ConfigError(f"queue name {self.name!r} is not a plain word")


@dataclass
class SimulatorConfig:
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038  # 0: pick a free port (see PbxSimulator.ami_port)
    username: str = "bridge"
    secret: str = "bridgesecret"  # noqa: S105 - the captured PBX's test account
    rate: float = 1.0  # Poisson arrivals, calls per second; 0 = only AMI Originate
    queues: list[QueueSpec] = field(default_factory=list)
    agents: int = 5
    interface_template: str = "Local/agent{n}@agents/n"
    #: Phones that are in no queue (``Local/<exten>@agents/n``): the supervisors', which
    #: live monitoring rings (extensions.conf has ``_supervisorX`` in ``[agents]``).
    phones: list[str] = field(default_factory=lambda: ["supervisor1", "supervisor2"])
    seed: int | None = None
    duration: float | None = None  # stop generating calls after this many seconds
    max_calls: int | None = None
    talk_time: tuple[float, float] = (3.0, 12.0)  # uniform, seconds
    answer_delay: tuple[float, float] = (1.0, 5.0)  # member rings this long, then answers
    no_answer_prob: float = 0.0  # a rung member lets it ring out (AgentRingNoAnswer)
    abandon_prob: float = 0.1  # share of callers with limited patience
    patience: tuple[float, float] = (2.0, 30.0)
    queue_timeout: float = 60.0  # Queue(support,r,,,60) -> EXITWITHTIMEOUT
    transfer_prob: float = 0.0  # answered call blind-transferred to another queue
    caller_hangup_prob: float = 0.2  # the caller, not the agent, ends the talk
    #: Click-to-dial ([outbound] through a trunk): the customer dialled is busy, or lets
    #: it ring out, with these shares; else answers after ``answer_delay`` and talks.
    callee_busy_prob: float = 0.1
    callee_no_answer_prob: float = 0.1
    #: Numbers whose answer is fixed ("answer", "busy", "noanswer"), for tests and demos.
    callee_outcomes: dict[str, str] = field(default_factory=dict)
    hostile_share: float = 0.3
    #: File of caller IDs the ordinary callers are drawn from (default: random mobiles).
    callers_file: str | None = None
    agi_host: str | None = None
    agi_port: int = 4573
    agi_timeout: float = 10.0
    dialplan_noise: bool = True  # VarSet / Newexten, as Asterisk sends with read=all
    queue_log: str | None = None
    uniqueid_start: int = 0

    def __post_init__(self) -> None:
        if not self.queues:
            self.queues = [QueueSpec("support", agents=list(range(1, self.agents + 1)))]
        for name, (low, high) in (("talk_time", self.talk_time),
                                  ("answer_delay", self.answer_delay),
                                  ("patience", self.patience)):
            if low < 0 or high < low:
                raise ConfigError(f"{name}: need 0 <= low <= high, got {low}, {high}")
        for name in ("no_answer_prob", "abandon_prob", "transfer_prob",
                     "caller_hangup_prob", "hostile_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}: must be between 0 and 1, got {value}")
        if self.rate < 0:
            raise ConfigError("rate: must be >= 0")
        for exten in self.phones:
            if not exten or not exten.isalnum():
                raise ConfigError(f"phones: {exten!r} is not a plain extension")
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ConfigError("queues: duplicate queue name")

    def interface(self, n: int) -> str:
        return self.interface_template.format(n=n)


def _agent_list(text: str, agents: int) -> list[int]:
    numbers: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                numbers.extend(range(low, high + 1))
            else:
                numbers.append(int(part))
        except ValueError as exc:
            raise ConfigError(f"queues: bad agent list {text!r}") from exc
    if any(n < 1 for n in numbers):
        raise ConfigError(f"queues: agent numbers start at 1, got {text!r}")
    return numbers or list(range(1, agents + 1))


def parse_queues(text: str | None, agents: int, strategy: str = "ringall",
                 **settings: float) -> list[QueueSpec]:
    """``support:ringall=1-3;repairs:rrmemory=4,5`` (strategy and members optional).

    A queue without a member list gets every agent; without a strategy, ``strategy``.
    ``settings`` (timeout, retry, wrapuptime, servicelevel) apply to every queue.
    """
    if not text:
        return [QueueSpec("support", strategy, list(range(1, agents + 1)), **settings)]
    specs = []
    chunks = []
    for chunk in text.replace(";", " ").split():
        # "support,repairs": plain names separated by commas, every agent in each
        chunks.extend(chunk.split(",") if "=" not in chunk else [chunk])
    for chunk in filter(None, chunks):
        head, _, members = chunk.partition("=")
        name, _, strat = head.partition(":")
        specs.append(QueueSpec(name, strat or strategy, _agent_list(members, agents),
                               **settings))
    return specs
