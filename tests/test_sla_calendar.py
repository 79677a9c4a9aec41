"""Business time on the Chinese working calendar: working hours, public holidays, make-up
working days (调休), admin overrides, the Mon–Fri fallback, and the 24x7 wall clock."""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from callcenter.config import DEFAULT_SERVICE_HOURS
from tickets import calendar as calendar_module
from tickets.calendar import WALL_CLOCK, WorkingCalendar, load_calendar
from tickets.models import CalendarDay, SlaCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def local(instant: datetime) -> datetime:
    return instant.astimezone(SHANGHAI)


@pytest.fixture
def cal() -> WorkingCalendar:
    # 09:00-12:00, 13:00-18:00: 480 minutes a working day.
    return WorkingCalendar("Asia/Shanghai", DEFAULT_SERVICE_HOURS)


def test_minutes_inside_one_span_and_across_lunch(cal):
    assert local(cal.add(at(2026, 11, 4, 9, 0), 10)) == at(2026, 11, 4, 9, 10)
    # 11:50 + 30: ten minutes before lunch, twenty after it.
    assert local(cal.add(at(2026, 11, 4, 11, 50), 30)) == at(2026, 11, 4, 13, 20)
    # A target ending exactly at the close of a span ends there, not after the break.
    assert local(cal.add(at(2026, 11, 4, 11, 0), 60)) == at(2026, 11, 4, 12, 0)
    assert cal.minutes_between(at(2026, 11, 4, 11, 50), at(2026, 11, 4, 13, 20)) == 30
    assert cal.minutes_between(at(2026, 11, 4, 0, 0), at(2026, 11, 5, 0, 0)) == 480


def test_outside_hours_the_clock_waits_for_the_next_opening(cal):
    # Logged at night: the first business minute is 09:00 the next working day.
    assert local(cal.add(at(2026, 11, 4, 20, 30), 10)) == at(2026, 11, 5, 9, 10)
    assert local(cal.add(at(2026, 11, 4, 7, 0), 10)) == at(2026, 11, 4, 9, 10)
    assert local(cal.add(at(2026, 11, 4, 12, 20), 10)) == at(2026, 11, 4, 13, 10)
    assert cal.minutes_between(at(2026, 11, 4, 18, 0), at(2026, 11, 5, 9, 0)) == 0
    # Zero minutes: the instant itself, wherever it is.
    assert local(cal.add(at(2026, 11, 4, 20, 30), 0)) == at(2026, 11, 4, 20, 30)


def test_a_friday_afternoon_complaint_is_due_monday(cal):
    # 2026-11-06 is a Friday; half a working day = 240 business minutes.
    assert at(2026, 11, 6).weekday() == 4
    due = cal.add(at(2026, 11, 6, 15, 0), 240)
    assert local(due) == at(2026, 11, 9, 10, 0)    # 180 min on Friday, 60 on Monday
    assert cal.minutes_between(at(2026, 11, 6, 15, 0), due) == 240


def test_national_day_holiday_is_skipped(cal):
    assert not cal.is_workday(date(2026, 10, 1))
    assert all(not cal.is_workday(date(2026, 10, d)) for d in range(1, 8))
    # Wednesday 30 September, 16:00, + 240: 120 that day, the rest after the golden week.
    due = cal.add(at(2026, 9, 30, 16, 0), 240)
    assert local(due) == at(2026, 10, 8, 11, 0)
    assert cal.minutes_between(at(2026, 10, 1, 9, 0), at(2026, 10, 7, 18, 0)) == 0


def _makeup_saturday_2026() -> date:
    """A real 调休 Saturday of 2026, as chinese-calendar has it."""
    saturdays = [d for d in chinese_calendar.get_workdays(date(2026, 1, 1), date(2026, 12, 31))
                 if d.weekday() == 5]
    assert saturdays, "chinese-calendar lists no make-up Saturday in 2026"
    return saturdays[-1]


def test_makeup_working_saturday_counts(cal):
    saturday = _makeup_saturday_2026()         # 2026-10-10 with chinese-calendar 1.11
    assert cal.is_workday(saturday)
    friday = saturday - timedelta(days=1)
    due = cal.add(datetime.combine(friday, time(17, 0), SHANGHAI), 240)
    # 60 minutes on Friday, then the Saturday morning, not Monday.
    assert local(due) == datetime.combine(saturday, time(12, 0), SHANGHAI)
    # An ordinary Saturday is not: 2026-11-07.
    assert not cal.is_workday(date(2026, 11, 7))


