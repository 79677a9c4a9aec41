"""Business time: the service desk's working hours on the Chinese working calendar.

An SLA target such as "resolve a complaint within half a working day" counts only the
minutes the desk is open: the working hours (``Settings.service_hours``, local times in
``Settings.timezone``) of working days. A working day is decided, in this order, by

1. an admin's ``CalendarDay`` override (a company holiday, an extra working day);
2. ``chinese-calendar``: public holidays (法定节假日) are off, make-up working days
   (调休, often a Saturday or Sunday) are on, other days by weekday;
3. outside the years ``chinese-calendar`` knows (it raises ``NotImplementedError``):
   Monday to Friday, logged once per year so the gap is seen and the data updated.

``WallClock`` is the 24x7 calendar: every minute counts.

Speed matters (the escalation ladder computes due times for every open ticket), so
instants are handled as integer microseconds since the epoch, each day's working spans
are computed once and cached, and ``add``/``minutes_between`` step over whole spans and
whole days, never minute by minute. Every datetime given must be aware; every datetime
returned is in UTC.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import CalendarDay, SlaCalendar

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US_PER_MINUTE = 60_000_000
_ONE_US = timedelta(microseconds=1)
#: Years already logged as unknown to chinese-calendar (log once per process and year).
_unknown_years: set[int] = set()
#: A business calendar with working hours but never a working day (every day overridden
#: off) would loop forever; no real target spans more than this many days.
MAX_DAYS = 366 * 20


def _to_us(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: give an aware one (UTC from the database)")
    return (instant - _EPOCH) // _ONE_US


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


class Calendar(Protocol):
    """What tickets.sla needs of a calendar; both kinds below provide it."""

    kind: SlaCalendar

    def add(self, start: datetime, minutes: float) -> datetime: ...

    def minutes_between(self, a: datetime, b: datetime) -> float: ...

    def for_kind(self, kind: SlaCalendar | str) -> Calendar: ...


class WallClock:
    """24x7: every minute counts (wall time)."""

    kind = SlaCalendar.ALL_HOURS

    def is_workday(self, day: date) -> bool:
        return True

    def add(self, start: datetime, minutes: float) -> datetime:
        return _from_us(_to_us(start) + round(minutes * _US_PER_MINUTE))

    def minutes_between(self, a: datetime, b: datetime) -> float:
        return (_to_us(b) - _to_us(a)) / _US_PER_MINUTE

    def for_kind(self, kind: SlaCalendar | str) -> Calendar:
        if SlaCalendar(kind) is SlaCalendar.ALL_HOURS:
            return self
        raise ValueError("a 24x7 calendar cannot stand in for the business calendar")


#: The one 24x7 calendar (it has no settings).
WALL_CLOCK = WallClock()


class WorkingCalendar:
    """Working hours on working days, in the desk's time zone."""

    kind = SlaCalendar.BUSINESS

    def __init__(self, timezone: str, hours: Iterable[tuple[time, time]],
                 overrides: Mapping[date, bool] | None = None):
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.hours = tuple((start, end) for start, end in hours)
        if not self.hours or any(end <= start for start, end in self.hours):
            raise ValueError(f"working hours must be non-empty spans: {self.hours!r}")
        self.overrides = dict(overrides or {})
        # day ordinal -> ((start_us, end_us), ...) and the day's total, filled lazily.
        self._spans: dict[int, tuple[tuple[int, int], ...]] = {}
        self._totals: dict[int, int] = {}

    # --- days ---------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            if day.year not in _unknown_years:
                _unknown_years.add(day.year)
                log.warning("chinese-calendar has no data for %s: counting Monday to "
                            "Friday as working days; update the chinese-calendar package",
                            day.year)
            return day.weekday() < 5

    def spans(self, day: date) -> tuple[tuple[int, int], ...]:
        """The day's working spans as epoch microseconds (empty on a day off)."""
        return self._day(day.toordinal())

    def _day(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        spans = self._spans.get(ordinal)
        if spans is None:
            day = date.fromordinal(ordinal)
            if self.is_workday(day):
                spans = tuple(
                    (_to_us(datetime.combine(day, start, tzinfo=self.zone)),
                     _to_us(datetime.combine(day, end, tzinfo=self.zone)))
                    for start, end in self.hours)
            else:
                spans = ()
            self._spans[ordinal] = spans
            self._totals[ordinal] = sum(end - start for start, end in spans)
        return spans

    def _ordinal(self, us: int) -> int:
        """The local day an instant falls on."""
        return _from_us(us).astimezone(self.zone).toordinal()

    # --- time ---------------------------------------------------------------------

    def add(self, start: datetime, minutes: float) -> datetime:
        """The earliest instant by which ``minutes`` business minutes have passed since
        ``start`` (``start`` itself for 0; negative counts back)."""
        if minutes < 0:
            return self._subtract(_to_us(start), round(-minutes * _US_PER_MINUTE))
        return _from_us(self._add(_to_us(start), round(minutes * _US_PER_MINUTE)))

    def _add(self, cursor: int, remaining: int) -> int:
        if remaining == 0:
            return cursor
        ordinal = self._ordinal(cursor)
        for _ in range(MAX_DAYS):
            spans = self._day(ordinal)
            # A whole day after the start that does not use up the rest: skip it at once.
            if spans and cursor <= spans[0][0] and self._totals[ordinal] < remaining:
                remaining -= self._totals[ordinal]
            else:
                for span_start, span_end in spans:
                    if cursor >= span_end:
                        continue
                    begin = max(cursor, span_start)
                    if remaining <= span_end - begin:
                        return begin + remaining
                    remaining -= span_end - begin
            ordinal += 1
            cursor = -1 << 62  # every later span starts after the cursor
        raise ValueError("no working time within reach: check the calendar overrides")

    def _subtract(self, cursor: int, remaining: int) -> datetime:
        ordinal = self._ordinal(cursor)
        for _ in range(MAX_DAYS):
            for span_start, span_end in reversed(self._day(ordinal)):
                if cursor <= span_start:
                    continue
                end = min(cursor, span_end)
                if remaining <= end - span_start:
                    return _from_us(end - remaining)
                remaining -= end - span_start
            ordinal -= 1
            cursor = 1 << 62
        raise ValueError("no working time within reach: check the calendar overrides")

    def minutes_between(self, a: datetime, b: datetime) -> float:
        """Business minutes from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        a_us, b_us = _to_us(a), _to_us(b)
        if b_us < a_us:
            return -self._between(b_us, a_us) / _US_PER_MINUTE
        return self._between(a_us, b_us) / _US_PER_MINUTE

    def _between(self, a_us: int, b_us: int) -> int:
        first, last = self._ordinal(a_us), self._ordinal(b_us)
        total = 0
        for ordinal in range(first, last + 1):
            spans = self._day(ordinal)
            if first < ordinal < last:
                total += self._totals[ordinal]
                continue
            for span_start, span_end in spans:
                lo, hi = max(a_us, span_start), min(b_us, span_end)
                if hi > lo:
                    total += hi - lo
        return total

    def for_kind(self, kind: SlaCalendar | str) -> Calendar:
        """This calendar for a business ticket, the wall clock for a 24x7 one (so callers
        may hand every ticket the business calendar)."""
        return self if SlaCalendar(kind) is SlaCalendar.BUSINESS else WALL_CLOCK


def load_overrides(session: Session) -> dict[date, bool]:
    return {day: workday for day, workday in
            session.execute(select(CalendarDay.day, CalendarDay.is_workday))}


def load_calendar(session: Session, settings, kind: SlaCalendar | str = SlaCalendar.BUSINESS
                  ) -> Calendar:
    """The calendar of ``kind`` with today's settings and the admin's overrides.

    Build it once per unit of work (a request, a job's batch) and reuse it: its day
    cache is what makes many due times cheap.
    """
    if SlaCalendar(kind) is SlaCalendar.ALL_HOURS:
        return WALL_CLOCK
    return WorkingCalendar(settings.timezone, settings.service_hours, load_overrides(session))
