"""The services' validation messages in the user's language.

Services speak English (the API returns their messages as they are); the web UI
shows them translated. Fixed messages are looked up in the catalogue; messages
with a value in them are matched by pattern. An unknown message is shown as is.
"""

from __future__ import annotations

import re

from flask_babel import gettext


def N_(message: str) -> str:  # noqa: N802 - the conventional marker name for extraction
    """Marks a message for the catalogue; translated later, when shown."""
    return message

_FIXED = {
    "required": N_("This field is required."),
    "cannot be changed": N_("This cannot be changed."),
    "must be text": N_("Must be text."),
    "contains control characters": N_("Contains control characters; remove them."),
    "must be true or false": N_("Must be yes or no."),
    "must be an id": N_("Enter a number."),
    "payer must equal bill-to": N_(
        "The payer must be the bill-to customer: enter the same customer number in both."),
    "must be a list of user ids": N_("Choose employees from the list."),
    "must be a list of phone numbers": N_("Enter phone numbers, one per line."),
    "must be a phone number as text": N_("Enter a phone number."),
    "no phone number given": N_("No phone number given."),
    "already used by another customer": N_("Already used by another customer."),
    "already registered to another product": N_("Already registered to another product."),
    "cannot merge a customer into itself": N_("A customer cannot be merged into itself."),
    "is before the installation date": N_("Must not be before the installation date."),
}

#: (pattern, translated template): the template gets the pattern's named groups.
_PATTERNS = [
    (re.compile(r"^(?:text of )?at most (?P<n>\d+) characters$"),
     N_("At most %(n)s characters.")),
    (re.compile(r"^at most (?P<n>\d+) phone numbers$"),
     N_("At most %(n)s phone numbers.")),
    (re.compile(r"^(?P<value>'.*'|\".*\") is not a (?:valid )?phone number$"),
     N_("%(value)s is not a valid phone number. Check the digits and the area "
                  "code.")),
    (re.compile(r"^too long to be a phone number \((?P<n>\d+) characters\)$"),
     N_("Too long to be a phone number (%(n)s characters).")),
    (re.compile(r"^must be one of (?P<values>.+)$"),
     N_("Choose one of: %(values)s.")),
    (re.compile(r"^customer (?P<id>\d+) was (?:already )?merged into (?P<other>\d+)$"),
     N_("Customer no. %(id)s was already merged into no. %(other)s.")),
    (re.compile(r"^(?P<value>'.*') is already registered to another product$"),
     N_("%(value)s is already registered to another product.")),
    (re.compile(r"^at most (?P<n>\d+) addresses$"),
     N_("At most %(n)s addresses per customer.")),
    (re.compile(r"^no such customer (?P<id>\d+)$"),
     N_("There is no customer number %(id)s that you can see.")),
    (re.compile(r"^no such (?P<what>\w+) (?P<id>\d+)$"),
     N_("No such record: %(id)s.")),
]


def translate_error(message: str) -> str:
    """``message`` (from a ValidationError) in the current locale, when it is a known one."""
    fixed = _FIXED.get(message)
    if fixed is not None:
        return gettext(fixed)
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            return gettext(template, **match.groupdict())
    return message