def test_admin_overrides_win_over_the_chinese_calendar():
    saturday = _makeup_saturday_2026()
    cal = WorkingCalendar("Asia/Shanghai", DEFAULT_SERVICE_HOURS, {
        date(2026, 11, 9): False,       # company day off on a Monday
        saturday: False,                # the make-up Saturday given off after all
        date(2026, 10, 2): True,        # working on a national holiday
    })
    assert not cal.is_workday(date(2026, 11, 9))
    assert not cal.is_workday(saturday)
    assert cal.is_workday(date(2026, 10, 2))
    # The Friday-afternoon complaint now waits for Tuesday.
    assert local(cal.add(at(2026, 11, 6, 15, 0), 240)) == at(2026, 11, 10, 10, 0)
    assert cal.minutes_between(at(2026, 10, 1), at(2026, 10, 3)) == 480


def test_outside_the_librarys_years_monday_to_friday_and_logged_once(cal, caplog):
    year = max(chinese_calendar.constants.holidays).year + 3
    calendar_module._unknown_years.discard(year)  # logged by an earlier test: not this one
    monday = date(year, 1, 1) + timedelta(days=(7 - date(year, 1, 1).weekday()) % 7)
    with caplog.at_level(logging.WARNING, logger="tickets.calendar"):
        assert cal.is_workday(monday)
        assert not cal.is_workday(monday + timedelta(days=5))
        start = datetime.combine(monday + timedelta(days=4), time(17, 0), SHANGHAI)
        assert local(cal.add(start, 120)) == datetime.combine(
            monday + timedelta(days=7), time(10, 0), SHANGHAI)
    warnings = [r for r in caplog.records if str(year) in r.getMessage()]
    assert len(warnings) == 1


def test_add_and_minutes_between_agree_over_random_instants(cal):
    rng = random.Random(8)
    for _ in range(300):
        start = at(2026, 1, 1) + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        minutes = rng.choice([1, 10, 240, 479, 480, 481, 2400, rng.randrange(1, 20000)])
        due = cal.add(start, minutes)
        assert cal.minutes_between(start, due) == pytest.approx(minutes)
        # The earliest such instant: a minute before, less has passed.
        assert cal.minutes_between(start, due - timedelta(minutes=1)) < minutes
        assert cal.minutes_between(due, start) == pytest.approx(-minutes)
        # Counting back lands on the start, or where business time resumed after it.
        back = cal.add(due, -minutes)
        assert back >= start and cal.minutes_between(start, back) == 0


def test_matches_a_minute_by_minute_count(cal):
    """The span-stepping arithmetic against the obvious (slow) definition."""
    start = at(2026, 9, 25, 10, 37)                 # Mid-Autumn, then a make-up Sunday
    minute = timedelta(minutes=1)
    t, counted, marks = start, 0, {}
    while counted < 3000:
        local_t = local(t)
        if cal.is_workday(local_t.date()) and any(
                s <= local_t.time() < e for s, e in DEFAULT_SERVICE_HOURS):
            counted += 1
            marks[counted] = t + minute
        t += minute
    for minutes in (1, 59, 60, 480, 481, 1500, 3000):
        assert cal.add(start, minutes) == marks[minutes], minutes


def test_another_time_zone_and_hours():
    # A desk in Urumqi time with one long span.
    cal = WorkingCalendar("Asia/Urumqi", [(time(10), time(19))])
    start = datetime(2026, 11, 6, 18, 0, tzinfo=ZoneInfo("Asia/Urumqi"))
    assert cal.add(start, 120).astimezone(ZoneInfo("Asia/Urumqi")) == datetime(
        2026, 11, 9, 11, 0, tzinfo=ZoneInfo("Asia/Urumqi"))


def test_naive_datetimes_are_refused(cal):
    with pytest.raises(ValueError):
        cal.add(datetime(2026, 11, 4, 9, 0), 10)
    with pytest.raises(ValueError):
        WorkingCalendar("Asia/Shanghai", [])


def test_24x7_is_wall_time(cal):
    start = at(2026, 10, 1, 23, 50)                  # a holiday, at night
    assert local(WALL_CLOCK.add(start, 20)) == at(2026, 10, 2, 0, 10)
    assert WALL_CLOCK.minutes_between(start, at(2026, 10, 2, 0, 10)) == 20
    assert cal.for_kind("24x7") is WALL_CLOCK
    assert cal.for_kind(SlaCalendar.BUSINESS) is cal
    with pytest.raises(ValueError):
        WALL_CLOCK.for_kind("business")


def test_load_calendar_reads_the_overrides(session, settings):
    session.add(CalendarDay(day=date(2026, 11, 9), is_workday=False, name="公司年会"))
    session.flush()
    cal = load_calendar(session, settings, "business")
    assert isinstance(cal, WorkingCalendar)
    assert cal.timezone == settings.timezone and cal.hours == settings.service_hours
    assert not cal.is_workday(date(2026, 11, 9))
    assert cal.is_workday(date(2026, 11, 10))
    assert load_calendar(session, settings, SlaCalendar.ALL_HOURS) is WALL_CLOCK
