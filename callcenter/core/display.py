"""How phone numbers, dates and times are shown: one style per kind and per language.

Written once here; every page, the desk's pops and the other scripts show the same.

Phones
    A number of the call center's own country (``Locality.region``'s calling code) in
    the national format, as people there dial it: ``020 8333 1234``, ``138 1234 5678``;
    any other in the international format: ``+1 415-555-0100``. An extension follows
    in the reader's language (``010 6234 5678 转 12``). What machines read stays E.164:
    ``tel:`` links, form values, the API's ``number``, the CSV export of the call log.

Dates and times, in the call center's time zone (``Locality.timezone``)
    ======== ================== ====================
    kind     zh-CN              en
    ======== ================== ====================
    date     2026-01-02         Jan 2, 2026
    datetime 2026-01-02 15:04   Jan 2, 2026, 15:04
    time     15:04              15:04
    ======== ================== ====================

    24-hour time in both languages: a call center runs in shifts, and "03:04" cannot be
    read as the afternoon. ``<time datetime="...">`` keeps the ISO value for machines.
    The CSV export keeps ``YYYY-MM-DD HH:MM:SS`` in the call center's time zone and E.164
    numbers, whatever the reader's language, so that spreadsheets read them as values.

Browsers get the same patterns (``client_formats``, on ``<html data-display>`` in
``base.html``) and ``static/js/display.js`` applies them, so a date a script shows (the
desk's pops, pushed by the bridge to agents of either language) reads as the page's.

The Jinja filters ``datetimeformat``, ``dateformat`` and ``timeformat`` replace
Flask-Babel's (``init_app``): their old style argument ("short", "medium") is accepted
and ignored, since there is one style. The ``phone`` filter (``callcenter.customers``)
calls ``phone_label``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Literal

import phonenumbers
from babel import Locale
from babel.dates import format_date, format_datetime, get_month_names
from flask_babel import get_locale, get_timezone, gettext

Kind = Literal["date", "datetime", "time"]

#: CLDR patterns per language and kind (the JS module understands y M MMM d H m).
PATTERNS: dict[str, dict[Kind, str]] = {
    "zh_CN": {"date": "yyyy-MM-dd", "datetime": "yyyy-MM-dd HH:mm", "time": "HH:mm"},
    "en": {"date": "MMM d, y", "datetime": "MMM d, y, HH:mm", "time": "HH:mm"},
}


def language(locale: Locale | str | None) -> str:
    """Which of our two languages ``locale`` is: "zh_CN" for any Chinese, else "en"."""
    if locale is None:
        return "en"
    parsed = locale if isinstance(locale, Locale) else Locale.parse(str(locale).replace("-", "_"))
    return "zh_CN" if parsed.language == "zh" else "en"


# --- phones ---------------------------------------------------------------------------

def phone_text(number: str, region: str) -> str:
    """``number`` (E.164, or as typed in ``region``) as people in ``region`` read it,
    without the extension; text that is no phone number comes back as it is."""
    parsed = _parse(number, region)
    if parsed is None:
        return number
    parsed.extension = None
    return phonenumbers.format_number(parsed, _style(parsed, region))


def phone_label(phone: Any, region: str) -> str:
    """A phone as pages show it: a record with ``e164`` and ``extension`` (a customer's
    or contact's phone), or text (E.164, or a number as typed); the extension in the
    current language."""
    if phone is None:
        return ""
    if isinstance(phone, str):
        parsed = _parse(phone, region)
        number, extension = phone, (parsed.extension if parsed is not None else None)
    else:
        number, extension = phone.e164, phone.extension
    text = phone_text(number, region)
    return gettext("%(number)s ext. %(ext)s", number=text, ext=extension) if extension \
        else text


def _parse(number: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        parsed = phonenumbers.parse(str(number), region)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_valid_number(parsed) else None


def _style(parsed: phonenumbers.PhoneNumber, region: str) -> int:
    # The calling code, not the region: +1 numbers of Canada are national in the US too.
    home = phonenumbers.country_code_for_region(region)
    return (phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == home
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# --- dates and times ------------------------------------------------------------------

#: A date or an instant: a date, a datetime, ISO 8601 text, or epoch seconds.
Moment = datetime | date | str | float | None


def _instant(value: datetime | str, zone: tzinfo) -> datetime:
    """An aware datetime in ``zone``; naive values are UTC (as the database stores them)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def _as_date_or_instant(value: Moment, zone: tzinfo) -> date | datetime | None:
    """A calendar date stays a date ("2026-12-31" too); anything else is an instant."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text) if len(text) == 10 else _instant(text, zone)
        except ValueError:
            return None
    if isinstance(value, datetime):
        return _instant(value, zone)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, zone)
    return value if isinstance(value, date) else None


def show(kind: Kind, value: Moment, locale: Locale | str | None, zone: tzinfo) -> str:
    """``value`` as ``kind`` in ``locale`` and ``zone``; "" for nothing.

    A date (or ISO date text) shown as a datetime shows as a date: it has no time. Text
    that is no ISO date or datetime comes back as it is (never a made-up date).
    """
    moment = _as_date_or_instant(value, zone)
    if moment is None:
        return "" if value is None else str(value)
    lang = language(locale)
    if not isinstance(moment, datetime):
        if kind == "time":
            return ""
        return format_date(moment, PATTERNS[lang]["date"], locale=lang)
    if kind == "date":
        return format_date(moment.date(), PATTERNS[lang]["date"], locale=lang)
    return format_datetime(moment, PATTERNS[lang][kind], tzinfo=zone, locale=lang)


def date_text(value: Moment, locale: Locale | str | None, zone: tzinfo) -> str:
    return show("date", value, locale, zone)


def datetime_text(value: Moment, locale: Locale | str | None, zone: tzinfo) -> str:
    return show("datetime", value, locale, zone)


def time_text(value: Moment, locale: Locale | str | None, zone: tzinfo) -> str:
    return show("time", value, locale, zone)


def client_formats(locale: Locale | str | None, timezone: str) -> dict[str, Any]:
    """What ``static/js/display.js`` needs to show dates exactly as ``show`` does."""
    lang = language(locale)
    months = get_month_names("abbreviated", locale=lang)
    return {"lang": "zh-CN" if lang == "zh_CN" else "en", "timezone": timezone,
            **PATTERNS[lang], "months": [months[m] for m in range(1, 13)]}


# --- in a request: the page's language and the call center's time zone ----------------

def _in_request(kind: Kind) -> Callable[..., str]:
    def page_text(value: Moment, style: str | None = None) -> str:
        # ``style`` ("short", "medium"): Flask-Babel's argument, kept for old templates.
        return show(kind, value, get_locale(), get_timezone())
    page_text.__name__ = f"page_{kind}"
    page_text.__doc__ = (f"``value`` as a {kind} in the request's language and the call "
                         "center's time zone (the Jinja filter too).")
    return page_text


page_date = _in_request("date")
page_datetime = _in_request("datetime")
page_time = _in_request("time")


def page_formats() -> dict[str, Any]:
    """``client_formats`` for the current request (the ``<html data-display>`` of pages)."""
    zone = get_timezone()
    return client_formats(get_locale(), getattr(zone, "key", None) or str(zone))


def init_app(app) -> None:
    """Register the date filters over Flask-Babel's (call after ``Babel.init_app``) and
    ``display_formats()`` for ``base.html``."""
    app.jinja_env.filters.update(datetimeformat=page_datetime, dateformat=page_date,
                                 timeformat=page_time)
    app.jinja_env.globals["display_formats"] = page_formats


__all__ = ["PATTERNS", "client_formats", "date_text", "datetime_text", "init_app",
           "language", "page_date", "page_datetime", "page_formats", "page_time",
           "phone_label", "phone_text", "show", "time_text"]
