"""The import outside the importer: the RQ job with a real worker, the CLI, the web upload.

The job and the CLI open their own database connections, so they run against a fresh
migrated database with committed data (``fresh_database``), not the test transaction.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rq import SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import func, select
from webtools import csrf_token, login, text

from callcenter.cli import main
from callcenter.config import load_settings
from callcenter.customers.models import Customer, Phone
from callcenter.db import make_engine, make_sessionmaker, session_scope
from callcenter.imports import jobs as import_jobs
from callcenter.imports.views import import_status
from callcenter.jobs import get_queue
from callcenter.users.services import create_user

GOOD = "external_id,name,phones\nC1,华通汽车,13812345678\nC2,Acme,010-6234 5678\n"
ROWS = 1200


@pytest.fixture
def live_env(backend, fresh_database, redis_url, tmp_path, monkeypatch):
    """A fresh database with a committed supervisor, and the environment pointing at it."""
    url = fresh_database.create(backend)
    instance = tmp_path / "instance"
    instance.mkdir()
    for name, value in {"DATABASE_URL": url, "REDIS_URL": redis_url,
                        "CALLCENTER_INSTANCE": str(instance),
                        "SECRET_KEY": "test-secret-key-0123456789"}.items():
        monkeypatch.setenv(name, value)
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        user_id = create_user(session, username="sup", password="correct horse battery",
                              role="supervisor", scope="all").id
    yield {"url": url, "instance": instance, "user_id": user_id, "engine": engine}
    engine.dispose()


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model))


def test_import_job_reports_progress_and_summary(live_env, redis_conn, monkeypatch, app):
    uploads = live_env["instance"] / "uploads"
    uploads.mkdir()
    good = uploads / "good.csv"
    good.write_text("external_id,name,phones\n" + "".join(
        f"C{i},Customer {i},138{i:08d}\n" for i in range(1, ROWS + 1)) + "C0,,\n")
    size = good.stat().st_size
    bad = uploads / "bad.csv"
    bad.write_text("id,name\n1,x\n")
    settings = load_settings()
    first = import_jobs.enqueue_import("customers", str(good), live_env["user_id"],
                                         filename="客户.csv", settings=settings)
    second = import_jobs.enqueue_import("customers", str(bad), live_env["user_id"],
                                          settings=settings)
    assert first.meta["user_id"] == live_env["user_id"]

    # Watch what reaches Redis while the job runs: progress after each batch, not per row.
    monkeypatch.setattr(import_jobs, "PROGRESS_EVERY_S", 0)
    saved: list[dict] = []
    real_save_meta = Job.save_meta

    def recording_save_meta(job):
        saved.append(dict(job.meta))
        real_save_meta(job)

    monkeypatch.setattr(Job, "save_meta", recording_save_meta)
    worker = SimpleWorker([get_queue("imports", settings=settings)], connection=redis_conn)
    # No command channel for a worker that lives a second: a burst worker that quits
    # before Redis confirmed the subscription waits 60 s for it (redis-py's stop()).
    worker.subscribe = lambda: None
    assert worker.work(burst=True)

    job = Job.fetch(first.id, connection=redis_conn)
    assert job.get_status() == JobStatus.FINISHED
    meta = job.meta
    assert meta["summary"]["created"] == ROWS and meta["summary"]["skipped"] == 1
    # A code and its values: the progress page words them in its reader's language.
    assert meta["errors"] == [[ROWS + 2, "name", "required", {}]]
    for language, message in (("zh-CN", "此项为必填项。"), ("en", "This field is required.")):
        with app.test_request_context("/", headers={"Accept-Language": language}):
            assert import_status(job)["errors"] == [
                {"line": ROWS + 2, "field": "name", "code": "required", "message": message}]
    assert meta["rows_done"] == ROWS + 1 and meta["bytes_total"] == size
    progress = [m["rows_done"] for m in saved if m.get("kind") and "summary" not in m
                and m.get("filename") == "客户.csv"]
    assert progress[:2] == [500, 1000] and len(saved) < 10
    assert _count(live_env["engine"], Customer) == ROWS
    assert _count(live_env["engine"], Phone) == ROWS
    assert not good.exists()  # uploads are removed once imported

    failed = Job.fetch(second.id, connection=redis_conn)
    assert failed.get_status() == JobStatus.FAILED
    assert failed.meta["file_error"] == ["import.unknown_columns", {
        "columns": ["id"], "allowed": ["external_id", "name", "phones", "tax_id", "region",
                                       "industry", "lifecycle", "tier", "email",
                                       "responsible", "department", "notes",
                                       "is_placeholder"]}]


def test_cli_import_prints_summary_and_writes_errors(live_env, tmp_path):
    source = tmp_path / "customers.csv"
    source.write_text(GOOD + "C3,Broken,not-a-phone\n", encoding="utf-8")
    errors_out = tmp_path / "errors.csv"
    runner = CliRunner()
    english = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": "en_US.UTF-8"}
    result = runner.invoke(main, ["import", "customers", str(source), "--as-user", "sup",
                                  "--errors-out", str(errors_out)], env=english)
    assert result.exit_code == 0, result.output
    assert "3 rows read" in result.output and "2 created" in result.output
    assert "line 4: phones: not-a-phone is not a valid phone number" in result.output
    lines = errors_out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "line,field,message,code" and lines[1].startswith("4,phones,")
    assert lines[1].endswith(",phone.invalid")

    # A shell that speaks Chinese gets the rows' errors in Chinese.
    chinese = {**english, "LANG": "zh_CN.UTF-8"}
    source.write_text(GOOD + "C4,Broken,not-a-phone\n", encoding="utf-8")
    result = runner.invoke(main, ["import", "customers", str(source)], env=chinese)
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("line 4: phones:"))
    assert "not-a-phone" in line and "电话号码" in line, line

    again = runner.invoke(main, ["import", "customers", str(source)])
    assert again.exit_code == 0 and "2 unchanged" in again.output
    assert _count(live_env["engine"], Customer) == 2

    unusable = tmp_path / "wrong.csv"
    unusable.write_text("nothing,useful\n")
    failed = runner.invoke(main, ["import", "customers", str(unusable)])
    assert failed.exit_code == 1 and "Unknown columns: nothing, useful." in failed.output
    nobody = runner.invoke(main, ["import", "customers", str(source), "--as-user", "ghost"])
    assert nobody.exit_code == 1 and "no active user" in nobody.output


# --- web upload -------------------------------------------------------------------------

def _upload(client, data: bytes, kind: str = "customers", name: str = "客户.csv"):
    token = csrf_token(text(client.get("/imports/")))
    return client.post("/imports/", data={"csrf_token": token, "kind": kind,
                                          "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _relogin(client, username: str) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(text(client.get("/customers/")))})
    login(client, username)


def test_upload_queues_a_job_that_only_its_owner_and_admins_can_watch(
        app, client, make_user, redis_conn):
    make_user("supervisor", username="sup1")
    make_user("supervisor", username="sup2")
    make_user("admin", username="root")
    login(client, "sup1")
    page = client.get("/imports/")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in text(page)
    response = _upload(client, GOOD.encode())
    assert response.status_code == 302
    job_id = re.fullmatch(r"/imports/([\w-]+)", response.headers["Location"]).group(1)
    job = Job.fetch(job_id, connection=redis_conn)
    kind, path, user_id = job.args
    stored = Path(path)
    try:
        assert kind == "customers" and stored.parent == Path(app.instance_path) / "uploads"
        assert stored.read_bytes() == GOOD.encode() and "客户" not in stored.name
        progress = client.get(f"/imports/{job_id}")
        assert progress.status_code == 200 and "js/import.js" in text(progress)
        assert "<script>" not in text(progress)
        status = client.get(f"/imports/{job_id}/status").get_json()
        assert (status["state"], status["kind"], status["filename"]) == (
            "queued", "customers", "客户.csv")

        _relogin(client, "sup2")
        assert client.get(f"/imports/{job_id}/status").status_code == 404
        assert client.get(f"/imports/{job_id}").status_code == 404
        _relogin(client, "root")
        assert client.get(f"/imports/{job_id}/status").status_code == 200
        assert client.get("/imports/not-a-job/status").status_code == 404
    finally:
        stored.unlink(missing_ok=True)


def test_upload_needs_the_permission_and_a_file(client, make_user):
    make_user("agent", username="agent1")
    login(client, "agent1")
    assert client.get("/imports/").status_code == 403
    make_user("supervisor", username="sup3")
    _relogin(client, "sup3")
    token = csrf_token(text(client.get("/imports/")))
    missing = client.post("/imports/", data={"csrf_token": token, "kind": "customers"},
                          content_type="multipart/form-data")
    assert missing.status_code == 422
    assert _upload(client, b"").status_code == 422
    no_csrf = client.post("/imports/", data={"kind": "customers",
                                             "file": (io.BytesIO(b"x"), "a.csv")},
                          content_type="multipart/form-data")
    assert no_csrf.status_code == 400
