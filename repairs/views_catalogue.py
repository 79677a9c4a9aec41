"""The parts catalogue and the stations' master data (after-sales finance keeps them):
lists and edit forms. Thin shells over ``repairs.parts`` and ``repairs.stations``; an
edit carries the version it read, and a stale one shows "changed meanwhile" with both
values per field instead of overwriting."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from callcenter.core.errors import StaleVersion, ValidationError
from callcenter.core.messages import describe, error_message
from callcenter.core.pagination import fetch_page
from callcenter.db import db_session
from callcenter.users.models import Department
from callcenter.users.permissions import Permission, has_permission
from repairs.parts import create_part, fits_of, get_part, parts_query, update_part
from repairs.stations import create_station, get_station, update_station
from repairs.views import repairs_bp

REJECTED = 422
PART_FIELDS = (("sku", _l("SKU"), "text"), ("name", _l("Name"), "text"),
               ("unit", _l("Unit"), "text"), ("unit_price", _l("Unit price"), "money"),
               ("fits", _l("Fits these product models (one per line)"), "lines"),
               ("active", _l("Active"), "check"))
STATION_FIELDS = (("name", _l("Name"), "text"), ("address", _l("Address"), "text"),
                  ("phone", _l("Phone"), "text"),
                  ("department_id", _l("Department of its technicians"), "department"),
                  ("customer_id", _l("Partner's customer no. (settled with)"), "id"),
                  ("active", _l("Active"), "check"))


def _need(permission: Permission) -> None:
    if not has_permission(current_user.role, permission):
        abort(403)


@repairs_bp.route("/parts/")
def parts():
    if not (has_permission(current_user.role, Permission.PART_MANAGE)
            or has_permission(current_user.role, Permission.STOCK_READ)):
        abort(403)
    q = request.args.get("q", "").strip()[:100] or None
    fits = request.args.get("fits", "").strip()[:120] or None
    dbs = db_session()
    result = fetch_page(dbs, parts_query(q=q, fits=fits),
                        page=request.args.get("page", 1, type=int), per_page=30, clamp=True)
    return render_template("repairs/parts.html", result=result, q=q or "", fits=fits or "",
                           fits_of=fits_of(dbs, [p.id for p in result.items]))


def _form_values(fields) -> dict[str, Any]:
    """The posted form as the services' ``data``: texts stripped, ids as integers."""
    data: dict[str, Any] = {}
    for name, _label, kind in fields:
        raw = (request.form.get(name) or "").strip()
        if kind == "check":
            data[name] = request.form.get(name) == "1"
        elif kind == "lines":
            data[name] = [m.strip() for m in raw.replace(",", "\n").splitlines() if m.strip()]
        elif kind in ("id", "department"):
            data[name] = int(raw) if raw.isdigit() and int(raw) < 2**31 else (raw or None)
        else:
            data[name] = raw
    return data


def _record_values(record, fields, extra: dict | None = None) -> dict[str, Any]:
    values = {name: getattr(record, name, None) for name, _l_, _k in fields}
    values.update(extra or {})
    return values


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(value) or "—"
    return "—" if value in (None, "") else str(value)


def _edit(kind: str, record, *, save, fields, title: str, back: str, extra=None):
    """GET: the form; POST: save through ``save(data)`` or show what was wrong."""
    rows = db_session().execute(select(Department.id, Department.name, Department.path)).all()
    names = {did: name for did, name, _path in rows}

    def spelled(path: str) -> str:  # "/1/2/" -> "Service / Stations"
        return " / ".join(names.get(int(i), i) for i in path.strip("/").split("/") if i.isdigit())
    departments = sorted(((did, spelled(path) or name) for did, name, path in rows),
                         key=lambda d: d[1])
    context = {"kind": kind, "record": record, "fields": fields, "title": title,
               "back": back, "departments": departments, "errors": {}, "stale": None,
               "problem": None}
    if request.method == "GET":
        values = (_record_values(record, fields, extra) if record
                  else {"active": True, "unit": "pcs"})
        return render_template("repairs/record_form.html", values=values,
                               version=record.version if record else "", **context)
    data = _form_values(fields)
    version = request.form.get("version", "")
    if record is not None:
        data["version"] = int(version) if version.isdigit() else 0
    try:
        saved = save(data)
    except StaleVersion:
        db_session().rollback()
        current = _record_values(record, fields, extra)
        diff = [(label, _shown(data.get(name)), _shown(current.get(name)))
                for name, label, _k in fields
                if _shown(data.get(name)) != _shown(current.get(name))]
        context.update(stale=diff)
        return render_template("repairs/record_form.html", values=current,
                               version=record.version, **context), 409
    except ValidationError as exc:
        db_session().rollback()
        context.update(errors={k: describe(p) for k, p in exc.errors.items()},
                       problem=error_message(exc))
        return render_template("repairs/record_form.html", values=data, version=version,
                               **context), REJECTED
    flash(_("Saved."), "success")
    return redirect(back if record else url_for(
        "repairs.parts" if kind == "part" else "repairs.stations", _anchor=f"r{saved.id}"))


def _price_text(data: dict) -> dict:
    data = dict(data)
    data["unit_price"] = data.get("unit_price") or None
    return data


@repairs_bp.route("/parts/new", methods=["GET", "POST"])
def part_new():
    _need(Permission.PART_MANAGE)
    return _edit("part", None, fields=PART_FIELDS, title=_("New part"),
                 back=url_for("repairs.parts"),
                 save=lambda d: create_part(db_session(), current_user, _price_text(d)))


@repairs_bp.route("/parts/<int:part_id>/edit", methods=["GET", "POST"])
def part_edit(part_id: int):
    _need(Permission.PART_MANAGE)
    dbs = db_session()
    part = get_part(dbs, part_id)
    return _edit("part", part, fields=PART_FIELDS, title=part.sku,
                 back=url_for("repairs.parts"),
                 extra={"fits": fits_of(dbs, [part.id])[part.id]},
                 save=lambda d: update_part(dbs, current_user, part, _price_text(d)))


@repairs_bp.route("/stations/new", methods=["GET", "POST"])
def station_new():
    _need(Permission.STATION_MANAGE)
    return _edit("station", None, fields=STATION_FIELDS, title=_("New station"),
                 back=url_for("repairs.stations"),
                 save=lambda d: create_station(db_session(), current_user, d))


@repairs_bp.route("/stations/<int:station_id>/edit", methods=["GET", "POST"])
def station_edit(station_id: int):
    _need(Permission.STATION_MANAGE)
    dbs = db_session()
    station = get_station(dbs, station_id)
    return _edit("station", station, fields=STATION_FIELDS, title=station.name,
                 back=url_for("repairs.stations"),
                 save=lambda d: update_station(dbs, current_user, station, d))
