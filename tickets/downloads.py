"""Serving an attachment: one response for the API and the ticket page alike."""

from __future__ import annotations

from flask import Response, send_file

from callcenter.config import Settings
from tickets.attachments import download_headers, stored_path
from tickets.models import TicketAttachment


def send_attachment(settings: Settings, row: TicketAttachment) -> Response:
    """The file as a download, typed as its bytes were accepted, never rendered or cached."""
    response = send_file(stored_path(settings, row), mimetype=row.content_type,
                         as_attachment=True, download_name=row.filename, max_age=0,
                         conditional=False, etag=False)
    response.headers.update(download_headers(row))
    return response
