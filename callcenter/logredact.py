"""No secrets in the logs: values of secret-looking query parameters (``?token=``,
``password=``, ``secret=``, ``api_key=``, ...) and of ``Authorization`` headers and
bearer tokens are replaced by ``[REDACTED]`` in every log record of the process.

``install_redaction()`` puts ``RedactSecrets`` in front of every record the process
makes, whichever logger and handler it goes to (gunicorn's access and error logs,
Werkzeug's request lines, RQ, our own): it wraps the log record factory, since a
filter on a logger misses records propagated from its children and a filter on a
handler misses handlers made later (gunicorn makes its own). Every process installs it
at start (``callcenter.cli.main``: serve, worker, bridge, run, ...) and so does
``create_app`` for any other host of the app. Idempotent.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[REDACTED]"

#: Parameter names whose values are secrets: containing one of these (any case).
_SECRET_WORDS = (r"token|passw|pwd|secret|api[_\-]?key|apikey|credential|signature|"  # noqa: S105
                 r"session[_\-]?id|private[_\-]?key")
#: ... or named exactly ``auth`` / ``authorization``.
_SECRET_NAME = rf"(?:[\w.\-\[\]]*(?:{_SECRET_WORDS})[\w.\-\[\]]*|auth|authorization)"
#: ``name=value`` in a query string or form body (also percent-encoded ``%3D``).
_PARAM = re.compile(rf"(?i)(?<![\w\-])({_SECRET_NAME}(?:=|%3D))([^&\s\"'#;,]+)")
#: ``Authorization: Bearer abc`` (header dumps), ``'Authorization': '...'`` (dict reprs).
_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)"
                     r"((?:bearer|basic|digest|token)\s+)?([^\s\"',}]+)")
#: A bearer or basic credential anywhere else.
_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=\-]{8,})")


def redact(text: str) -> str:
    """``text`` with the secrets in it replaced by ``[REDACTED]``."""
    if "=" not in text and ":" not in text and " " not in text:
        return text
    text = _PARAM.sub(lambda m: m.group(1) + REDACTED, text)
    text = _HEADER.sub(lambda m: m.group(1) + (m.group(2) or "") + REDACTED, text)
    return _SCHEME.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message without its secrets (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the handler's to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = RedactSecrets()


def install_redaction() -> None:
    """Redact every log record this process makes from now on (once per process)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts_secrets", False):
        return

    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _FILTER.filter(record)
        return record

    redacting_factory.redacts_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)
