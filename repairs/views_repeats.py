"""The repeat-repairs page (返修统计): per product model, how many of a period's repairs
were repeat repairs, and each of them next to the repair it repeats. A thin shell over
``repairs.repeats``, in the user's scope. The period is in local dates, both ends
included; a bad date falls back to the default period with the field marked."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app, render_template, request
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_login import current_user

from callcenter.auth import permission_required
from callcenter.core.locality import Locality
from callcenter.db import db_session
from callcenter.users.permissions import Permission
from repairs import presenters as show
from repairs.repeats import repeat_repairs, repeat_repairs_by_model
from repairs.views import repairs_bp

#: The period the page opens with: the last 90 days, today included.
DEFAULT_DAYS = 90
#: The longest period one page counts (about five years).
MAX_DAYS = 1900


def _day(name: str, default: date, errors: dict[str, str]) -> date:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = _("Enter a date such as 2026-12-01.")
        return default


def period(locality: Locality, *, default_days: int = DEFAULT_DAYS
           ) -> tuple[date, date, dict[str, str]]:
    """The period asked for (first day, last day, problems by field)."""
    today = locality.today()
    errors: dict[str, str] = {}
    last = _day("until", today, errors)
    first = _day("since", last - timedelta(days=default_days - 1), errors)
    if first > last:
        errors["since"] = _("The first day comes after the last.")
        first, last = last - timedelta(days=default_days - 1), last
    if (last - first).days > MAX_DAYS:
        errors["since"] = _("At most %(n)s days at once.", n=MAX_DAYS)
        first = last - timedelta(days=MAX_DAYS)
    return first, last, errors


@repairs_bp.route("/repeat-repairs")
@permission_required(Permission.REPAIR_READ)
def repeats():
    locality = current_app.config["SETTINGS"].locality
    first, last, errors = period(locality)
    since = datetime.combine(first, time(), locality.zone)
    until = datetime.combine(last + timedelta(days=1), time(), locality.zone)
    model = request.args.get("model", "").strip()[:120] or None
    dbs = db_session()
    figures = [{**row, "rate_text": format_percent(row["rate"], "#,##0.0%")}
               for row in repeat_repairs_by_model(dbs, current_user, since=since,
                                                  until=until)]
    listed = repeat_repairs(dbs, current_user, since=since, until=until, model=model)
    return render_template(
        "repairs/repeats.html", first=first, last=last, errors=errors, model=model,
        figures=figures, listed=listed,
        totals={"orders": sum(r["orders"] for r in figures),
                "repeats": sum(r["repeats"] for r in figures)},
        customer_names=show.customer_names(dbs, {r.order.customer_id for r in listed}),
        repeat_days=current_app.config["SETTINGS"].repair_repeat_days,
    ), 400 if errors else 200
