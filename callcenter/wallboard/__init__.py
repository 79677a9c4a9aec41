"""The supervisor's wallboard: today's queue figures and the agents' live states.

- ``figures``: the figures of queues from the call log and the live state (what the
  bridge pushes as ``queue.update``), the agents' rows (``agent.update``), and the
  definitions of service level, abandon rate, ASA and AHT;
- ``live``: reading the live state the bridge keeps in Redis (``cc:live:queues``,
  ``cc:live:agents``), skipping and counting entries it cannot read;
- ``services``: ``wallboard(session, actor, now, live)``, limited to the queues of the
  actor's departments;
- ``api``: ``GET /api/v1/wallboard``; ``views``: the page ``/wallboard``.
"""
