"""Which defects the repairs found, per product model and month: the counts behind the
defect analysis (what hurts the quality of products and of the service). An order counts
once, in the month it was raised, under its diagnosis's defect code; cancelled orders do
not count, orders without a code count as "no code yet". The codes' names and classes
(service defect, product defect) come from the knowledge base's taxonomy
(``kb.codes``). Only orders in the asking user's scope count."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.products.models import InstalledProduct
from callcenter.users.models import User
from kb.codes import CodeInfo, describe_codes
from repairs.models import RepairOrder, RepairStatus
from repairs.queries import visible_orders

NO_CODE = ""
#: The most orders one analysis reads (a year of a large service organisation).
MAX_ORDERS = 500_000


@dataclass
class DefectCounts:
    months: list[str]                                   # "2026-01", oldest first
    models: list[str]                                   # most orders first
    #: (model, month) -> class ("product" | "service" | "unclassified") -> orders
    by_model_month: dict[tuple[str, str], Counter] = field(default_factory=dict)
    #: code -> orders, most first ("" = no code yet)
    by_code: list[tuple[str, int]] = field(default_factory=list)
    codes: dict[str, CodeInfo] = field(default_factory=dict)
    total: int = 0


def month_keys(first: date, last: date) -> list[str]:
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def defect_counts(session: Session, actor: User, *, since: datetime, until: datetime,
                  zone: ZoneInfo, model: str | None = None) -> DefectCounts:
    """Orders raised in [since, until), counted per model, month (in ``zone``) and
    defect class, and per defect code."""
    stmt = (select(InstalledProduct.model, RepairOrder.created_at, RepairOrder.defect_code)
            .join(InstalledProduct, InstalledProduct.id == RepairOrder.product_id)
            .where(RepairOrder.created_at >= since, RepairOrder.created_at < until,
                   RepairOrder.status != RepairStatus.CANCELLED, visible_orders(actor))
            .limit(MAX_ORDERS))
    if model:
        stmt = stmt.where(InstalledProduct.model == model)
    rows = session.execute(stmt).all()
    codes = describe_codes(session, {code for _m, _t, code in rows if code})
    last_day = (until - timedelta(microseconds=1)).astimezone(zone).date()
    result = DefectCounts(months=month_keys(since.astimezone(zone).date(), last_day),
                          models=[], codes=codes, total=len(rows))
    per_model: Counter = Counter()
    per_code: Counter = Counter()
    cells: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for model_name, created_at, code in rows:
        month = created_at.astimezone(zone).strftime("%Y-%m")
        info = codes.get(code or NO_CODE)
        cells[(model_name, month)][info.defect_class if info else "unclassified"] += 1
        per_model[model_name] += 1
        per_code[code or NO_CODE] += 1
    result.models = [m for m, _n in per_model.most_common()]
    result.by_model_month = dict(cells)
    result.by_code = per_code.most_common()
    return result
