"""A ticket's attachments on its page: upload one, download one. Thin shells over
``tickets.attachments`` (where the checks of size, type and name live)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from callcenter.auth import permission_required
from callcenter.core.errors import ValidationError
from callcenter.core.messages import describe
from callcenter.db import db_session
from callcenter.users.permissions import Permission
from tickets.attachments import Upload, add_attachment, get_attachment
from tickets.downloads import send_attachment
from tickets.forms import AttachmentForm
from tickets.views import REJECTED, load, render_ticket, settings, tickets_bp


@tickets_bp.route("/<int:ticket_id>/attachments", methods=["POST"])
@permission_required(Permission.TICKET_WRITE)
def upload(ticket_id: int):
    ticket = load(ticket_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        return render_ticket(ticket, status=REJECTED,
                             problem=_("Choose a file to upload."))
    upload = form.file.data
    try:
        row = add_attachment(db_session(), current_user, ticket,
                             Upload(upload.filename or "", upload.stream), settings=settings())
    except ValidationError as exc:
        return render_ticket(ticket, status=REJECTED,
                             problem=" ".join(describe(p) for p in exc.errors.values()))
    flash(_("%(name)s attached.", name=row.filename), "success")
    return redirect(url_for("tickets.view", ticket_id=ticket.id, _anchor="attachments"))


@tickets_bp.route("/<int:ticket_id>/attachments/<int:attachment_id>")
@permission_required(Permission.TICKET_READ)
def attachment(ticket_id: int, attachment_id: int):
    ticket = load(ticket_id)
    return send_attachment(settings(), get_attachment(db_session(), ticket, attachment_id))
