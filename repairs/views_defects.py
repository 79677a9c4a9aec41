"""The defect analysis page (缺陷分析): repairs per product model and month, split into
product defects, service defects and orders without a classified code, as small bar
charts, and the defect codes found most. A thin shell over ``repairs.defects``."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import current_app, render_template, request
from flask_login import current_user

from callcenter.auth import permission_required
from callcenter.db import db_session
from callcenter.users.permissions import Permission
from repairs.defects import defect_counts
from repairs.views import repairs_bp
from repairs.views_repeats import period

#: Charts drawn at most (the models with the most repairs).
MAX_CHARTS = 8
CLASSES = ("product", "service", "unclassified")


@repairs_bp.route("/defects")
@permission_required(Permission.REPAIR_READ)
def defects():
    locality = current_app.config["SETTINGS"].locality
    first, last, errors = period(locality, default_days=365)
    since = datetime.combine(first, time(), locality.zone)
    until = datetime.combine(last + timedelta(days=1), time(), locality.zone)
    model = request.args.get("model", "").strip()[:120] or None
    counts = defect_counts(db_session(), current_user, since=since, until=until,
                           zone=locality.zone, model=model)
    charts = []
    peak = max((sum(c.values()) for c in counts.by_model_month.values()), default=0)
    for name in counts.models[:MAX_CHARTS]:
        bars = []
        for month in counts.months:
            cell = counts.by_model_month.get((name, month), {})
            bars.append({"month": month, "total": sum(cell.values()),
                         "parts": [(cls, cell.get(cls, 0)) for cls in CLASSES]})
        charts.append({"model": name, "bars": bars,
                       "total": sum(b["total"] for b in bars)})
    return render_template("repairs/defects.html", first=first, last=last, errors=errors,
                           model=model, counts=counts, charts=charts, peak=peak,
                           classes=CLASSES), 400 if errors else 200
