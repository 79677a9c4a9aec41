"""REST routes for SLA policies (/api/v1/sla-policies) and the working calendar's
overrides (/api/v1/calendar-days). Writing needs ``sla.manage`` (admins, supervisors);
any signed-in user may read both (agents see which targets their tickets get)."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from callcenter.api import api_route, created, int_arg
from callcenter.auth import api_user
from callcenter.db import db_session
from callcenter.openapi import Param
from callcenter.users.permissions import Permission
from tickets.policies import (
    create_calendar_day,
    create_policy,
    delete_calendar_day,
    list_calendar_days,
    list_policies,
)
from tickets.schemas_policies import (
    CalendarDay,
    CalendarDayCreate,
    CalendarDayList,
    SlaPolicy,
    SlaPolicyCreate,
    SlaPolicyList,
)


def _policy(row) -> dict[str, Any]:
    return SlaPolicy.of(row).model_dump(mode="json")


def _day(row) -> dict[str, Any]:
    return CalendarDay.of(row).model_dump(mode="json")


@api_route("POST", "/sla-policies", summary="Create an SLA policy", tag="sla",
           permission=Permission.SLA_MANAGE, body=SlaPolicyCreate, response=SlaPolicy,
           status=201,
           description="The most specific active policy (type, priority, customer tier; "
                       "null matches any) applies to tickets created after it; ties go to "
                       "the newest. Existing tickets keep their targets.")
def sla_policies_create(body: dict[str, Any]):
    return created(_policy(create_policy(db_session(), api_user(), body)))


@api_route("GET", "/sla-policies", summary="List SLA policies, newest first", tag="sla",
           response=SlaPolicyList)
def sla_policies_list():
    return jsonify({"items": [_policy(p) for p in list_policies(db_session())]})


@api_route("POST", "/calendar-days", summary="Set a date apart from the Chinese calendar",
           tag="sla", permission=Permission.SLA_MANAGE, body=CalendarDayCreate,
           response=CalendarDay, status=201,
           description="A company day off (`is_workday: false`) or an extra working day "
                       "(`true`); it wins over the public holidays and make-up working "
                       "days. One entry per date.")
def calendar_days_create(body: dict[str, Any]):
    return created(_day(create_calendar_day(db_session(), api_user(), body)))


@api_route("GET", "/calendar-days", summary="The calendar's overrides, by date", tag="sla",
           query=(Param("year", {"type": "integer", "minimum": 1, "maximum": 9999},
                        "Only this year's."),),
           response=CalendarDayList)
def calendar_days_list():
    year = int_arg("year", None, minimum=1, maximum=9999)
    return jsonify({"items": [_day(d) for d in list_calendar_days(db_session(), year=year)]})


@api_route("DELETE", "/calendar-days/<id:day_id>", summary="Remove a calendar override",
           tag="sla", permission=Permission.SLA_MANAGE, status=204)
def calendar_days_delete(day_id: int):
    delete_calendar_day(db_session(), api_user(), day_id)
    return "", 204
