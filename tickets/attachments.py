"""Files attached to a ticket: a photo of the fault, a PDF report, a spreadsheet.

What is accepted is decided by the content, not by the name alone: the first bytes must
be those of an image (PNG, JPEG, GIF, WebP), a PDF, an office document (OOXML or OLE2
with the matching extension, OpenDocument) or UTF-8 text without NUL bytes, and the
extension must agree with what the bytes are. HTML, SVG, scripts and executables never
are, whatever they are called. The file is kept outside the web root under
``<instance>/attachments/<random name>``; the uploader's name is only ever shown (and
cleaned first), never used as a path. Files are served as downloads (see
``download_headers``) only to users who may see the ticket.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.core.errors import AppError, NotFound, Problem, ValidationError
from callcenter.customers.services import require
from callcenter.db import after_rollback, utcnow
from callcenter.jobs import JobContext, job_task
from callcenter.uploads import remove_stale_files
from callcenter.users.models import User
from callcenter.users.permissions import Permission
from tickets import history
from tickets.models import Ticket, TicketAttachment

ATTACHMENTS_DIR = "attachments"
#: A file this old that no attachment row names is an upload whose request failed.
ORPHAN_MAX_AGE_S = 3600
SWEEP_ORPHANS_EVERY_S = 3600
MAX_FILENAME = 200
_CHUNK = 64 * 1024

#: extension -> the content type served for it, when the bytes agree.
_OOXML = {"docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                   "word/"),
          "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xl/"),
          "pptx": ("application/vnd.openxmlformats-officedocument.presentationml."
                   "presentation", "ppt/")}
_ODF = {"odt": "application/vnd.oasis.opendocument.text",
        "ods": "application/vnd.oasis.opendocument.spreadsheet",
        "odp": "application/vnd.oasis.opendocument.presentation"}
_OLE2 = {"doc": "application/msword", "xls": "application/vnd.ms-excel",
         "ppt": "application/vnd.ms-powerpoint"}
_IMAGES = {b"\x89PNG\r\n\x1a\n": ("image/png", {"png"}),
           b"\xff\xd8\xff": ("image/jpeg", {"jpg", "jpeg"}),
           b"GIF87a": ("image/gif", {"gif"}), b"GIF89a": ("image/gif", {"gif"})}
_TEXT = {"txt", "log", "csv"}
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class AttachmentTooLarge(AppError):
    code = "ticket.attachment_too_large"
    status = 413


class AttachmentNotFound(NotFound):
    entity = "attachment"


@dataclass(frozen=True)
class Upload:
    filename: str
    stream: IO[bytes]


def attachments_dir(settings: Settings) -> Path:
    return Path(settings.instance_path) / ATTACHMENTS_DIR


def clean_filename(name: str | None) -> str:
    """The name to show: the last path part, no control or format characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[-MAX_FILENAME:] or "attachment"


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def sniff(data: bytes, filename: str) -> str | None:
    """The content type to serve ``data`` as, or None when it is not accepted."""
    ext = _extension(filename)
    for magic, (ctype, exts) in _IMAGES.items():
        if data.startswith(magic):
            return ctype if ext in exts else None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp" if ext == "webp" else None
    if data.startswith(b"%PDF-"):
        return "application/pdf" if ext == "pdf" else None
    if data.startswith(_OLE2_MAGIC):
        return _OLE2.get(ext)
    if data.startswith(b"PK\x03\x04"):
        return _zip_type(data, ext)
    if ext in _TEXT and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return "text/plain; charset=utf-8"
    return None


def _zip_type(data: bytes, ext: str) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if ext in _OOXML:
                ctype, folder = _OOXML[ext]
                ok = "[Content_Types].xml" in names and any(n.startswith(folder)
                                                             for n in names)
                return ctype if ok else None
            if ext in _ODF and "mimetype" in names:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                return _ODF[ext] if declared == _ODF[ext] else None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None
    return None


def _read_limited(stream: IO[bytes], limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise AttachmentTooLarge(max=limit)
        chunks.append(chunk)


def add_attachment(session: Session, actor: User, ticket: Ticket, upload: Upload, *,
                   settings: Settings) -> TicketAttachment:
    """Check and keep an uploaded file; a history row ``attachment`` names it."""
    require(actor, Permission.TICKET_WRITE)
    limit = settings.ticket_attachment_max_bytes
    data = _read_limited(upload.stream, limit)
    filename = clean_filename(upload.filename)
    if not data:
        raise ValidationError({"file": Problem("ticket.attachment_empty")})
    content_type = sniff(data, filename)
    if content_type is None:
        raise ValidationError({"file": Problem("ticket.attachment_type")})
    folder = attachments_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stored = secrets.token_hex(20)
    temp = folder / f".{stored}.part"
    with open(temp, "wb") as out:
        out.write(data)
    os.replace(temp, folder / stored)
    # The row may yet be rolled back (a later error in the request): the file goes too.
    # A process killed before either happens leaves it to sweep_orphan_attachments.
    after_rollback(session, lambda: (folder / stored).unlink(missing_ok=True))
    row = TicketAttachment(ticket_id=ticket.id, filename=filename, stored_name=stored,
                           content_type=content_type, size=len(data),
                           sha256=hashlib.sha256(data).hexdigest(),
                           uploaded_by_id=actor.id, created_at=utcnow())
    session.add(row)
    session.flush()
    history.record(session, ticket.id, actor, "attachment", None, filename, at=row.created_at)
    session.flush()
    return row


def sweep_orphans(session: Session, settings: Settings, *,
                  max_age_s: float = ORPHAN_MAX_AGE_S, now: float | None = None) -> dict:
    """Remove attachment files no row names, older than ``max_age_s`` (younger ones may
    belong to an upload whose transaction is still open). Idempotent."""
    folder = attachments_dir(settings)
    if not folder.is_dir():
        return {"removed": 0, "kept": 0}
    known = set(session.scalars(select(TicketAttachment.stored_name)))
    return remove_stale_files(
        folder, lambda path: path.name.removeprefix(".").removesuffix(".part") in known,
        max_age_s=max_age_s, now=now, what="attachment")


@job_task(exclusive=True)
def sweep_orphan_attachments(ctx: JobContext) -> dict:
    """The periodic job (callcenter.schedule): ``sweep_orphans`` with the worker's settings."""
    return sweep_orphans(ctx.session, ctx.settings)


def ticket_attachments(session: Session, ticket: Ticket) -> list[TicketAttachment]:
    return list(session.scalars(select(TicketAttachment)
                                .where(TicketAttachment.ticket_id == ticket.id)
                                .order_by(TicketAttachment.id)))


def get_attachment(session: Session, ticket: Ticket, attachment_id: int) -> TicketAttachment:
    """An attachment of ``ticket`` (already scope-checked); AttachmentNotFound otherwise."""
    row = session.scalar(select(TicketAttachment).where(
        TicketAttachment.id == attachment_id, TicketAttachment.ticket_id == ticket.id))
    if row is None:
        raise AttachmentNotFound(attachment_id)
    return row


def stored_path(settings: Settings, row: TicketAttachment) -> Path:
    """Where the file is; the stored name is ours (hex), so it never leaves the folder."""
    path = attachments_dir(settings) / row.stored_name
    if not row.stored_name.isalnum() or not path.is_file():
        raise AttachmentNotFound(row.id)
    return path


def download_headers(row: TicketAttachment) -> dict[str, str]:
    """Served as a download that no browser renders or sniffs as a page."""
    return {"X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store"}
