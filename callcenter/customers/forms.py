"""Web forms for customer master data (Flask-WTF: CSRF on every one).

The forms check shape (required, length, type); the business rules stay in the
services, whose ValidationError is mapped back onto these fields by ``apply_errors``.
"""

from __future__ import annotations

import re

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp
from wtforms.validators import ValidationError as WTFormsValidationError

from callcenter.core.errors import Problem
from callcenter.core.errors import ValidationError as ServiceValidationError
from callcenter.core.fields import is_email_address
from callcenter.core.messages import describe
from callcenter.customers.models import Lifecycle, Tier
from callcenter.customers.schemas import ADDRESS_LIMITS, CONTACT_LIMITS, CUSTOMER_LIMITS
from callcenter.customers.services import clean_phones


def EMAIL(_form, field) -> None:  # noqa: N802 - used like the validator classes
    """The one e-mail rule (``is_email_address``), as the API and the import apply it."""
    if field.data and field.data.strip() and not is_email_address(field.data.strip()):
        raise WTFormsValidationError(describe(Problem("email")))


def _positive_id(_form, field) -> None:
    # Only a parsed number is checked here; text that is no number already has its error.
    if field.data is not None and field.data < 1:
        raise WTFormsValidationError(_("Enter a customer number."))


ID = [Optional(), _positive_id]

LIFECYCLE_LABELS = {Lifecycle.POTENTIAL: _l("Potential"), Lifecycle.TARGET: _l("Target"),
                    Lifecycle.CURRENT: _l("Current"), Lifecycle.LOST: _l("Lost")}
TIER_LABELS = {Tier.VIP: _l("VIP"), Tier.MAJOR: _l("Major"), Tier.ORDINARY: _l("Ordinary"),
               Tier.SMALL: _l("Small")}
ADDRESS_PURPOSES = {"main": _l("Main address"), "ship_to": _l("Ship-to address"),
                    "bill_to": _l("Bill-to address"), "service": _l("Service site"),
                    "other": _l("Other")}

#: Words for the entities and fields of the change history (unknown ones show as stored).
CHANGE_ENTITIES = {"customer": _l("Customer"), "contact": _l("Contact"),
                   "phone": _l("Phone"), "address": _l("Address"),
                   "product": _l("Product"), "merge": _l("Merge")}
CHANGE_FIELDS = {
    "created": _l("created"), "added": _l("added"), "removed": _l("removed"),
    "registered": _l("registered"), "merged": _l("merged in"),
    "merged_into": _l("merged into"), "moved": _l("records moved"),
    "moved_to_customer": _l("moved to customer"),
    "assigned_from_customer": _l("assigned from customer"),
    "name": _l("Name"), "phones": _l("Phone numbers"), "tax_id": _l("Tax ID"),
    "email": _l("E-mail"), "region": _l("Region"), "industry": _l("Industry"),
    "lifecycle": _l("Lifecycle stage"), "tier": _l("Tier"), "notes": _l("Notes"),
    "is_placeholder": _l("Placeholder owner"),
    "responsible_id": _l("Responsible employee"), "department_id": _l("Department"),
    "related_user_ids": _l("Related employees"), "related_user": _l("Related employees"),
    "ship_to_id": _l("Ship-to"),
    "bill_to_id": _l("Bill-to"), "payer_id": _l("Payer"), "position": _l("Position"),
    "purpose": _l("Purpose"), "line": _l("Street and number"), "city": _l("City"),
    "province": _l("Province"), "postcode": _l("Postcode"), "country": _l("Country code"),
    "model": _l("Model"), "serial_number": _l("Serial number"),
    "warranty_type": _l("Warranty type"), "warranty_end": _l("Warranty ends"),
    "installed_on": _l("Installed on"),
}


def phone_lines(text: str | None) -> list[str]:
    """One phone number per line (commas and semicolons also separate)."""
    return [part.strip() for part in re.split(r"[\n;,]", text or "") if part.strip()]


class PhoneLines:
    """Validator: every line a usable phone number (the service's own rules), so a bad
    number is reported together with the form's other errors, not after them."""

    def __call__(self, form, field) -> None:
        try:
            clean_phones(phone_lines(field.data), current_app.config["DEFAULT_PHONE_REGION"],
                         field=field.name)
        except ServiceValidationError as exc:
            key, problem = next(iter(exc.errors.items()))
            raise WTFormsValidationError(_line_message(key, describe(problem))) from exc


def _line_message(key: str, text: str) -> str:
    """``phones[2]`` -> "line 3: ..." (lines as the user typed them, counted from 1)."""
    _name, _sep, index = key.partition("[")
    if not index:
        return text
    return _("line %(n)s: %(message)s", n=int(index.rstrip("]")) + 1, message=text)


class CustomerForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(),
                                               Length(max=CUSTOMER_LIMITS["name"])])
    phones = TextAreaField(_l("Phone numbers"), validators=[PhoneLines()], description=_l(
        "One per line, in any format: 13812345678, +86 138 1234 5678, 010-6234 5678 ext. 12"))
    tax_id = StringField(_l("Tax ID"),
                         validators=[Optional(), Length(max=CUSTOMER_LIMITS["tax_id"])])
    email = StringField(_l("E-mail"),
                        validators=[Optional(), Length(max=CUSTOMER_LIMITS["email"]), EMAIL])
    region = StringField(_l("Region"),
                         validators=[Optional(), Length(max=CUSTOMER_LIMITS["region"])])
    industry = StringField(_l("Industry"),
                           validators=[Optional(), Length(max=CUSTOMER_LIMITS["industry"])])
    lifecycle = SelectField(_l("Lifecycle stage"),
                            choices=[SelectChoice(k.value, v) for k, v in LIFECYCLE_LABELS.items()])
    tier = SelectField(_l("Tier"),
                       choices=[SelectChoice(k.value, v) for k, v in TIER_LABELS.items()],
                       default=Tier.ORDINARY.value)
    # Choices are filled per request; the service checks that the chosen ids exist.
    responsible_id = SelectField(_l("Responsible employee"), choices=[], validate_choice=False)
    department_id = SelectField(_l("Department"), choices=[], validate_choice=False)
    ship_to_id = IntegerField(_l("Ship-to (customer number)"), validators=ID,
                              description=_l("Empty: same as the sold-to customer."))
    bill_to_id = IntegerField(_l("Bill-to (customer number)"), validators=ID,
                              description=_l("Empty: same as the sold-to customer."))
    payer_id = IntegerField(_l("Payer (customer number)"), validators=ID,
                            description=_l("Must be the bill-to customer. "
                                           "Empty: follows the bill-to."))
    is_placeholder = BooleanField(_l("Placeholder owner (holds equipment until the real "
                                     "end user is known)"))
    notes = TextAreaField(_l("Notes"),
                          validators=[Optional(), Length(max=CUSTOMER_LIMITS["notes"])])
    #: The version the form was filled from (optimistic locking): a stale one shows
    #: what changed meanwhile instead of overwriting it.
    version = HiddenField()


#: The customer form's fields compared when it comes back stale, in the form's order.
CONFLICT_FIELDS = ("name", "phones", "tax_id", "email", "region", "industry", "lifecycle",
                   "tier", "responsible_id", "department_id", "is_placeholder", "ship_to_id",
                   "bill_to_id", "payer_id", "notes")


def _comparable(name: str, field) -> str:
    data = field.data
    if name == "phones":
        return "\n".join(phone_lines(data))
    if data is None:
        return ""
    if isinstance(data, bool):
        return "1" if data else ""
    return str(data).strip()


def _shown(name: str, field) -> str:
    value = _comparable(name, field)
    if isinstance(field, BooleanField):
        return _("yes") if value else _("no")
    for choice in getattr(field, "choices", None) or ():
        if str(choice.value) == value:
            return str(choice.label)
    return value or "—"


def changed_meanwhile(theirs: FlaskForm, yours: FlaskForm) -> list[dict[str, str]]:
    """The fields where the saved record (``theirs``, a form filled from it) and the
    submitted form (``yours``) differ: label and both values as the form shows them."""
    rows = []
    for name in CONFLICT_FIELDS:
        a, b = getattr(theirs, name), getattr(yours, name)
        if _comparable(name, a) != _comparable(name, b):
            rows.append({"field": name, "label": str(a.label.text),
                         "theirs": _shown(name, a), "yours": _shown(name, b)})
    return rows


class ContactForm(FlaskForm):
    name = StringField(_l("Name"),
                       validators=[DataRequired(), Length(max=CONTACT_LIMITS["name"])])
    position = StringField(_l("Position"),
                           validators=[Optional(), Length(max=CONTACT_LIMITS["position"])])
    email = StringField(_l("E-mail"),
                        validators=[Optional(), Length(max=CONTACT_LIMITS["email"]), EMAIL])
    phones = TextAreaField(_l("Phone numbers"), validators=[PhoneLines()],
                           description=_l("One per line, in any format."))


class AddressForm(FlaskForm):
    purpose = SelectField(_l("Purpose"),
                          choices=[SelectChoice(k, v) for k, v in ADDRESS_PURPOSES.items()])
    line = StringField(_l("Street and number"),
                       validators=[DataRequired(), Length(max=ADDRESS_LIMITS["line"])])
    city = StringField(_l("City"), validators=[Optional(), Length(max=ADDRESS_LIMITS["city"])])
    province = StringField(_l("Province"),
                           validators=[Optional(), Length(max=ADDRESS_LIMITS["province"])])
    postcode = StringField(_l("Postcode"),
                           validators=[Optional(), Length(max=ADDRESS_LIMITS["postcode"])])
    country = StringField(_l("Country code"), default="CN",
                          validators=[DataRequired(), Regexp(r"^[A-Za-z]{2}$", message=_l(
                              "Two letters, e.g. CN."))])


def apply_errors(form: FlaskForm, errors: dict[str, Problem]) -> list[str]:
    """Put a service's ``ValidationError.errors`` onto the form's fields.

    ``phones[2]`` lands on ``phones`` as "line 3: ..."; errors for fields the form
    does not have are returned, to be shown above the form.
    """
    leftover: list[str] = []
    for key, problem in errors.items():
        name = key.partition("[")[0]
        text = _line_message(key, describe(problem))
        field = getattr(form, name, None)
        if field is None or not hasattr(field, "errors"):
            leftover.append(text)
            continue
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(text)
    return leftover


class MergeForm(FlaskForm):
    survivor_id = IntegerField(validators=[DataRequired(), NumberRange(min=1)])
    merged_id = IntegerField(validators=[DataRequired(), NumberRange(min=1)])
