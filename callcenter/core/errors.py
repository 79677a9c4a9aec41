"""Errors the domains raise: a stable ``code`` and its ``params``, never a sentence.

Services raise these; the edges translate them in the reader's language through the
catalogue in ``callcenter.core.messages`` (REST API, web pages, CLI and import report
alike), so a message is written once and a client can branch on the code.

``status`` is the HTTP status an edge answers with; services never look at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field: a catalogue code and the values its text needs."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:  # for logs and assertion messages, not for users
        return f"{self.code} {dict(self.params)}" if self.params else self.code


class AppError(Exception):
    """Base of every error a domain raises on purpose."""

    code = "error"
    status = 500

    def __init__(self, code: str | None = None, **params: Any):
        self.code = code or type(self).code
        self.params = params
        super().__init__(self.code, params)


class NotFound(AppError):
    """No such record, or not within the asking user's scope (the two look the same)."""

    code = "not_found"
    status = 404
    #: What kind of record; subclasses name it ("customer", "product", ...).
    entity = "record"

    def __init__(self, record_id: Any = None):
        super().__init__(entity=self.entity, id=record_id)
        self.record_id = record_id


class PermissionDenied(AppError):
    """The user's role does not allow this action."""

    code = "permission_denied"
    status = 403

    def __init__(self, permission: str = "", role: str = "", *, code: str | None = None):
        super().__init__(code, permission=permission, role=role)

    @classmethod
    def because(cls, code: str) -> PermissionDenied:
        """Denied by a rule of the record, not by the role (the code says which rule)."""
        return cls(code=code)


class Conflict(AppError):
    """The record cannot take this change in its current state (e.g. merged away)."""

    code = "conflict"
    status = 409


class StaleVersion(Conflict):
    """The record changed since the client read it: its ``version`` moved on. The API
    answers 409 carrying ``current_version``; the web forms show both values instead."""

    code = "stale_version"

    def __init__(self, code: str | None = None, *, current_version: int):
        super().__init__(code, current_version=current_version)
        self.current_version = current_version


class ValidationError(AppError):
    """Input rejected; ``errors`` maps each offending field to its ``Problem``."""

    code = "invalid"
    status = 422

    def __init__(self, errors: Mapping[str, Problem]):
        self.errors: dict[str, Problem] = dict(errors)
        super().__init__(fields=self.errors)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


def invalid(field_name: str, code: str, **params: Any) -> ValidationError:
    """A ValidationError for one field: ``raise invalid("phone", "phone.invalid", ...)``."""
    return ValidationError({field_name: Problem(code, params)})
