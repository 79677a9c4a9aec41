"""Ticket attachments: accepted by their content, kept outside the web root under a
generated name, served as downloads with safe headers, only to those who see the ticket."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from api_helpers import assert_error, assert_schema, bearer

from callcenter.app import create_app

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="department", department="Service/Hotline", token=True)


@pytest.fixture
def ticket(client, agent, make_customer):
    customer = make_customer(agent, "Bus Co")
    r = client.post("/api/v1/tickets", headers=bearer(agent), json={
        "type": "service_request", "subject": "Broken", "customer_id": customer.id})
    assert r.status_code == 201
    return r.get_json()


def download(client, url, user=None):
    """GET a file, read it and close the response (it holds the open file)."""
    response = client.get(url, headers=bearer(user) if user else {})
    response.get_data()
    response.close()
    return response


def upload(client, user, ticket, name, data, field="file"):
    return client.post(f"/api/v1/tickets/{ticket['id']}/attachments", headers=bearer(user),
                       data={field: (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize(("name", "data", "ctype"), [
    ("photo.png", PNG, "image/png"), ("report.pdf", PDF, "application/pdf"),
    ("notes.txt", "维修记录 ok\n".encode(), "text/plain; charset=utf-8"),
    ("offer.docx", docx(),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
])
def test_accepted_files_round_trip_as_downloads(client, agent, ticket, app, name, data,
                                                ctype):
    r = upload(client, agent, ticket, name, data)
    assert r.status_code == 201, r.get_json()
    meta = r.get_json()
    assert_schema(meta, "Attachment")
    assert (meta["filename"], meta["content_type"], meta["size"]) == (name, ctype, len(data))
    stored = Path(app.config["SETTINGS"].instance_path) / "attachments"
    files = [p for p in stored.iterdir() if not p.name.startswith(".")]
    assert any(p.read_bytes() == data for p in files)
    assert all(name not in p.name for p in files)  # a generated name, not the upload's
    got = download(client, meta["url"], agent)
    assert got.status_code == 200 and got.data == data
    assert got.headers["Content-Type"].startswith(ctype.split(";")[0])
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    listed = client.get(f"/api/v1/tickets/{ticket['id']}/attachments", headers=bearer(agent))
    assert_schema(listed.get_json(), "AttachmentList")
    assert [a["id"] for a in listed.get_json()["items"]] == [meta["id"]]
    history = client.get(f"/api/v1/tickets/{ticket['id']}/history",
                         headers=bearer(agent)).get_json()["items"]
    assert history[-1]["field"] == "attachment" and history[-1]["new_value"] == name


@pytest.mark.parametrize(("name", "data"), [
    ("page.html", b"<html><script>alert(1)</script></html>"),
    ("image.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"),
    ("photo.png", b"<html><script>alert(1)</script></html>"),   # a lie about the type
    ("report.pdf", PNG),                                        # bytes and name disagree
    ("tool.exe", b"MZ\x90\x00\x03" + b"\x00" * 60),
    ("notes.txt", b"abc\x00def"),
    ("fake.docx", b"PK\x03\x04garbage"),
    ("empty.txt", b""),
])
def test_wrong_types_are_refused(client, agent, ticket, name, data):
    body = assert_error(upload(client, agent, ticket, name, data), 422, "file")
    assert body["error"]["problems"]["file"]["code"] in ("ticket.attachment_type",
                                                         "ticket.attachment_empty")


def test_missing_file_field(client, agent, ticket):
    assert_error(upload(client, agent, ticket, "a.png", PNG, field="other"), 422, "file")


@pytest.mark.parametrize("name", ["../../etc/passwd.txt", "..\\..\\win.ini.txt",
                                  "/abs/path/x.txt", "a\x00b.txt", "\u202etxt.exe.txt"])
def test_path_traversal_names_are_only_shown_cleaned(client, agent, ticket, app, name):
    r = upload(client, agent, ticket, name, b"plain text")
    assert r.status_code == 201, r.get_json()
    shown = r.get_json()["filename"]
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown
    assert "\u202e" not in shown
    root = Path(app.config["SETTINGS"].instance_path)
    assert not (root.parent / "etc").exists()
    assert download(client, r.get_json()["url"], agent).data == b"plain text"


def test_oversized_files_are_413(settings, connection, agent, ticket):
    small = create_app(replace(settings, ticket_attachment_max_bytes=1000), db_bind=connection,
                       testing=True,
                       session_options={"join_transaction_mode": "create_savepoint"})
    client = small.test_client()
    assert upload(client, agent, ticket, "ok.txt", b"x" * 1000).status_code == 201
    body = assert_error(upload(client, agent, ticket, "big.txt", b"x" * 1001), 413)
    assert body["error"]["code"] == "ticket.attachment_too_large"
    # Far beyond the limit: refused before the body is read.
    assert_error(upload(client, agent, ticket, "huge.txt", b"x" * 200_000), 413)


def test_only_users_who_see_the_ticket_get_the_file(client, agent, ticket, make_user):
    meta = upload(client, agent, ticket, "photo.png", PNG).get_json()
    stranger = make_user("agent", scope="own", department="Sales", token=True)
    assert_error(download(client, meta["url"], stranger), 404)
    assert_error(upload(client, stranger, ticket, "x.png", PNG), 404)
    assert_error(client.get(f"/api/v1/tickets/{ticket['id']}/attachments",
                            headers=bearer(stranger)), 404)
    # Another ticket's attachment id under this ticket: not found either.
    assert_error(client.get(f"/api/v1/tickets/{ticket['id']}/attachments/999999",
                            headers=bearer(agent)), 404)
    assert download(client, meta["url"]).status_code == 401


def test_a_rolled_back_upload_leaves_no_file(session, settings, agent, ticket):
    """The file is written before the row commits: if the unit of work is rolled back
    (a later step failed), the file goes with it."""
    from tickets.attachments import Upload, add_attachment, attachments_dir
    from tickets.models import Ticket

    folder = attachments_dir(settings)
    before = set(folder.iterdir()) if folder.exists() else set()
    row = session.get(Ticket, ticket["id"])
    add_attachment(session, agent, row, Upload("draft.txt", io.BytesIO(b"draft")),
                   settings=settings)
    assert len(set(folder.iterdir()) - before) == 1
    session.rollback()   # what the request does when a later step raises
    assert set(folder.iterdir()) == before


def test_the_sweep_removes_only_old_files_no_row_names(client, session, settings, agent,
                                                       ticket):
    import os
    import time

    from tickets.attachments import attachments_dir, sweep_orphans

    kept = upload(client, agent, ticket, "kept.txt", b"kept").get_json()
    folder = attachments_dir(settings)
    orphan, fresh = folder / ("a" * 40), folder / ("b" * 40)
    orphan.write_bytes(b"left by a killed process")
    fresh.write_bytes(b"an upload still in its transaction")
    hour_ago = time.time() - 3700
    os.utime(orphan, (hour_ago, hour_ago))
    for path in folder.iterdir():
        if path not in (orphan, fresh):
            os.utime(path, (hour_ago, hour_ago))
    result = sweep_orphans(session, settings)
    # (Files of earlier tests, whose rows were rolled back, are orphans too.)
    assert result["removed"] >= 1 and not orphan.exists() and fresh.exists()
    assert download(client, kept["url"], agent).data == b"kept"
    assert sweep_orphans(session, settings)["removed"] == 0
