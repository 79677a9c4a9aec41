"""A stand-in for ``callcenter bridge`` in web-only tests: it pops PBX commands from
Redis and answers them (``reply``), recording what it was asked. The end-to-end tests
run the real bridge (tests/stack.py)."""

from __future__ import annotations

import json
import threading

import redis

from callcenter.realtime import live


class FakeBridge:
    """Answers PBX commands like the bridge would; records what it was asked."""

    def __init__(self, url: str, reply=None):
        self.redis = redis.Redis.from_url(url)
        self.reply = reply or (lambda command: {"ok": True})
        self.commands: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        self.redis.close()

    def _run(self):
        while not self._stop.is_set():
            item = self.redis.brpop([live.COMMANDS_KEY], timeout=0.1)
            if item is None:
                continue
            command = json.loads(item[1])
            self.commands.append(command)
            key = live.result_key(command["request_id"])
            self.redis.lpush(key, json.dumps(self.reply(command)))
            self.redis.expire(key, 60)

    def actions(self) -> list[tuple]:
        return [(c["action"], c.get("queue"), c.get("paused"), c.get("reason"))
                for c in self.commands]
