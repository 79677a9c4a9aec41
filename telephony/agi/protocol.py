"""The AGI wire format, without any I/O: environment, command quoting, replies.

Everything here follows what Asterisk 22 really sent in ``tests/data/asterisk/captures``
(``fastagi.log``) and how ``res_agi.c`` parses what it receives:

* the environment is ``agi_<name>: <value>`` lines ended by an empty line;
  ``agi_network_script`` keeps its query string (``ivr?lang=zh&menu=main``) and the
  dialplan's arguments arrive as ``agi_arg_1`` ... ``agi_arg_N``;
* a command is one line; ``res_agi`` splits it on blanks, a ``"`` toggles quoting and
  a backslash makes the next character literal. It reads at most 2047 bytes per line:
  the rest of a longer line would be run as a *second command*, so longer lines are
  refused here rather than sent;
* replies are ``200 result=<r> [(<value>)] [endpos=<n>]``, ``510 Invalid or unknown
  command``, ``511 Command Not Permitted on a dead channel ...`` and the multi-line
  ``520-...`` ... ``520 End of proper usage.``; a ``HANGUP`` line can arrive at any
  time once the caller has gone.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

#: res_agi reads a command into a 2048-byte buffer (AGI_BUF_LEN), newline included.
MAX_COMMAND_BYTES = 2047
#: Bounds on the environment: Asterisk sends about 22 lines of well under 200 bytes.
MAX_ENV_LINES = 256
MAX_ENV_LINE_BYTES = 4096

_ENV_KEY = re.compile(r"agi_[a-z0-9_]+\Z")
_ARG_KEY = re.compile(r"agi_arg_([0-9]{1,4})\Z")
#: Variable names our scripts may set: NAME, __INHERITED_NAME, or FUNC(args) such as
#: CDR(userfield). No blanks, quotes or backslashes, so a name is always one argument.
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\([A-Za-z0-9_,.:-]*\))?\Z")
_REPLY = re.compile(r"(?P<code>[0-9]{3}) result=(?P<result>-?[0-9A-Za-z*#]*)(?P<rest>.*)\Z",
                    re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AGIError(Exception):
    """A reply other than 200, or a protocol violation by the peer."""


class AGIProtocolError(AGIError):
    """The peer sent something that is not AGI (bad environment or reply line)."""


class AGIInvalidCommand(AGIError):
    """510: Asterisk does not know the command."""


class AGIUsageError(AGIError):
    """520: the command's syntax was wrong; ``usage`` holds Asterisk's help text."""

    def __init__(self, message: str, usage: str = ""):
        super().__init__(message)
        self.usage = usage


class AGIHangup(AGIError):
    """The caller hung up (result -1 on a channel command, or the connection is gone)."""


class AGIDeadChannel(AGIHangup):
    """511: the command needs a live channel and the caller has hung up."""


# --- environment ------------------------------------------------------------------

@dataclass
class AGIEnvironment:
    """The ``agi_*`` variables Asterisk sends first, with the script name split out."""

    variables: dict[str, str]
    #: Script name from ``agi_network_script`` without query string ("lookup").
    script: str = ""
    #: Query-string parameters (``ivr?lang=zh&menu=main`` -> {"lang": "zh", ...}).
    params: dict[str, str] = field(default_factory=dict)
    #: ``agi_arg_1`` ... in order (the dialplan's AGI() arguments after the URL).
    args: list[str] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        """``env.get("callerid")`` reads ``agi_callerid``."""
        return self.variables.get(f"agi_{name}", default)

    @property
    def callerid(self) -> str:
        """Caller number, or "" when Asterisk reports none (it says ``unknown``)."""
        value = self.get("callerid").strip()
        return "" if value.lower() in ("unknown", "<unknown>") else value

    @property
    def calleridname(self) -> str:
        value = self.get("calleridname").strip()
        return "" if value.lower() == "unknown" else value


def parse_env_line(raw: bytes) -> tuple[str, str]:
    """One environment line (without its newline) -> (key, value); AGIProtocolError if bad.

    Values are decoded as UTF-8 with replacement: a caller ID name in another encoding
    from some SIP trunk must not reject the call.
    """
    if len(raw) > MAX_ENV_LINE_BYTES:
        raise AGIProtocolError(f"environment line of {len(raw)} bytes")
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    key, sep, value = text.partition(":")
    if not sep or not _ENV_KEY.match(key):
        raise AGIProtocolError(f"not an AGI environment line: {text[:60]!r}")
    return key, value[1:] if value.startswith(" ") else value


def build_environment(variables: dict[str, str]) -> AGIEnvironment:
    """Split script name, query string and arguments out of the raw variables."""
    script_field = variables.get("agi_network_script")
    if script_field is None:
        # Some Asterisk versions only send agi_request: agi://host:port/script?query.
        request = variables.get("agi_request", "")
        if "://" not in request:
            raise AGIProtocolError("environment has neither agi_network_script nor agi_request")
        script_field = request.split("://", 1)[1].partition("/")[2]
    path, _, query = script_field.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    numbered = sorted((int(m.group(1)), value) for key, value in variables.items()
                      if (m := _ARG_KEY.match(key)))
    return AGIEnvironment(variables=variables, script=path.strip("/"), params=params,
                          args=[value for _, value in numbered])


# --- commands ---------------------------------------------------------------------

def quote_arg(value: object) -> str:
    """One command argument, quoted so res_agi reads back exactly one argument.

    Control characters (CR, LF, NUL, ...) are dropped: a newline would end the command
    and start another one with caller-controlled text. ``"`` and ``\\`` are escaped
    with a backslash, which res_agi's ``parse_args`` turns back into the character.
    """
    text = _CONTROL.sub("", str(value))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_variable_name(name: str) -> str:
    if not _VAR_NAME.match(name):
        raise ValueError(f"not a safe channel variable name: {name!r}")
    return name


def encode_command(verb: str, *args: object) -> bytes:
    """``encode_command("SET VARIABLE", "X", 'a"b')`` -> ``b'SET VARIABLE X "a\\"b"\\n'``.

    ``verb`` (with any fixed, script-chosen words such as a variable name) is sent as
    is and must not contain quotes or line breaks; every ``arg`` is quoted.
    """
    if _CONTROL.search(verb) or '"' in verb or "\\" in verb:
        raise ValueError(f"unsafe AGI command word: {verb!r}")
    line = " ".join([verb, *(quote_arg(a) for a in args)]).encode("utf-8") + b"\n"
    if len(line) > MAX_COMMAND_BYTES:
        # Asterisk would run the tail of an over-long line as a separate command.
        raise ValueError(f"AGI command of {len(line)} bytes exceeds {MAX_COMMAND_BYTES}")
    return line


# --- replies ----------------------------------------------------------------------

@dataclass(frozen=True)
class AGIReply:
    """A ``200`` reply. ``result`` stays text: GET DATA answers digits like ``0123``."""

    result: str
    value: str | None = None
    extras: dict[str, str] = field(default_factory=dict)

    @property
    def result_int(self) -> int:
        try:
            return int(self.result)
        except ValueError:
            return 0


def reply_is_complete(line: str) -> bool:
    """False while a ``200 result=1 (value`` reply still waits for its ``)`` line.

    Asterisk writes ``(%s)`` without escaping, so a variable value containing a newline
    spreads over several lines; reading them all keeps replies and commands in step.
    """
    match = _REPLY.match(line)
    if not match or not match.group("rest").startswith(" ("):
        return True
    return line.endswith(")")


def parse_reply(line: str) -> AGIReply:
    """Parse a complete ``200`` reply (possibly several joined lines); raise otherwise."""
    match = _REPLY.match(line)
    if not match:
        raise error_for_status_line(line)
    code, result, rest = match.group("code"), match.group("result"), match.group("rest")
    if code != "200":
        raise error_for_status_line(line)
    value = None
    if rest.startswith(" ("):
        end = rest.rfind(")")
        value, rest = rest[2:end], rest[end + 1:]
    extras = dict(part.partition("=")[::2] for part in rest.split() if "=" in part)
    return AGIReply(result=result, value=value, extras=extras)


def error_for_status_line(line: str) -> AGIError:
    """The exception for a non-200 status line that is not of the ``result=`` form."""
    if line.startswith("510"):
        return AGIInvalidCommand(line)
    if line.startswith("511"):
        return AGIDeadChannel(line)
    if line[:3].isdigit():
        return AGIError(line[:200])
    return AGIProtocolError(f"unexpected reply: {line[:80]!r}")


# --- values for the dialplan ------------------------------------------------------

#: Characters that would split or alter an application's arguments when the dialplan
#: expands the variable (``Queue(support,r,,,${X})``, ``Set(CDR(userfield)=...)``).
_DIALPLAN_SPECIAL = str.maketrans({c: " " for c in ",|;$[]{}()<>=&^`"})
_DROP = str.maketrans({c: None for c in "\"'\\"})


def dialplan_safe(text: str | None, limit: int = 40, byte_limit: int = 80) -> str:
    """Text fit to be expanded anywhere in the dialplan: one line, no quoting games.

    Drops quotes, backslashes and control or format characters (bidi overrides would
    spoof what an operator reads on the CLI), turns argument separators into blanks,
    folds runs of blanks, and cuts to ``limit`` characters and ``byte_limit`` UTF-8
    bytes (Asterisk's caller-ID name buffer) on a character boundary. Chinese and other
    letters pass unchanged.
    """
    if not text:
        return ""
    kept = []
    for ch in unicodedata.normalize("NFC", str(text)):
        category = unicodedata.category(ch)
        if category.startswith("Z"):
            kept.append(" ")
        elif category[0] != "C":
            kept.append(ch)
    cleaned = " ".join("".join(kept).translate(_DROP).translate(_DIALPLAN_SPECIAL).split())
    cleaned = cleaned[:limit]
    while len(cleaned.encode("utf-8")) > byte_limit:
        cleaned = cleaned[:-1]
    return cleaned.strip()


def token_safe(text: str | None, limit: int = 32, default: str = "unknown") -> str:
    """A lower-case word usable in a sound file name (``ticket-status-${TICKET_STATUS}``)."""
    word = re.sub(r"[^a-z0-9_-]", "", (text or "").strip().lower().replace(" ", "_"))[:limit]
    return word or default
