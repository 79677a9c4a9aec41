"""The catalogue: every error code and its text, translated where it is shown.

Services raise errors with a code and parameters (``callcenter.core.errors``); the
REST API, the web pages, the CLI and the import report turn them into text here, in
the reader's language (Flask-Babel picks it per request: ``Accept-Language`` or the
user's setting). The English texts are the msgids of the gettext catalogue; the
Chinese ones are in ``callcenter/translations/zh_CN/LC_MESSAGES/messages.po``.
tests/test_error_catalogue.py checks that every code has both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from babel import Locale
from babel.support import NullTranslations, Translations
from flask_babel import gettext

from callcenter.core.errors import AppError, Problem, ValidationError
from callcenter.core.lists import CHINESE_SEPARATOR, ENGLISH_SEPARATOR, list_separator


def N_(message: str) -> str:  # noqa: N802 - the conventional marker name for extraction
    """Marks a message for the catalogue; translated later, when shown."""
    return message


#: code -> English text with ``%(param)s`` placeholders (the gettext msgid).
MESSAGES: dict[str, str] = {
    # --- any field ---
    "required": N_("This field is required."),
    "not_text": N_("Must be text."),
    "too_long": N_("At most %(max)s characters."),
    "control_chars": N_("Contains control characters; remove them."),
    "nul_char": N_("Contains a NUL character."),
    "not_unicode": N_("Is not valid Unicode text."),
    "bad_field_name": N_("The field name is not valid text."),
    "nested_too_deeply": N_("Nested too deeply."),
    "not_boolean": N_("Must be yes or no."),
    "not_id": N_("Enter a number."),
    "not_object": N_("Must be an object."),
    "not_date": N_("Must be a date (YYYY-MM-DD)."),
    "not_date_only": N_("Must be a date (YYYY-MM-DD), not a date and time."),
    "not_datetime": N_("Must be a date, or a date and time, such as "
                       "2026-12-01T08:00:00+08:00."),
    "choice": N_("Choose one of: %(choices)s."),
    "read_only": N_("This cannot be changed."),
    "identity": N_("This cannot be changed: it is the record's identity."),
    "unknown_field": N_("Unknown field."),
    "not_list": N_("Must be a list."),
    "too_many": N_("At most %(max)s items."),
    "invalid_value": N_("This value is not valid here."),
    "whole_number": N_("Must be a whole number from %(min)s to %(max)s."),
    "name_text": N_("Must be a name of at most %(max)s characters."),
    "user_or_username": N_("Must be a user id or a username."),
    "country_code": N_("Must be a two-letter country code (CN, US, ...)."),
    "email": N_("Enter an e-mail address like name@example.com."),
    "duplicate_key": N_("Given twice in the body; give each field once."),
    # --- phones ---
    "phone.missing": N_("No phone number given."),
    "phone.too_long": N_("Too long to be a phone number (%(length)s characters)."),
    "phone.invalid": N_("%(value)s is not a valid phone number. Check the digits and the "
                        "area code."),
    "phone.not_text": N_("Enter a phone number."),
    "phones.not_list": N_("Enter phone numbers, one per line."),
    "phones.too_many": N_("At most %(max)s phone numbers."),
    # --- references to other records ---
    "customer.unknown": N_("There is no customer number %(id)s that you can see."),
    "customer.merged": N_("Customer no. %(id)s was already merged into no. %(into)s."),
    "customer.external_id_taken": N_("Already used by another customer."),
    "customer.payer_not_bill_to": N_("The payer must be the bill-to customer: enter the "
                                     "same customer number in both."),
    "user.unknown": N_("There is no user number %(id)s."),
    "users.unknown": N_("There are no users with the numbers %(ids)s."),
    "users.not_list": N_("Choose employees from the list."),
    "department.unknown": N_("There is no department number %(id)s."),
    "contact.external_id_taken": N_("Already used by another contact."),
    "address.too_many": N_("At most %(max)s addresses per customer."),
    "merge.into_itself": N_("A customer cannot be merged into itself."),
    "product.taken": N_("%(value)s is already registered to another product."),
    "product.taken_race": N_("Already registered to another product."),
    "product.external_id_taken": N_("Already used by another product."),
    "product.use_assign": N_("Move a product to another customer with “assign”."),
    "product.ends_before_install": N_("Must not be before the installation date."),
    "successor.inactive": N_("This employee is deactivated; choose an active one."),
    "successor.same": N_("Must differ from the employee who leaves."),
    # --- users (the admin pages) ---
    "user.no_spaces": N_("Must not contain spaces, tabs, line breaks or other control "
                         "characters."),
    "user.username_taken": N_("%(username)s already exists."),
    "user.self_demotion": N_("You cannot take the administrator role from yourself; ask "
                             "another administrator."),
    "user.self_deactivation": N_("You cannot deactivate your own account; ask another "
                                 "administrator."),
    "user.taken_race": N_("Someone else just took this value; choose another one."),
    # A sentence of the user service's own (``UserError``), passed on as it is.
    "user.rejected": N_("%(reason)s"),
    "password.too_short": N_("At least %(n)s characters."),
    "password.common": N_("This password is too common: it is among the first that "
                          "attackers try. Choose another one."),
    "password.contains_username": N_("The password must not be or contain the username."),
    "password.wrong_current": N_("This is not your current password."),
    "password.unchanged": N_("The new password must differ from the current one."),
    "password.mismatch": N_("The two new passwords differ; type the same one twice."),
    "interface.bad_char": N_("“%(char)s” cannot be part of a PBX interface: use letters, "
                             "digits and _ . - @ / : ; + # * only."),
    "interface.shape": N_("Write it as Asterisk reports it, TECHNOLOGY/resource: PJSIP/1001 "
                          "or Local/agent1@agents/n."),
    "interface.taken": N_("%(interface)s already belongs to %(user)s; an interface can "
                          "belong to one user only."),
    "department.path": N_("Enter a department path like Service/Beijing, or leave it empty."),
    "department.name_too_long": N_("Each department name: at most %(n)s characters."),
    # --- CSV import rows ---
    "import.not_utf8": N_("Contains bytes that are not UTF-8 text; save the file as "
                          "“CSV UTF-8”."),
    "import.too_long": N_("At most %(max)s characters (this one has %(length)s)."),
    "import.formula": N_("Looks like a spreadsheet formula; remove the leading character."),
    "import.not_date": N_("%(value)s is not a date like 2024-12-31."),
    "import.no_user": N_("There is no active user %(username)s."),
    "import.no_department": N_("There is no department %(path)s."),
    "import.outside_scope": N_("Already used by a record outside your scope."),
    "import.no_customer": N_("There is no customer with the external id %(ref)s."),
    "import.gone": N_("Refers to a record that no longer exists."),
    "import.db_rejected": N_("Rejected by the database: %(detail)s"),
    # ``detail``: the csv module's own (English) words, kept for programs, not shown.
    "import.malformed": N_("This line is not valid CSV: is a quote left unclosed?"),
    "import.cell_too_large": N_("A cell is longer than %(max)s characters: is a quote "
                                "left unclosed?"),
    "import.line_too_long": N_("The line is longer than %(max)s characters."),
    "import.cell_count": N_("%(cells)s cells, but the header has %(width)s."),
    # --- CSV import: the whole file ---
    "import.empty": N_("The file is empty."),
    "import.spreadsheet": N_("This is a spreadsheet file, not CSV: save it as “CSV UTF-8” "
                             "and upload that."),
    "import.binary": N_("This is a binary file, not CSV text."),
    "import.cannot_open": N_("Cannot open %(name)s (%(reason)s)."),
    "import.no_header": N_("The first line must be a header naming the columns."),
    "import.bad_header": N_("The first line, the header, cannot be read as CSV."),
    "import.unknown_columns": N_("Unknown columns: %(columns)s. This kind of file may have: "
                                 "%(allowed)s."),
    "import.columns_twice": N_("Columns named twice: %(columns)s."),
    "import.columns_missing": N_("Required columns missing: %(columns)s."),
    "import.user_gone": N_("The user who started this import no longer exists."),
    "import.read_utf16": N_("Read as UTF-16 (a Unicode text export)."),
    "import.read_gb18030": N_("The file is not UTF-8; it was read as GB18030 (Excel in "
                              "Chinese)."),
    # --- records changed meanwhile (optimistic locking: callcenter.core.versions) ---
    "stale_version": N_("Someone else changed this record meanwhile (it is now at version "
                        "%(current_version)s); reload it and try again."),
    "customer.stale_version": N_("Someone else changed this customer meanwhile (it is now "
                                 "at version %(current_version)s); reload it and try "
                                 "again."),
    "contact.stale_version": N_("Someone else changed this contact meanwhile (it is now at "
                                "version %(current_version)s); reload it and try again."),
    "product.stale_version": N_("Someone else changed this product meanwhile (it is now at "
                                "version %(current_version)s); reload it and try again."),
    "wallboard.thresholds_stale": N_("Someone else saved this queue's alert thresholds "
                                     "meanwhile (they are now at version "
                                     "%(current_version)s); reload them and try again."),
    # --- tickets ---
    "ticket.stale_version": N_("Someone else changed this ticket meanwhile (it is now at "
                                "version %(current_version)s); reload it and try again."),
    "ticket.transition_refused": N_("A ticket cannot go from %(from)s to %(to)s."),
    "ticket.type_code": N_("Use lower-case letters, digits and _ only."),
    "ticket.type_taken": N_("There is already a ticket type with the code %(code)s."),
    "ticket.type_builtin": N_("The four built-in types stay active; rename them instead."),
    "ticket.unknown_type": N_("There is no active ticket type %(type)s."),
    "ticket.use_transition": N_("Change the status and the assignee with a transition."),
    "ticket.customer_fixed": N_("A ticket stays with its customer."),
    "ticket.contact_not_customers": N_("Contact no. %(id)s is not a contact of this customer."),
    "ticket.product_not_customers": N_("Product no. %(id)s is not installed at this customer."),
    "ticket.contact_or_reporter": N_("Give either a contact or a reporter, not both."),
    "ticket.assignee_unknown": N_("User no. %(id)s cannot take tickets (unknown, "
                                  "deactivated or not allowed)."),
    "ticket.assignee_cannot_see": N_("User no. %(id)s cannot see this customer."),
    "ticket.call_unknown": N_("There is no call %(id)s that you can see."),
    "ticket.same_assignee": N_("The ticket is already assigned to this user."),
    "ticket.assignee_only_when_assigning": N_("An assignee is given only when moving to "
                                              "assigned."),
    "ticket.resolution_when_resolving": N_("The resolution is written when resolving."),
    "ticket.unknown": N_("There is no ticket number %(id)s that you can see."),
    "ticket.link_itself": N_("A ticket cannot be linked to or merged into itself."),
    "ticket.merge_closed": N_("Ticket no. %(id)s is closed; it cannot take part in a merge."),
    "ticket.merge_other_customer": N_("Only tickets of the same customer can be merged."),
    "ticket.attachment_too_large": N_("The file is larger than %(max)s bytes."),
    "ticket.attachment_empty": N_("The file is empty."),
    "ticket.attachment_type": N_("This kind of file is not accepted (images, PDF, text "
                                 "and office documents are)."),
    "ticket.attachment_missing": N_("Send the file as the form field “file”."),
    # --- repair orders (repairs/) ---
    "decimal_text": N_('Send a decimal as text, such as "1.50" (or a whole number), not as a '
                       'floating-point number.'),
    "repair.stale_version": N_("Someone else changed this repair order meanwhile (it is now at "
                               "version %(current_version)s); reload it and try again."),
    "repair.transition_refused": N_("A repair order cannot go from %(from)s to %(to)s."),
    "repair.product_unknown": N_("There is no installed product number %(id)s that you can see."),
    "repair.product_not_tickets": N_("Product no. %(id)s is neither the product of ticket no. "
                                     "%(ticket)s nor installed at its customer."),
    "repair.contact_unknown": N_("Contact no. %(id)s is not a contact of this customer."),
    "repair.code_chars": N_("Use letters, digits and . _ - only."),
    "repair.hours": N_('Must be a number of hours from 0 to %(max)s with at most two decimals, '
                       'such as "1.5".'),
    "repair.not_workable": N_("The repair order is %(status)s: its work can no longer be "
                              "changed."),
    "repair.warranty_settled": N_("The repair order is %(status)s: the warranty decision can "
                                  "only be overridden before settlement."),
    "repair.warranty_unchanged": N_("The warranty decision is already so."),
    "repair.technician_unknown": N_("User no. %(id)s is not an active technician."),
    "repair.station_unknown": N_("There is no active service station number %(id)s."),
    "repair.only_when_dispatching": N_("Given only when dispatching."),
    "repair.reason_required": N_("Give the reason for cancelling in the note."),
    "repair.note_required": N_("Say in the note why the inspection failed."),
    "repair.use_transition": N_("Change the status and the technician with a transition."),
    "repair.use_warranty": N_("Override the warranty decision with “warranty”, giving a reason."),
    "repair.parts_closed": N_("The repair order is %(status)s: parts are issued only during "
                              "diagnosis, dispatch and repair."),
    # --- the technician's phone (repairs.sync) ---
    "tech.changed_meanwhile": N_("Changed in the office meanwhile (the order is now at "
                                 "version %(current_version)s): keep yours or take theirs."),
    "tech.bad_key": N_("Send a key of 8 to 64 letters, digits and . _ : -, made on the "
                       "phone for this change."),
    "tech.bad_kind": N_("Unknown kind of change; use one of %(kinds)s."),
    "tech.key_reused": N_("This key was used for another change; make a new one."),
    "tech.bad_move": N_("A technician cannot move the job to %(to)s from the phone."),
    "tech.no_station": N_("The job has no service station to draw parts from."),
    "tech.not_an_image": N_("Send the image as a data URL (a PNG for a signature)."),
    # --- whole requests ---
    "invalid": N_("Some fields are not valid: %(fields)s"),
    "not_found": N_("Not found."),
    "permission_denied": N_("Your role (%(role)s) may not do this (%(permission)s)."),
    "call.not_yours": N_("Only an agent who handled the call, or a supervisor, may wrap "
                         "it up."),
    "call.access_ended": N_("This caller is outside your access scope and the call no "
                            "longer gives access: its wrap-up was saved, or it is too old. "
                            "Ask a supervisor."),
    "conflict": N_("The record cannot take this change in its current state."),
    "unavailable": N_("The database cannot be reached at the moment; try again in a few "
                      "seconds."),
    "customer.merged_away": N_("Customer no. %(id)s was merged into no. %(into)s; change "
                               "that one instead."),
    # --- SLA policies and the working calendar (tickets.policies) ---
    "sla.unknown_ticket_type": N_("No active ticket type has the code %(code)s."),
    "sla.first_response_after_resolution": N_("The first response cannot be due after the "
                                              "resolution: give at most as many minutes."),
    "sla.calendar_day_taken": N_("%(day)s is already set apart in the calendar; delete that "
                                 "entry first."),
    # --- service stations, the parts catalogue, stock (repairs.stations, .parts, .stock) ---
    "kb.stale_version": N_("Someone else changed this entry meanwhile (it is now at "
                           "version %(current_version)s)."),
    "kb.unknown": N_("There is no such record (number %(id)s)."),
    "kb.category_path": N_('Give the category as names from the top, separated by "/" '
                           "(e.g. 服务/空调/压缩机)."),
    "kb.category_slash": N_('A name cannot hold "/": it separates the levels.'),
    "kb.category_taken": N_("%(name)s is already a category on this level."),
    "kb.category_in_use": N_("This category still holds %(entries)s entries and "
                             "%(children)s subcategories: move or remove them first."),
    "kb.code_pattern": N_("Use 1 to 40 upper case letters, digits and . _ - (starting with a "
                          "letter or digit), e.g. AC-CMP-NOISE."),
    "kb.synonyms_too_few": N_("Give at least two words or phrases, separated by commas."),
    "kb.synonyms_too_many": N_("At most %(max)s words or phrases in one group."),
    "part.inactive": N_("Part %(sku)s is withdrawn from the catalogue: it is no longer "
                        "received nor fitted (what a station holds can still be "
                        "transferred, returned or adjusted)."),
    "stock.insufficient": N_("Only %(available)s in stock; %(requested)s requested."),
    "stock.adjustment_quantity": N_("Must be a whole number from %(min)s to %(max)s, not 0."),
    "stock.too_much": N_("A station can hold at most %(max)s of one part."),
    "stock.return_exceeds": N_("Only %(issued)s of this part are on the repair order "
                               "(issued, net of returns); %(requested)s cannot be returned."),
    "stock.same_station": N_("Transfer to another station, not to the same one."),
    "stock.key_reused": N_("This idempotency key was already used for a different stock "
                           "movement."),
    "stock.idempotency_key": N_("Use 1 to 64 letters, digits and . _ : - (starting with a "
                                "letter or a digit)."),
    "stock.order_finished": N_("Repair order no. %(id)s is %(status)s: parts can no longer "
                               "be issued to it or returned from it."),
    "stock.only_for_transfer": N_("Only for a transfer."),
    "stock.only_for_order": N_("Only for an issue to or a return from a repair order."),
    "stock.kind_order_only": N_("Issues and returns are made on a repair order: give "
                                "repair_order_id."),
    "station.unknown": N_("There is no service station number %(id)s."),
    "station.inactive": N_("Service station no. %(id)s is deactivated."),
    "station.name_taken": N_("There is already a service station named %(name)s."),
    "station.stale_version": N_("Someone else changed this service station meanwhile (it is "
                                "now at version %(current_version)s); reload it and try "
                                "again."),
    "part.unknown": N_("There is no part number %(id)s."),
    "part.sku_taken": N_("There is already a part with the SKU %(sku)s."),
    "part.price": N_("Enter a price such as 12.50: from 0 to 9999999999.99, with at most "
                     "2 decimals."),
    "stock.order_unknown": N_("There is no repair order number %(id)s that you can see."),
    "part.stale_version": N_("Someone else changed this part meanwhile (it is now at "
                             "version %(current_version)s); reload it and try again."),
    # --- what the system notes in a ticket's or repair order's history (system_note) ---
    "history.customers_merged": N_("Customers merged"),
    "ticket.escalation.warn": N_("%(p)s%% of %(target)s used: the assignee was warned."),
    "ticket.escalation.lead": N_("%(p)s%% of %(target)s: escalated to the team lead, "
                                 "priority raised."),
    "ticket.escalation.up": N_("%(p)s%% of %(target)s: escalated to the next manager up."),
    "repair.history.from_ticket": N_("Raised from service request #%(ticket_id)s"),
    "repair.history.settlement": N_("Payable by customer: %(payable_by_customer)s; billed "
                                    "to: %(bill_to_id)s; payer: %(payer_id)s"),
    "repair.rule.covered": N_("The warranty had not ended on the reference date"),
    "repair.rule.expired": N_("The warranty had ended before the reference date"),
    "repair.rule.no_warranty": N_("The product has no warranty"),
    "repair.rule.no_end_date": N_("The warranty has no end date"),
}


def _flat(params: Mapping[str, Any], separator: str | None = None) -> dict[str, Any]:
    """Parameters as the texts show them (lists joined as the language writes them:
    ``separator``, else the request's language's)."""
    sep = separator if separator is not None else list_separator()
    return {k: sep.join(str(i) for i in v) if isinstance(v, (list, tuple, set)) else v
            for k, v in params.items()}


def render(code: str, params: Mapping[str, Any] | None = None) -> str:
    """The text of ``code`` in the current language; the code itself when unknown."""
    template = MESSAGES.get(code)
    if template is None:
        return code
    return gettext(template, **_flat(params or {}))


def describe(problem: Problem) -> str:
    return render(problem.code, problem.params)


def describer(locale: str | None) -> Callable[[Problem], str]:
    """Problem -> text in ``locale`` ("zh_CN"; None or an unknown one: English), for the
    edges that have no request to take the language from (the command line)."""
    translations: NullTranslations = NullTranslations()
    separator = CHINESE_SEPARATOR if (locale or "").startswith("zh") else ENGLISH_SEPARATOR
    if locale:
        folder = Path(__file__).resolve().parent.parent / "translations"
        translations = Translations.load(str(folder), [Locale.parse(locale)])

    def words(problem: Problem) -> str:
        template = MESSAGES.get(problem.code)
        if template is None:
            return problem.code
        return translations.gettext(template) % _flat(problem.params, separator)
    return words


def field_messages(exc: ValidationError) -> dict[str, str]:
    """Field name -> text, for a form or the API's ``error.fields``."""
    return {name: describe(problem) for name, problem in exc.errors.items()}


def error_message(exc: AppError) -> str:
    """The text of a whole error, as shown above a form or in the API's ``message``."""
    if isinstance(exc, ValidationError):
        return render("invalid", {"fields": ", ".join(exc.errors)})
    return render(exc.code, exc.params)
