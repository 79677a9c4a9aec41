"""Web forms of the service desk (Flask-WTF: CSRF on every one).

The forms check shape only (required, length, a choice from the list); the rules stay
in ``tickets.services``, whose ValidationError is put back onto the fields with
``callcenter.customers.forms.apply_errors``. Text limits are the schema's (``LIMITS``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from tickets.models import Channel, Priority, TicketStatus
from tickets.schemas import LIMITS, REPORTER_LIMITS

PRIORITY_LABELS = {Priority.LOW: _l("Low"), Priority.NORMAL: _l("Normal"),
                   Priority.HIGH: _l("High"), Priority.URGENT: _l("Urgent")}
#: Shown with the label: priority never by colour alone.
PRIORITY_ICONS = {Priority.LOW: "↓", Priority.NORMAL: "·", Priority.HIGH: "↑",
                  Priority.URGENT: "‼"}
STATUS_LABELS = {TicketStatus.NEW: _l("New"), TicketStatus.ASSIGNED: _l("Assigned"),
                 TicketStatus.IN_PROGRESS: _l("In progress"),
                 TicketStatus.PENDING: _l("Pending"), TicketStatus.RESOLVED: _l("Resolved"),
                 TicketStatus.CLOSED: _l("Closed")}
#: What the button moving a ticket to a status says.
TRANSITION_LABELS = {TicketStatus.ASSIGNED: _l("Assign"),
                     TicketStatus.IN_PROGRESS: _l("Start work"),
                     TicketStatus.PENDING: _l("Put on hold (pending)"),
                     TicketStatus.RESOLVED: _l("Resolve"), TicketStatus.CLOSED: _l("Close")}
CHANNEL_LABELS = {Channel.PHONE: _l("Phone"), Channel.EMAIL: _l("E-mail"),
                  Channel.WEB: _l("Web"), Channel.WALK_IN: _l("Walk-in")}


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(key.value, label) for key, label in labels.items()]


OPTIONAL_ID = [Optional(), NumberRange(min=1)]


class TicketForm(FlaskForm):
    """A new ticket. The choices of type, contact, product and assignee are set by the
    view (they depend on the customer and the editors' types)."""

    customer_id = IntegerField(_l("Customer number"), validators=[DataRequired(),
                                                                 NumberRange(min=1)])
    type = SelectField(_l("Type"), validators=[DataRequired()], choices=[])
    priority = SelectField(_l("Priority"), choices=_choices(PRIORITY_LABELS),
                           default=Priority.NORMAL.value)
    subject = StringField(_l("What does the customer want?"),
                          validators=[DataRequired(), Length(max=LIMITS["subject"])],
                          description=_l("One line: the request or the fault."))
    description = TextAreaField(_l("Details"),
                                validators=[Optional(), Length(max=LIMITS["description"])])
    contact_id = SelectField(_l("Reporter (contact)"), choices=[], validate_choice=False)
    reporter_name = StringField(_l("Reporter's name"),
                                validators=[Optional(), Length(max=REPORTER_LIMITS["name"])])
    reporter_phone = StringField(_l("Reporter's phone"),
                                 validators=[Optional(), Length(max=REPORTER_LIMITS["phone"])])
    installed_product_id = SelectField(_l("Product"), choices=[], validate_choice=False)
    channel = SelectField(_l("Channel"), choices=_choices(CHANNEL_LABELS),
                          default=Channel.PHONE.value)
    assignee_id = SelectField(_l("Assignee"), choices=[], validate_choice=False,
                              description=_l("Empty: the team's next agent in turn."))
    call_id = HiddenField()


class EditTicketForm(FlaskForm):
    version = HiddenField(validators=[DataRequired()])
    subject = StringField(_l("What does the customer want?"),
                          validators=[DataRequired(), Length(max=LIMITS["subject"])])
    description = TextAreaField(_l("Details"),
                                validators=[Optional(), Length(max=LIMITS["description"])])
    priority = SelectField(_l("Priority"), choices=_choices(PRIORITY_LABELS))
    installed_product_id = SelectField(_l("Product"), choices=[], validate_choice=False)


class TransitionForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[DataRequired(), NumberRange(min=1)])
    assignee_id = SelectField(_l("Assign to"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note (optional)"),
                         validators=[Optional(), Length(max=LIMITS["note"])])
    resolution = TextAreaField(_l("Result of the service (when resolving)"),
                               validators=[Optional(), Length(max=LIMITS["resolution"])])


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(),
                                                    Length(max=LIMITS["body"])])
    internal = RadioField(_l("Who sees it"), default="1", choices=[
        SelectChoice("1", _l("Internal note: staff only")),
        SelectChoice("0", _l("Reply to the customer: the customer sees it"))])


class AttachmentForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired()])


class TicketFilterForm(FlaskForm):
    """The list's filters (GET, no CSRF: they change nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("Ticket number or words of the subject"),
                    validators=[Optional(), Length(max=200)])
    status = SelectField(_l("Status"), validate_choice=False,
                         choices=[SelectChoice("", _l("Any status"))]
                         + _choices(STATUS_LABELS))
    priority = SelectField(_l("Priority"), validate_choice=False,
                           choices=[SelectChoice("", _l("Any"))] + _choices(PRIORITY_LABELS))
    type = SelectField(_l("Type"), validate_choice=False, choices=[])


__all__ = ["AttachmentForm", "CommentForm", "EditTicketForm",
           "TicketFilterForm", "TicketForm", "TransitionForm"]
