"""``GET /metrics``: Prometheus text format, for an admin's API token or METRICS_TOKEN.

What the product counts and never showed: the bridge's effect failures, pops sent, AGI
lookups failed, AMI reconnects (the bridge publishes them to Redis,
``callcenter.realtime.live.BRIDGE_STATUS_KEY``), and the jobs: queue lengths, failed
registry sizes per queue, live workers. Everything is read at scrape time by one custom
collector in a registry of the app's own (no global registry, no counters kept in the
web process, so any number of web processes give the same answer).

The bridge's counters start at 0 when a bridge becomes active; Prometheus' ``rate()``
and ``increase()`` treat the drop after a take-over as a counter reset.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator

import redis
from flask import Blueprint, Flask, Response, current_app, jsonify
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from callcenter.bridge.leader import LEADER_KEY
from callcenter.jobs import QUEUES
from callcenter.realtime.live import BRIDGE_STATUS_TTL_S, read_bridge_status

metrics_bp = Blueprint("metrics", __name__)

#: Bridge counter name (bridge/status.py) -> (metric name, help, labels).
BRIDGE_COUNTERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "effect_failures_pops": ("callcenter_bridge_effect_failures",
                             "Effect batches a bridge worker thread failed to handle.",
                             {"worker": "pops"}),
    "effect_failures_log": ("callcenter_bridge_effect_failures",
                            "Effect batches a bridge worker thread failed to handle.",
                            {"worker": "call_log"}),
    "pops_sent": ("callcenter_bridge_pops_sent", "Agent events (screen pops) published.", {}),
    "pops_without_user": ("callcenter_bridge_pops_without_user",
                          "Agent events for a queue member no user has.", {}),
    "card_failures": ("callcenter_bridge_card_failures",
                      "Customer card lookups that failed (the pop went without it).", {}),
    "agi_sessions": ("callcenter_agi_sessions", "FastAGI connections accepted.", {}),
    "agi_lookups_failed": ("callcenter_agi_lookups_failed",
                           "FastAGI caller lookups that failed or timed out.", {}),
    "agi_script_errors": ("callcenter_agi_script_errors",
                          "FastAGI scripts that raised an error.", {}),
    "ami_reconnects": ("callcenter_ami_reconnects", "AMI logins after the first one.", {}),
    "ami_disconnects": ("callcenter_ami_disconnects", "AMI connections lost.", {}),
    "ami_connect_failures": ("callcenter_ami_connect_failures",
                             "AMI connection attempts that failed.", {}),
    "ami_ping_failures": ("callcenter_ami_ping_failures",
                          "AMI keep-alive pings that went unanswered.", {}),
    "ami_resyncs": ("callcenter_ami_resyncs", "Call-state resyncs from the PBX's lists.", {}),
    "write_retries_pops": ("callcenter_bridge_write_retries",
                           "Retries of a write the database or Redis refused.",
                           {"worker": "pops"}),
    "write_retries_log": ("callcenter_bridge_write_retries",
                          "Retries of a write the database or Redis refused.",
                          {"worker": "call_log"}),
    "dead_lettered_pops": ("callcenter_bridge_dead_lettered",
                           "Items kept in the dead letter after a long outage.",
                           {"worker": "pops"}),
    "dead_lettered_log": ("callcenter_bridge_dead_lettered",
                          "Items kept in the dead letter after a long outage.",
                          {"worker": "call_log"}),
    "pbx_record_added": ("callcenter_pbx_record_calls",
                         "Call-log rows repaired from the PBX's queue_log.",
                         {"repair": "added"}),
    "pbx_record_corrected": ("callcenter_pbx_record_calls",
                             "Call-log rows repaired from the PBX's queue_log.",
                             {"repair": "corrected"}),
    "pbx_record_closed": ("callcenter_pbx_record_calls",
                          "Call-log rows repaired from the PBX's queue_log.",
                          {"repair": "closed"}),
    "pops_closed_after_resync": ("callcenter_bridge_pops_settled",
                                 "Screen pops brought in line with the PBX after a resync.",
                                 {}),
    "acw_started": ("callcenter_bridge_after_call_work",
                    "Agents paused for after-call work when their call ended.",
                    {"result": "started"}),
    "acw_not_started": ("callcenter_bridge_after_call_work",
                        "Agents paused for after-call work when their call ended.",
                        {"result": "not_started"}),
}


class CallCenterCollector:
    """Reads the bridge's status and RQ's registries from Redis at each scrape."""

    def __init__(self, client: Callable[[], redis.Redis]) -> None:
        #: Called at each scrape: the client is made on first use, not at app build.
        self._client = client

    @property
    def client(self) -> redis.Redis:
        return self._client()

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration (that would reach Redis)

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("callcenter_redis_up", "Redis answered this scrape.")
        try:
            metrics = list(self._bridge()) + list(self._jobs())
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _bridge(self) -> Iterator[Metric]:
        status = read_bridge_status(self.client)
        fresh = status is not None and time.time() - status["at"] <= BRIDGE_STATUS_TTL_S
        leader = GaugeMetricFamily("callcenter_bridge_up",
                                   "A bridge holds the leader lock and reported lately.")
        leader.add_metric([], 1 if fresh and self.client.exists(LEADER_KEY) else 0)
        ami = GaugeMetricFamily("callcenter_ami_link_up", "The active bridge's AMI link.")
        ami.add_metric([], 1 if fresh and status["ami_up"] else 0)
        yield leader
        yield ami
        if status is None:
            return
        families: dict[str, CounterMetricFamily] = {}
        for key, (name, doc, labels) in BRIDGE_COUNTERS.items():
            family = families.get(name)
            if family is None:
                family = families[name] = CounterMetricFamily(name, doc,
                                                              labels=list(labels))
            family.add_metric(list(labels.values()), status["counters"].get(key, 0))
        yield from families.values()

    def _jobs(self) -> Iterator[Metric]:
        families = {
            "queued": GaugeMetricFamily("callcenter_jobs_queued", "Jobs waiting in the queue.",
                                        labels=["queue"]),
            "started": GaugeMetricFamily("callcenter_jobs_started", "Jobs running now.",
                                         labels=["queue"]),
            "scheduled": GaugeMetricFamily("callcenter_jobs_scheduled",
                                           "Delayed, periodic and retry-waiting jobs.",
                                           labels=["queue"]),
            "failed": GaugeMetricFamily("callcenter_jobs_failed",
                                        "Jobs in the failed registry (retries used up).",
                                        labels=["queue"]),
        }
        for name in QUEUES:
            queue = Queue(name, connection=self.client)
            families["queued"].add_metric([name], queue.count)
            families["started"].add_metric([name], StartedJobRegistry(queue=queue).count)
            families["scheduled"].add_metric([name], ScheduledJobRegistry(queue=queue).count)
            families["failed"].add_metric([name], FailedJobRegistry(queue=queue).count)
        yield from families.values()
        workers = GaugeMetricFamily("callcenter_workers", "RQ workers alive.")
        workers.add_metric([], Worker.count(connection=self.client))
        yield workers


def metrics_registry(app: Flask) -> CollectorRegistry:
    """A registry of this app's own, with the collector (its Redis client: the probes')."""
    from callcenter.health import probe_redis

    registry = CollectorRegistry(auto_describe=False)
    registry.register(CallCenterCollector(lambda: probe_redis(app)))
    return registry


def _authorized() -> int:
    """200 if the caller may read the metrics, else 401 (who are you?) or 403."""
    from callcenter.auth import bearer_token
    from callcenter.db import db_session
    from callcenter.users.models import Role
    from callcenter.users.services import user_for_token

    token = bearer_token()
    if not token:
        return 401
    expected = current_app.config["SETTINGS"].metrics_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return 200
    user = user_for_token(db_session(), token)
    if user is None:
        return 401
    return 200 if user.role == Role.ADMIN else 403


@metrics_bp.get("/metrics")
def metrics():
    status = _authorized()
    if status != 200:
        response = jsonify({"error": {"status": status, "message":
                                      "send 'Authorization: Bearer <admin API token or "
                                      "METRICS_TOKEN>'"}})
        response.status_code = status
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
    body = generate_latest(current_app.extensions["metrics_registry"])
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST,
                                   "Cache-Control": "no-store"})
