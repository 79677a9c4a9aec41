"""Parallel requests on the wallboard's writes against a real served app (a threaded web
server on a fresh database of each backend, real Redis): eight supervisors saving one
queue's alert thresholds at once, and eight supervisors starting live monitoring at
once, with the bridge answering and with no bridge at all."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from fake_bridge import FakeBridge
from sqlalchemy import select
from sqlalchemy.orm import Session
from stack import PASSWORD, interface_of
from test_dial_transfer import _desk_session, _post_as
from test_ticket_concurrency import call, in_parallel

from callcenter.audit.models import AuditEntry
from callcenter.db import make_engine
from callcenter.users.services import create_user, issue_api_token
from callcenter.wallboard.models import QueueThresholds

SUPERVISORS = 8
URL = "/wallboard/thresholds/support"


@pytest.fixture
def supervisors(stack) -> list[str]:
    """Eight more supervisors of the support queue's department, each with a phone and
    an API token (in ``stack.tokens``)."""
    engine = make_engine(stack.settings.database_url)
    names = [f"sup_par{n}" for n in range(SUPERVISORS)]
    try:
        with Session(engine) as session:
            for n, name in enumerate(names):
                user = create_user(session, username=name, password=PASSWORD,
                                   role="supervisor", department="Service",
                                   interface=f"Local/supervisor{n + 2}@agents/n", locale="en")
                session.flush()
                stack.tokens[name] = issue_api_token(session, user)
                stack.ids[name] = user.id
            session.commit()
    finally:
        engine.dispose()
    return names


def _rows(stack, model, *where) -> list:
    engine = make_engine(stack.settings.database_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(model).where(*where)))
    finally:
        engine.dispose()


def _values(i: int) -> dict[str, int]:
    return {"service_level_percent": 70 + i, "longest_wait_s": 30 + i,
            "abandon_rate_percent": i}


def test_eight_supervisors_saving_one_queues_thresholds_at_once(stack, supervisors):
    """From the defaults (version 0), all eight hold the same version: one saves, seven
    are told someone else changed them (409 with the current version and values), one
    row; then, all holding the saved version, again exactly one wins."""
    before = call(stack, "GET", "/wallboard/thresholds", supervisors[0]).json()["items"]
    [support] = [q for q in before if q["queue"] == "support"]
    assert (support["custom"], support["version"]) == (False, 0)

    for round_, version in enumerate((0, 1)):
        results = in_parallel(lambda i, v=version: call(
            stack, "PUT", URL, supervisors[i], json={**_values(i), "version": v}),
            SUPERVISORS)
        assert Counter(r.status_code for r in results) == {200: 1, 409: SUPERVISORS - 1}, \
            [r.text for r in results]
        winner = next(i for i, r in enumerate(results) if r.status_code == 200)
        assert results[winner].json()["version"] == version + 1
        for loser in (r.json() for r in results if r.status_code == 409):
            assert loser["error"]["code"] == "wallboard.thresholds_stale", (round_, loser)
            assert loser["current_version"] == version + 1
        rows = _rows(stack, QueueThresholds)
        assert len(rows) == 1
        assert {name: getattr(rows[0], name) for name in _values(0)} == _values(winner)
        assert (rows[0].version, rows[0].updated_by_id) == \
            (version + 1, stack.ids[supervisors[winner]])


def test_saves_without_a_version_at_once_last_writer_wins_without_a_500(stack, supervisors):
    """A client that sends no version says "whatever is there": eight at once on a queue
    without a row all succeed (no duplicate-key 500), one row, every save counted."""
    results = in_parallel(lambda i: call(stack, "PUT", URL, supervisors[i], json=_values(i)),
                          SUPERVISORS)
    assert [r.status_code for r in results] == [200] * SUPERVISORS, [r.text for r in results]
    assert sorted(r.json()["version"] for r in results) == list(range(1, SUPERVISORS + 1))
    [row] = _rows(stack, QueueThresholds)
    last = next(i for i, r in enumerate(results) if r.json()["version"] == SUPERVISORS)
    assert row.version == SUPERVISORS
    assert {name: getattr(row, name) for name in _values(0)} == _values(last)

    resets = in_parallel(lambda i: call(stack, "DELETE", URL, supervisors[i]), 4)
    assert [r.status_code for r in resets] == [200] * 4, [r.text for r in resets]
    assert _rows(stack, QueueThresholds) == []


def _monitor_all(stack, supervisors, sessions):
    return in_parallel(lambda i: _post_as(stack, sessions[i], "/wallboard/monitor", {
        "interface": interface_of(i % 5 + 1), "mode": ("listen", "whisper", "barge")[i % 3]}),
        len(supervisors))


def _monitor_audit(stack) -> list[AuditEntry]:
    return _rows(stack, AuditEntry, AuditEntry.action == "agent.monitored")


def test_eight_supervisors_start_monitoring_at_once(stack, supervisors, redis_url):
    """Each request audited exactly once and completed with its outcome, the bridge
    answering; then with no bridge at all: each a 503 (no 500), each audited and
    completed as not answered."""
    stack.app.config["PBX_COMMAND_TIMEOUT_S"] = 1.5
    sessions = [_desk_session(stack, name) for name in supervisors]
    with FakeBridge(redis_url, reply=lambda c: {
            "ok": True, "call_id": f"17.{c['user_id']}"}) as bridge:
        results = _monitor_all(stack, supervisors, sessions)
    assert [r.status_code for r in results] == [200] * SUPERVISORS, [r.text for r in results]
    assert len(bridge.commands) == SUPERVISORS
    rows = _monitor_audit(stack)
    assert sorted((r.user_id, r.call_id, r.detail) for r in rows) == sorted(
        (stack.ids[name], f"17.{stack.ids[name]}", ("listen", "whisper", "barge")[i % 3]
         + "|started") for i, name in enumerate(supervisors))

    results = _monitor_all(stack, supervisors, sessions)
    assert [r.status_code for r in results] == [503] * SUPERVISORS, [r.text for r in results]
    assert all(r.json()["ok"] is False and r.json()["error"] for r in results)
    failed = [r for r in _monitor_audit(stack) if r.id not in {x.id for x in rows}]
    assert sorted((r.user_id, r.detail.split("|")[1]) for r in failed) == sorted(
        (stack.ids[name], "failed") for name in supervisors)


def test_a_stale_thresholds_form_says_what_the_other_supervisor_saved(stack, supervisors):
    """Two supervisors open the page (defaults); the first saves, the second's save is a
    409 page naming the values now saved, their own still typed in, the form now at the
    current version: saving again replaces them, knowingly."""
    page = "/wallboard/thresholds"
    first, second = (_desk_session(stack, name) for name in supervisors[:2])

    def save(session, values: dict[str, int], version: str):
        http, csrf = session
        return http.post(stack.base + page, allow_redirects=False, timeout=10, data={
            "csrf_token": csrf, "queue": "support", "action": "save", "version": version,
            **{k: str(v) for k, v in values.items()}})

    versions = [re.findall(r'name="version" value="(\d+)"', s[0].get(stack.base + page).text)
                for s in (first, second)]
    assert versions == [["0"], ["0"]]
    assert save(first, _values(20), "0").status_code == 302
    stale = save(second, _values(15), "0")
    assert stale.status_code == 409, stale.text
    html = stale.text
    assert ("Someone else saved the alerts of support meanwhile. They are now: service "
            "level below 90 %, longest wait over 50 s, abandoned above 20 %.") in html
    assert 'value="85"' in html and 'value="45"' in html     # what the second typed
    assert "Saved now (theirs): 90&nbsp;%" in html and "Saved now (theirs): 50&nbsp;s" in html
    assert re.findall(r'name="version" value="(\d+)"', html) == ["1"]
    [row] = _rows(stack, QueueThresholds)
    assert (row.service_level_percent, row.updated_by_id) == (90, stack.ids[supervisors[0]])
    assert save(second, _values(15), "1").status_code == 302
    [row] = _rows(stack, QueueThresholds)
    assert (row.service_level_percent, row.version, row.updated_by_id) == \
        (85, 2, stack.ids[supervisors[1]])
