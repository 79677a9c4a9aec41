"""The job pattern with a real RQ worker (forked work horses) and real Redis.

Deterministic ids (enqueue twice: one job), idempotent handlers (run twice: same
result), the retry policy ending in the failed registry, runs that never overlap, and
the periodic jobs' reconciler (a restart changes nothing; a lost job comes back).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import job_support
import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq import Retry, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from callcenter.app import create_app
from callcenter.config import load_settings
from callcenter.imports.jobs import enqueue_import
from callcenter.jobs import ExclusiveRun, enqueue_once, get_queue, run_worker
from callcenter.migrate import upgrade
from callcenter.schedule import PeriodicJob, periodic_job_ids, periodic_jobs, reconcile
from callcenter.uploads import UPLOAD_MAX_AGE_S, sweep_uploads, uploads_dir

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def job_env(redis_conn, redis_url, tmp_path, monkeypatch):
    """The environment a worker reads its settings from (its horses inherit it)."""
    instance = tmp_path / "instance"
    instance.mkdir()
    env = {"REDIS_URL": redis_url, "CALLCENTER_INSTANCE": str(instance),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
           "SECRET_KEY": "test-secret-key-0123456789"}
    # The periodic jobs include the escalation reconciler, which reads the tickets.
    upgrade(env["DATABASE_URL"])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {"settings": load_settings(), "redis": redis_conn, "env": env}


def test_enqueue_once_twice_is_one_job(job_env):
    first, created = enqueue_once(job_support.record_run, "once", job_id="test-once-1")
    second, again = enqueue_once(job_support.record_run, "once", job_id="test-once-1")
    assert (created, again) == (True, False)
    assert second.id == first.id
    assert get_queue("default").count == 1
    assert run_worker(burst=True, queues=("default",))
    assert job_support.runs("once") == 1

    # A delayed job: the same rule, in the scheduled registry.
    for _ in range(2):
        job, _ = enqueue_once(job_support.record_run, "later", job_id="test-later-1",
                              delay_s=600)
    scheduled = ScheduledJobRegistry(queue=get_queue("default"))
    assert scheduled.get_job_ids() == ["test-later-1"]
    due = scheduled.get_scheduled_time(job).timestamp()
    assert 590 < due - time.time() <= 600


def test_enqueue_once_refuses_a_made_up_id(job_env):
    with pytest.raises(ValueError, match="job id"):
        enqueue_once(job_support.record_run, "x", job_id="no spaces/slashes")


def test_failing_job_is_retried_per_policy_then_lands_in_the_failed_registry(job_env):
    job, _ = enqueue_once(job_support.always_fails, "flaky", job_id="test-fails-1",
                          retry=Retry(max=2, interval=[1, 2]))
    queue = get_queue("default")
    scheduled = ScheduledJobRegistry(queue=queue)
    failed = FailedJobRegistry(queue=queue)

    waits = []
    for attempt in (1, 2):
        run_worker(burst=True, with_scheduler=True, queues=("default",))
        assert job_support.runs("flaky") == attempt
        assert "test-fails-1" in scheduled.get_job_ids()   # waiting for its retry
        due = scheduled.get_scheduled_time(job.id)
        job.refresh()
        waits.append((due - job.ended_at).total_seconds())   # from the failure on
        time.sleep(max(0.0, due.timestamp() - time.time()) + 0.05)
    # The declared backoff: 1 s, then 2 s (the registry keeps whole seconds).
    assert 0 < waits[0] <= 1.5 and 1 < waits[1] <= 2.5, waits

    run_worker(burst=True, with_scheduler=True, queues=("default",))
    assert job_support.runs("flaky") == 3          # the first run and its 2 retries
    assert failed.get_job_ids() == ["test-fails-1"]
    assert "test-fails-1" not in scheduled.get_job_ids()
    assert Job.fetch(job.id, connection=job_env["redis"]).get_status() == JobStatus.FAILED

    # Someone sees it: /healthz names it (without failing the web), /metrics counts it.
    app = create_app(load_settings({**job_env["env"], "METRICS_TOKEN": "m" * 24}))
    try:
        client = app.test_client()
        health = client.get("/healthz").get_json()
        assert health["checks"]["jobs"] == {"ok": False, "reason": "1 failed",
                                            "required": False}
        page = client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 24})
        failed_now = {s.labels["queue"]: s.value
                      for f in text_string_to_metric_families(page.get_data(as_text=True))
                      if f.name == "callcenter_jobs_failed" for s in f.samples}
        assert failed_now == {"default": 1, "imports": 0}
    finally:
        app.extensions["health_redis"].close()
        app.extensions["db_engine"].dispose()


def _uploads(settings, now: float) -> dict[str, Path]:
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / f"{name}.csv" for name in ("stale", "queued", "fresh")}
    for path in files.values():
        path.write_text("external_id,name\n1,x\n")
    old = now - UPLOAD_MAX_AGE_S - 60
    for name in ("stale", "queued"):
        os.utime(files[name], (old, old))
    return files


def test_upload_sweep_is_idempotent_and_spares_live_imports(job_env):
    settings = job_env["settings"]
    files = _uploads(settings, time.time())
    # An import still waiting in its queue (no worker on "imports" here) names this file.
    enqueue_import("customers", str(files["queued"]), 1, settings=settings)

    results = []
    for n in (1, 2):
        job, _ = enqueue_once(sweep_uploads, job_id=f"test-sweep-{n}")
        run_worker(burst=True, queues=("default",))
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED
        results.append(job.return_value())
        assert sorted(p.name for p in uploads_dir(settings).iterdir()) == \
            ["fresh.csv", "queued.csv"]
    assert results == [{"removed": 1, "kept": 2}, {"removed": 0, "kept": 2}]


def test_exclusive_runs_never_overlap(job_env):
    settings = job_env["settings"]
    files = _uploads(settings, time.time())
    # Another run of the sweep is going (it holds the function's lock).
    path = f"{sweep_uploads.__module__}.{sweep_uploads.__qualname__}"
    other = ExclusiveRun(job_env["redis"], path, ttl_s=60)
    assert other.acquire()
    job, _ = enqueue_once(sweep_uploads, job_id="test-sweep-overlap")
    run_worker(burst=True, queues=("default",))
    job.refresh()
    assert job.return_value() == {"skipped": "running"}
    assert files["stale"].exists()

    other.release()
    job, _ = enqueue_once(sweep_uploads, job_id="test-sweep-after")
    run_worker(burst=True, queues=("default",))
    job.refresh()
    assert job.return_value()["removed"] == 2
    assert not files["stale"].exists()


def test_reconciler_schedules_once_and_recreates_what_redis_lost(job_env):
    conn = job_env["redis"]
    sweep = periodic_jobs()[0]
    defs = [sweep]  # the other periodic jobs behave alike; one makes the ids plain
    now = time.time()
    first = reconcile(conn, defs, now=now)
    current, following = sweep.job_id(sweep.slot(now)), sweep.job_id(sweep.slot(now) + 1)
    assert first.enqueued == [current] and first.scheduled == [following]
    assert periodic_job_ids(conn, sweep) == sorted([current, following])

    again = reconcile(conn, defs, now=now + 1)
    assert (again.enqueued, again.scheduled, again.removed) == ([], [], [])
    assert get_queue("default").count == 1

    # The scheduled run is lost (deleted; or Redis restarted without its data).
    registry = ScheduledJobRegistry(queue=get_queue("default"))
    registry.remove(following, delete_job=True)
    assert registry.get_job_ids() == []
    healed = reconcile(conn, defs, now=now + 2)
    assert healed.scheduled == [following] and healed.enqueued == []
    due = registry.get_scheduled_time(following)
    assert due == datetime.fromtimestamp(int(sweep.slot_start(sweep.slot(now) + 1)), UTC)

    conn.flushdb()
    assert reconcile(conn, defs, now=now + 3).enqueued == [current]


def test_reconciler_removes_runs_of_a_changed_definition(job_env):
    conn = job_env["redis"]
    old = PeriodicJob("test_job", job_support.record_run, 600, args=("p",))
    new = PeriodicJob("test_job", job_support.record_run, 900, args=("p",))
    now = time.time()
    reconcile(conn, [old], now=now)
    result = reconcile(conn, [new], now=now)
    assert result.removed == [old.job_id(old.slot(now) + 1)]
    assert ScheduledJobRegistry(queue=get_queue("default")).get_job_ids() == \
        [new.job_id(new.slot(now) + 1)]


def _wait_until(condition, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _worker_env(job_env) -> dict:
    return {**os.environ, **job_env["env"], "PYTHONPATH": str(ROOT)}


def test_worker_restarts_change_nothing(job_env):
    """`callcenter worker --with-scheduler`, started twice: the same periodic jobs."""
    conn = job_env["redis"]
    sweep = periodic_jobs()[0]
    seen = []
    for _ in range(2):
        subprocess.run([sys.executable, "-m", "callcenter", "worker", "--burst",
                        "--with-scheduler"], env=_worker_env(job_env), check=True,
                       # RQ 3.0's own command thread held a burst worker's exit for 60 s
                       # (callcenter.jobs._Worker): this fails if that comes back.
                       timeout=30, capture_output=True)
        seen.append(periodic_job_ids(conn, sweep))
    assert seen[0] == seen[1] and len(seen[0]) == 2
    now = time.time()
    current = Job.fetch(sweep.job_id(sweep.slot(now)), connection=conn)
    assert current.get_status() == JobStatus.FINISHED     # it ran once, in the first start
    assert current.return_value() == {"removed": 0, "kept": 0}


def test_worker_thread_recreates_a_deleted_scheduled_job(job_env):
    sweep = periodic_jobs()[0]
    code = ("from callcenter.jobs import run_worker; "
            "run_worker(with_scheduler=True, reconcile_every_s=0.3)")
    worker = subprocess.Popen([sys.executable, "-c", code], env=_worker_env(job_env),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_until(lambda: any(w.get_state() == "idle"
                                for w in Worker.all(connection=job_env["redis"])))
        registry = ScheduledJobRegistry(queue=get_queue("default"))
        following = sweep.job_id(sweep.slot(time.time()) + 1)
        _wait_until(lambda: following in registry.get_job_ids())
        registry.remove(following, delete_job=True)
        assert following not in registry.get_job_ids()
        _wait_until(lambda: following in registry.get_job_ids())
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0    # a warm shutdown, in seconds


def test_quiet_periodic_runs_are_logged_at_debug_only(job_env, caplog):
    """A job every few seconds (the escalation reconciler) would bury the log under
    RQ's lines: its routine runs go to DEBUG; other jobs' lines and its failures stay."""
    import logging

    from callcenter.schedule import QuietPeriodicRuns

    quiet = PeriodicJob("test_quiet", job_support.record_run, 5, args=("q",), quiet=True)
    loud = PeriodicJob("test_loud", job_support.record_run, 600, args=("l",))
    conn = job_env["redis"]
    with caplog.at_level(logging.INFO, logger="callcenter.schedule"):
        reconcile(conn, [quiet, loud], now=time.time())
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any(quiet.key not in m and loud.key in m for m in logged)
    assert not any(quiet.key in m for m in logged)

    logger = logging.getLogger("rq.worker")
    rq_filter = QuietPeriodicRuns([quiet, loud])
    def record(level, message):
        return logger.makeRecord("rq.worker", level, __file__, 1, message, (), None)
    assert not rq_filter.filter(record(logging.INFO, f"Job OK ({quiet.job_id(7)})"))
    assert rq_filter.filter(record(logging.INFO, f"Job OK ({loud.job_id(7)})"))
    assert rq_filter.filter(record(logging.ERROR, f"Job failed ({quiet.job_id(7)})"))
    # RQ names a finished run by its description, and per-call jobs by id and function.
    assert not rq_filter.filter(record(
        logging.INFO, "Successfully completed periodic test_quiet (every 5 s) job in 0:00:00.1s"))
    assert rq_filter.filter(record(
        logging.INFO, "Successfully completed periodic test_loud (every 600 s) job in 0:00:00.1s"))
    for line in ("default: Job OK (acw-end-7-1796615390_5)",
                 "Successfully completed callcenter.desk.acw.end_after_call_work_job(7, '1.5') "
                 "job in 0:00:00.1s", "job acw-default-1796615390_5 result is kept for 86400 s"):
        assert not rq_filter.filter(record(logging.INFO, line)), line
    assert rq_filter.filter(record(logging.WARNING, "Job failed (acw-end-7-1796615390_5)"))
