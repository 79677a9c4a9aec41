"""Compressed answers: HTML, JSON, scripts, styles and CSV go out compressed (zstd,
Brotli, gzip or deflate: the first the browser accepts) with Flask-Compress. Why in the
app and not in HAProxy, and what it saves on the wallboard: docs/wallboard.md
("Compression").

What is left alone, and why:

* Socket.IO: its requests never reach Flask's ``after_request`` (python-engineio's WSGI
  middleware answers them before Flask, ``callcenter.realtime.server``), so its frames
  stay as they are.
* Files that are compressed already (images, fonts in WOFF2, PDFs, uploads): their
  types are not in ``MIMETYPES``.
* A part of a file (206, a ``Range`` request): its ``Content-Range`` counts the bytes
  of the file, which a compressed body would not match.
* Small answers (under 500 bytes): the headers would weigh more than the saving.

Streamed answers (the CSV exports, the static files, which Flask sends from the open
file) are compressed chunk by chunk as they are produced: nothing is gathered in
memory first. Flask-Compress compresses streams with zstd, Brotli or deflate only (not
gzip), so a client that accepts gzip alone gets a stream as it is. A file (``/static/``,
``/vendor/``) keeps its ETag with the encoding added (``"...:br"``), and a conditional
request naming it answers 304 without compressing anything.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_compress import Compress

from callcenter.core.exports import CSV_MEDIA_TYPE

#: What is worth compressing: text we send (pages, the API, scripts, styles, exports).
MIMETYPES = ["text/html", "text/css", "text/plain", CSV_MEDIA_TYPE, "text/javascript",
             "application/javascript", "application/json", "application/problem+json",
             "image/svg+xml"]


def init_app(app: Flask) -> None:
    """Compress the app's answers. Register it before the database's commit hook
    (``callcenter.db.init_app``): after-request hooks run last-first, so the body is
    compressed once the transaction has ended, never while it holds its locks."""
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config["COMPRESS_REGISTER"] = False   # our hook below decides, then calls it
    # Flask-Compress re-checks If-None-Match on a compressed file only for the endpoints
    # listed here ("static" by default), not for /vendor/ (Chart.js, Socket.IO), whose
    # revalidations would then get the whole file again: the hook does it for every file.
    app.config["COMPRESS_STREAMING_ENDPOINT_CONDITIONAL"] = []
    # One per app: Flask-Compress keeps what it read of the config on the instance.
    compress = Compress()
    compress.init_app(app)
    app.extensions["compress"] = compress

    @app.after_request
    def _compress(response: Response) -> Response:
        if response.status_code == 206:
            return response
        source = response.response
        response = compress.after_request(response)
        if response.response is not source and hasattr(source, "close"):
            # A compressed stream replaced the body with a generator over it, and closing
            # that never closes what it read from: the open file of send_file, a view's
            # generator (its app context). Closing the answer closes them too.
            response.call_on_close(source.close)
        # A file (send_file: streamed, with an ETag) now carries the ETag of its
        # compressed form ("...:br"): the browser's If-None-Match names that one, which
        # send_file compared with the file's own and missed. Compare again: 304.
        if response.is_streamed and "Content-Encoding" in response.headers \
                and response.get_etag()[0] and request.method in ("GET", "HEAD"):
            response.make_conditional(request)
        return response
