"""Encoding AMI actions safely, and the errors the client raises.

An action is ``Key: value`` lines ended by a blank line, so a CR or LF inside a value
would end the header early and let the rest be read as more headers or a whole new action
(``Action: Originate`` injected through a caller's name). Values that come from code
(channel, queue, interface) are *rejected* when they hold a line break or NUL
(:class:`AMIValueError`, naming the header); values that come from outside (caller ID
names and numbers, pause reasons typed in the UI) go through :func:`clean_value`, which
replaces control characters with spaces, before they reach :func:`encode_action`.

Originate's ``Variable`` header is split by Asterisk on commas (``AST_STANDARD_APP_ARGS``
in manager.c), so a comma in a value would set a second variable: rejected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from .frames import Frame

HeaderValue = str | int | float | bool | None
Headers = Mapping[str, HeaderValue] | Iterable[tuple[str, HeaderValue]]

_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")
_VARIABLE_NAME = re.compile(r"_{0,2}[A-Za-z][A-Za-z0-9_]*(\([A-Za-z0-9_]*\))?\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_CALLER_NAME_DROP = re.compile(r'["<>\\]')
_CALLER_NUMBER = re.compile(r"[^0-9A-Za-z+*#._-]")


class AMIError(Exception):
    """Base class for everything the AMI client raises."""


class AMIValueError(AMIError, ValueError):
    """A header name or value that cannot be sent safely."""


class AMIAuthError(AMIError):
    """Login refused (``Authentication failed``); Asterisk closes the connection."""


class AMIConnectionLost(AMIError, ConnectionError):
    """The connection dropped before the response arrived."""


class AMINotConnected(AMIError, ConnectionError):
    """No logged-in connection within the action's timeout."""


class AMITimeout(AMIError, TimeoutError):
    """No (complete) response within the action's timeout."""

    def __init__(self, action: str, action_id: str, timeout: float) -> None:
        super().__init__(f"{action} ({action_id}): no response within {timeout:g} s")
        self.action = action
        self.action_id = action_id


class AMIActionError(AMIError):
    """Asterisk answered ``Response: Error``."""

    def __init__(self, action: str, frame: Frame) -> None:
        self.action = action
        self.frame = frame
        self.message = frame.get("Message", "")
        super().__init__(f"{action}: {self.message}")


def clean_value(value: str) -> str:
    """Make outside input safe for one header: control characters become spaces."""
    return _CONTROL.sub(" ", value).strip()


def format_caller_id(name: str | None, number: str | None) -> str:
    """``"Name" <number>`` from hostile parts: quotes, brackets and line breaks removed."""
    clean_name = _CALLER_NAME_DROP.sub("", clean_value(name or ""))
    clean_number = _CALLER_NUMBER.sub("", number or "")
    if clean_name:
        return f'"{clean_name}" <{clean_number}>'
    return f"<{clean_number}>"


def variable_headers(variables: Mapping[str, object] | None) -> list[tuple[str, HeaderValue]]:
    """One ``Variable: NAME=value`` header per variable, names and values checked."""
    headers: list[tuple[str, HeaderValue]] = []
    for name, raw in (variables or {}).items():
        if not _VARIABLE_NAME.match(name):
            raise AMIValueError(f"Variable: invalid variable name {name!r}")
        value = clean_value(str(raw))
        if "," in value:
            raise AMIValueError(f"Variable {name}: a comma would start another variable")
        headers.append(("Variable", f"{name}={value}"))
    return headers


def _text(name: str, value: HeaderValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if "\r" in text or "\n" in text or "\0" in text:
        raise AMIValueError(f"{name}: line breaks and NUL are not allowed in a header value")
    return text


def encode_action(action: str, action_id: str | None, headers: Headers = ()) -> bytes:
    """The bytes of one action; ``None`` values are left out, booleans are true/false."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    if not _HEADER_NAME.match(action):
        raise AMIValueError(f"Action: invalid action name {action!r}")
    lines = [f"Action: {action}"]
    if action_id is not None:
        lines.append(f"ActionID: {_text('ActionID', action_id)}")
    for name, value in items:
        if value is None:
            continue
        if not _HEADER_NAME.match(name):
            raise AMIValueError(f"invalid header name {name!r}")
        if name.lower() in ("action", "actionid"):
            raise AMIValueError(f"{name}: set by the client, not a header")
        lines.append(f"{name}: {_text(name, value)}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("utf-8")
