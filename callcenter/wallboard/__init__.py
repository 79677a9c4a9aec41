"""The supervisor's wallboard: today's queue figures and the agents' live states.

- ``figures``: the figures of queues from the call log and the live state (what the
  bridge pushes as ``queue.update``), the agents' rows (``agent.update``), and the
  definitions of service level, abandon rate, ASA and AHT;
- ``live``: reading the live state the bridge keeps in Redis (the queues' and agents'
  hashes of ``callcenter.realtime.live``), skipping and counting entries it cannot read;
- ``services``: ``wallboard(session, actor, now, live)``, limited to the queues of the
  actor's departments;
- ``api``: ``GET /api/v1/wallboard``; ``views``: the page ``/wallboard``.
"""


def init_app() -> None:
    """Register the wallboard's live events (called once per process by
    ``callcenter.core.domains.init_domains``): the bridge sends them to the rooms of the
    queues they are about, where the supervisors who see those queues are."""
    from callcenter.realtime.publish import Audience, register_event

    register_event("queue.update", Audience.QUEUE)
    register_event("agent.update", Audience.QUEUE)
