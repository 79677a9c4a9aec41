"""Web forms for user administration (Flask-WTF: CSRF on every one).

The forms check shape only; the rules (interface syntax and uniqueness, no
self-demotion, ...) are ``update_user`` / ``register_user``'s, whose UserFieldError
is put next to the fields by ``apply_user_errors``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from callcenter.core.messages import describe
from callcenter.users.admin import UserFieldError
from callcenter.users.models import Role, Scope
from callcenter.users.passwords import MIN_PASSWORD_LENGTH, PASSWORD_MAX_LENGTH

ROLE_LABELS = {Role.AGENT: _l("Agent"), Role.TECHNICIAN: _l("Technician"),
               Role.SUPERVISOR: _l("Supervisor"), Role.FINANCE: _l("After-sales finance"),
               Role.ADMIN: _l("Administrator")}
SCOPE_LABELS = {Scope.OWN: _l("Own customers"),
                Scope.RELATED: _l("Own and related customers"),
                Scope.DEPARTMENT: _l("Own, related and the department's customers"),
                Scope.ALL: _l("All customers")}
LOCALE_LABELS = {"zh_CN": "中文", "en": "English"}

INTERFACE_HINT = _l(
    "Exactly what Asterisk reports as the queue member's Interface, e.g. PJSIP/1001 or "
    "Local/agent1@agents/n. Empty: this user gets no queue calls and no screen pops. "
    "The telephony bridge re-reads interfaces every 30 seconds, so a change takes effect "
    "within half a minute, without a restart.")
PASSWORD_HINT = _l("At least %(n)s characters; not a common password and not containing "
                   "the username.", n=MIN_PASSWORD_LENGTH)
DEPARTMENT_HINT = _l('A path like "Service/Beijing"; departments that do not exist yet are '
                     "created. Empty: no department.")


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()]


def _scope_choices() -> list[SelectChoice]:
    return [SelectChoice(s.value, label) for s, label in SCOPE_LABELS.items()]


class UserForm(FlaskForm):
    """The fields an administrator edits on an existing user."""

    display_name = StringField(_l("Display name"), validators=[Length(max=120)],
                               description=_l("Empty: the username."))
    role = SelectField(_l("Role"), choices=_role_choices(), default=Role.AGENT.value)
    scope = SelectField(_l("Access scope"), choices=_scope_choices(),
                        description=_l("Which customers the user sees."))
    department = StringField(_l("Department"), validators=[Length(max=500)],
                             description=DEPARTMENT_HINT,
                             render_kw={"list": "department-paths"})
    interface = StringField(_l("PBX interface"), description=INTERFACE_HINT,
                            render_kw={"spellcheck": "false", "autocapitalize": "off"})
    active = BooleanField(_l("Active (may log in and use API tokens)"), default=True)
    locale = SelectField(_l("Language"),
                         choices=[SelectChoice(k, v) for k, v in LOCALE_LABELS.items()],
                         default="zh_CN")
    email = StringField(_l("E-mail"), validators=[Length(max=254)],
                        description=_l("Escalation notices are mailed here; empty: in the "
                                       "app only."),
                        render_kw={"type": "email", "autocomplete": "off",
                                   "spellcheck": "false"})
    password = PasswordField(_l("New password"),
                             validators=[Optional(), Length(max=PASSWORD_MAX_LENGTH)],
                             description=_l("Empty: unchanged. A new password logs the user "
                                            "out everywhere."))

    def changes(self) -> dict:
        return {"display_name": self.display_name.data or "", "role": self.role.data,
                "scope": self.scope.data or None, "department": self.department.data or "",
                "interface": self.interface.data or "", "active": bool(self.active.data),
                "locale": self.locale.data, "email": self.email.data or "",
                "password": self.password.data or ""}


class NewUserForm(UserForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"spellcheck": "false", "autocapitalize": "off"})
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
                             description=PASSWORD_HINT)
    scope = SelectField(_l("Access scope"),
                        choices=[SelectChoice("", _l("The role's default"))]
                        + _scope_choices(),
                        description=_l("Which customers the user sees. Default: agents and "
                                       "supervisors their department's, technicians their "
                                       "own and related, administrators all."))

    def data_for_service(self) -> dict:
        return {**self.changes(), "username": self.username.data or "",
                "password": self.password.data or ""}


def apply_user_errors(form: FlaskForm, exc: UserFieldError) -> list[str]:
    """Put the service's problems next to their fields (translated); the ones for no
    field of the form are returned, to be shown above it."""
    leftover: list[str] = []
    for problem in exc.problems:
        text = describe(problem.problem)
        field = getattr(form, problem.field, None) if problem.field else None
        if field is None or not hasattr(field, "errors"):
            leftover.append(text)
            continue
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(text)
    return leftover
