"""Compressed answers (callcenter/compression.py), on both backends: a page, the API, a
script and the CSV export go out compressed when the client accepts it and decode to the
very bytes sent uncompressed; not without it; files keep answering conditional requests
(304) and ranges (206, uncompressed); the CSV export still streams; Socket.IO is left
alone."""

from __future__ import annotations

import gzip
import re
import zlib

import brotli
from test_calls import AGENT_IF, T0, finished
from webtools import login

from callcenter.assets import vendor_file
from callcenter.calls.recording import record_call

IDENTITY = {"Accept-Encoding": "identity"}


def _stable(html: bytes) -> bytes:
    """A page without what changes from one request to the next: its CSRF tokens (signed
    with the second they were made) and the moment its figures were computed."""
    html = re.sub(rb'(csrf[^"]*" (?:type="hidden" )?(?:value|content)=")[^"]+', rb"\1-", html)
    return re.sub(rb'"updated_at": "[^"]+"', b'"updated_at": "-"', html)


def test_pages_and_the_api_compressed_when_the_client_accepts_it(client, make_user):
    make_user("supervisor", username="zip_sup", department="Service/Beijing")
    login(client, "zip_sup")
    plain = client.get("/wallboard", headers=IDENTITY)
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    for encoding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        packed = client.get("/wallboard", headers={"Accept-Encoding": encoding})
        assert packed.headers["Content-Encoding"] == encoding
        assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 3
        assert _stable(decode(packed.data)) == _stable(plain.data)
    # The browsers' own header: the best they take (zstd first, as Flask-Compress ranks).
    browser = client.get("/wallboard", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert browser.headers["Content-Encoding"] == "br"

    doc = client.get("/api/v1/openapi.json", headers=IDENTITY)
    packed = client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and packed.mimetype == doc.mimetype
    assert gzip.decompress(packed.data) == doc.data
    # Small answers are not worth it; no header, no compression.
    small = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert len(small.data) < 500 and "Content-Encoding" not in small.headers
    assert "Content-Encoding" not in client.get("/api/v1/openapi.json").headers


def _get(client, url: str, **headers: str):
    """GET, the body read and the answer closed, as a WSGI server does (closing it
    closes the file a compressed stream reads from)."""
    response = client.get(url, headers={k.replace("_", "-"): v for k, v in headers.items()})
    response.get_data()
    response.close()
    return response


def test_files_compressed_with_their_validators_and_ranges_intact(client):
    """Chart.js (/vendor/) and the wallboard's script (/static/): compressed, an ETag
    of their own per encoding, a revalidation answered 304 with no body, a range as the
    file's own bytes."""
    for url, path in (("/vendor/chart.umd.min.js", vendor_file("chart.umd.min.js")),
                      ("/static/js/wallboard.js", None)):
        raw = path.read_bytes() if path else _get(client, url, Accept_Encoding="identity").data
        plain = _get(client, url, Accept_Encoding="identity")
        assert plain.status_code == 200 and plain.data == raw
        assert "Content-Encoding" not in plain.headers
        packed = _get(client, url, Accept_Encoding="br")
        assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "br"
        assert brotli.decompress(packed.data) == raw and len(packed.data) < len(raw) / 2
        etag = packed.headers["ETag"]
        assert etag == plain.headers["ETag"][:-1] + ':br"'
        again = _get(client, url, Accept_Encoding="br", If_None_Match=etag)
        assert (again.status_code, again.data) == (304, b""), url
        again = _get(client, url, Accept_Encoding="identity",
                     If_None_Match=plain.headers["ETag"])
        assert (again.status_code, again.data) == (304, b""), url
        # A stale validator: the whole file again, compressed.
        stale = _get(client, url, Accept_Encoding="br", If_None_Match='"x:br"')
        assert stale.status_code == 200 and brotli.decompress(stale.data) == raw
        part = _get(client, url, Accept_Encoding="br", Range="bytes=0-99")
        assert part.status_code == 206 and "Content-Encoding" not in part.headers
        assert part.data == raw[:100]
    # Streams are compressed with zstd, br or deflate (Flask-Compress's choice, see
    # callcenter/compression.py): gzip alone gets the file as it is.
    gz = _get(client, "/static/js/wallboard.js", Accept_Encoding="gzip")
    assert gz.status_code == 200 and "Content-Encoding" not in gz.headers


def test_the_csv_export_streams_compressed(client, session, make_user):
    """Three thousand calls: the export arrives in several compressed pieces (no
    Content-Length: nothing gathered first) that decode to the uncompressed export."""
    make_user("admin", username="zip_admin")
    make_user("agent", username="zip_agent", interface=AGENT_IF)
    for n in range(3000):
        record_call(session, finished(f"1795{n:06d}.{n % 7}", caller_number=f"1381234{n:04d}",
                                      caller_name=f"客户 {n}", started_at=T0 + n * 40,
                                      ended_at=T0 + n * 40 + 30), region="CN")
    session.flush()
    login(client, "zip_admin")
    plain = client.get("/calls/export.csv", headers=IDENTITY)
    assert plain.status_code == 200 and plain.data.count(b"\n") == 3001
    response = client.get("/calls/export.csv", headers={"Accept-Encoding": "deflate"},
                          buffered=False)
    try:
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.headers["Content-Encoding"] == "deflate"
        assert "Content-Length" not in response.headers and response.is_streamed
        pieces = [piece for piece in response.response if piece]
    finally:
        response.close()
    assert len(pieces) > 1
    assert zlib.decompress(b"".join(pieces)) == plain.data


def test_socketio_is_left_alone(client):
    """Engine.IO answers before Flask: no Vary, no Content-Encoding from us."""
    r = client.get("/socket.io/?EIO=4&transport=polling",
                   headers={"Accept-Encoding": "gzip, br"})
    assert r.status_code == 200 and r.data.startswith(b"0{")
    assert "Accept-Encoding" not in r.headers.get("Vary", "")
    assert "Content-Encoding" not in r.headers
