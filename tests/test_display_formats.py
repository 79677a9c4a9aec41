"""One display format per kind and language (callcenter.core.display): phones national at
home and international otherwise, one date, date-time and time style in zh-CN and in
English, in the call center's time zone; the old filter names and their style arguments
give the same; pages carry the same patterns for the scripts (<html data-display>).

The browser side (static/js/display.js) is exercised in tests/test_browser_desk.py.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import render_template_string
from test_calls import T0, finished
from webtools import csrf_token, login, text

from callcenter.app import create_app
from callcenter.calls.recording import record_call
from callcenter.config import load_settings
from callcenter.core.display import (
    client_formats,
    date_text,
    datetime_text,
    phone_label,
    phone_text,
    time_text,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
#: 2026-01-02 07:04 UTC: 15:04 in Shanghai, 02:04 in New York.
MOMENT = datetime(2026, 1, 2, 7, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(("number", "region", "shown"), [
    ("+862083331234", "CN", "020 8333 1234"),       # Guangzhou, at home: as dialled there
    ("+8613812345678", "CN", "138 1234 5678"),
    ("+861062345678", "CN", "010 6234 5678"),
    ("02083331234", "CN", "020 8333 1234"),         # as typed: read in the region
    ("+14155550100", "CN", "+1 415-555-0100"),      # abroad: international
    ("+862083331234", "US", "+86 20 8333 1234"),
    ("+14155550100", "US", "(415) 555-0100"),
    ("+16135550100", "US", "(613) 555-0100"),       # Canada shares +1: dialled nationally
    ("+861062345678;ext=12", "CN", "010 6234 5678"),  # the extension is said apart
    ("anonymous", "CN", "anonymous"),               # no number: as it is
    ("+86123", "CN", "+86123"),
])
def test_phones_national_at_home_and_international_otherwise(number, region, shown):
    assert phone_text(number, region) == shown


@pytest.mark.parametrize(("locale", "date_", "datetime_", "time_"), [
    ("zh_CN", "2026-01-02", "2026-01-02 15:04", "15:04"),
    ("zh", "2026-01-02", "2026-01-02 15:04", "15:04"),
    ("en", "Jan 2, 2026", "Jan 2, 2026, 15:04", "15:04"),
])
def test_one_style_per_kind_and_language_in_the_centers_zone(locale, date_, datetime_, time_):
    for value in (MOMENT, MOMENT.replace(tzinfo=None), MOMENT.isoformat(), MOMENT.timestamp()):
        # aware, naive (UTC, as the database stores it), ISO text, epoch seconds
        assert date_text(value, locale, SHANGHAI) == date_
        assert datetime_text(value, locale, SHANGHAI) == datetime_
        assert time_text(value, locale, SHANGHAI) == time_


def test_the_time_zone_moves_the_day_and_a_calendar_date_never_moves():
    assert datetime_text(MOMENT, "en", NEW_YORK) == "Jan 2, 2026, 02:04"
    assert date_text(datetime(2026, 1, 2, 3, 0, tzinfo=UTC), "zh_CN", NEW_YORK) == "2026-01-01"
    # A date (a warranty's end) is a day on the calendar, not an instant: no zone shift.
    for value in (date(2026, 12, 31), "2026-12-31"):
        assert date_text(value, "zh_CN", NEW_YORK) == "2026-12-31"
        assert datetime_text(value, "en", NEW_YORK) == "Dec 31, 2026"
        assert time_text(value, "en", NEW_YORK) == ""
    assert datetime_text(None, "en", SHANGHAI) == "" and date_text("", "en", SHANGHAI) == ""
    assert datetime_text("soon", "en", SHANGHAI) == "soon"  # never a made-up date


def test_the_scripts_get_the_same_patterns():
    zh, en = client_formats("zh_CN", "Asia/Shanghai"), client_formats("en", "Asia/Shanghai")
    assert zh == {"lang": "zh-CN", "timezone": "Asia/Shanghai", "date": "yyyy-MM-dd",
                  "datetime": "yyyy-MM-dd HH:mm", "time": "HH:mm",
                  "months": [f"{m}月" for m in range(1, 13)]}
    assert en["date"] == "MMM d, y" and en["months"][:3] == ["Jan", "Feb", "Mar"]


@pytest.mark.parametrize(("accept", "expected"), [
    ("zh-CN,zh;q=0.9", "2026-01-02 15:04 | 2026-01-02 | 15:04 | 010 6234 5678 转 12"),
    ("en", "Jan 2, 2026, 15:04 | Jan 2, 2026 | 15:04 | 010 6234 5678 ext. 12"),
])
def test_the_filters_in_a_page(app, accept, expected):
    phone = SimpleNamespace(e164="+861062345678", extension="12")
    template = ("{{ m|datetimeformat }} | {{ m|dateformat }} | {{ m|timeformat }} | "
                "{{ p|phone }}")
    # Old templates' style arguments ("short", "medium") give the one style too.
    old = ("{{ m|datetimeformat('short') }} | {{ m|dateformat('medium') }} | "
           "{{ m|timeformat('short') }} | {{ p|phone }}")
    with app.test_request_context("/", headers={"Accept-Language": accept}):
        assert render_template_string(template, m=MOMENT, p=phone) == expected
        assert render_template_string(old, m=MOMENT, p=phone) == expected
        assert phone_label("010-6234 5678 ext. 12", "CN") == expected.split(" | ")[-1]
        assert render_template_string("{{ p|phone }}", p="+14155550100") == "+1 415-555-0100"


def test_another_region_and_time_zone_come_from_the_settings(settings, connection):
    other = load_settings({"CALLCENTER_INSTANCE": str(settings.instance_path),
                           "DATABASE_URL": settings.database_url,
                           "REDIS_URL": settings.redis_url,
                           "SECRET_KEY": "test-secret-key-0123456789",
                           "DEFAULT_PHONE_REGION": "US", "TIMEZONE": "America/New_York"})
    app = create_app(other, db_bind=connection, testing=True,
                     session_options={"join_transaction_mode": "create_savepoint"})
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string("{{ m|datetimeformat }} · {{ a|phone }} · {{ b|phone }}",
                                      m=MOMENT, a="+862083331234", b="+14155550100") \
            == "Jan 2, 2026, 02:04 · +86 20 8333 1234 · (415) 555-0100"


def _data_display(page: str) -> dict:
    found = re.search(r"<html [^>]*data-display='([^']*)'", page)
    assert found, page[:300]
    return json.loads(html.unescape(found.group(1)))


def test_the_call_log_shows_the_one_format_and_hands_it_to_scripts(client, session,
                                                                   make_user):
    make_user("admin", username="boss")
    record_call(session, finished("1795455872.8", caller_number="020-8333 1234"), region="CN")
    session.flush()
    started = datetime.fromtimestamp(T0, UTC)
    assert login(client, "boss", language="zh_CN").status_code == 302
    page = text(client.get("/calls/"))
    assert datetime_text(started, "zh_CN", SHANGHAI) in page
    assert "020 8333 1234" in page and "+86 20" not in page
    assert _data_display(page) == client_formats("zh_CN", "Asia/Shanghai")
    token = csrf_token(page)
    assert client.post("/language", data={"locale": "en", "csrf_token": token}
                       ).status_code == 302
    page = text(client.get("/calls/"))
    assert datetime_text(started, "en", SHANGHAI) in page
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, 20\d\d, \d\d:\d\d", page)
    assert _data_display(page)["datetime"] == "MMM d, y, HH:mm"
