"""Writing one batch of checked import rows: read what exists, diff, upsert, history.

Per batch and kind: one SELECT of the existing records (with the actor's scope as a
column), one SELECT of their phones, one ``INSERT ... ON CONFLICT (external_id) DO
UPDATE ... RETURNING`` for the new and changed rows, one DELETE + INSERT for changed
phone lists and one INSERT of change records. Unchanged rows cost no write at all,
which keeps a re-import cheap. The same code runs on SQLite and PostgreSQL.

History: a created record gets one "imported" change record; an updated one gets one
record per changed field (old and new value), as an edit in the UI would.
"""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, select, true, update
from sqlalchemy.exc import DBAPIError

from callcenter.core.errors import Problem
from callcenter.customers.models import ChangeRecord, Contact, Customer, Lifecycle, Phone, Tier
from callcenter.customers.name_search import write_name_keys
from callcenter.customers.names import name_key, pinyin_key
from callcenter.db import utcnow
from callcenter.imports.rows import (
    CleanRow,
    ImportContext,
    clean_contact,
    clean_customer,
    clean_product,
)
from callcenter.imports.sql import bulk_insert, key_in
from callcenter.products.models import InstalledProduct, WarrantyType

customers_t = Customer.__table__
contacts_t = Contact.__table__
products_t = InstalledProduct.__table__
phones_t = Phone.__table__
changes_t = ChangeRecord.__table__


@dataclass
class BatchOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: (line, field, message) of rows skipped for reasons found in the database
    errors: list[tuple[int, str, Problem]] = field(default_factory=list)


@dataclass(frozen=True)
class KindSpec:
    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    clean: Callable[[ImportContext, int, dict[str, str]], CleanRow]
    write: Callable[[ImportContext, list[CleanRow]], BatchOutcome]
    #: Which field a database error of a single row was about, and in what words.
    explain: Callable[[DBAPIError], tuple[str, Problem]]


def _upsert(ctx: ImportContext, table, fields: tuple[str, ...], params: list[dict]) -> dict:
    """INSERT ... ON CONFLICT (external_id) DO UPDATE; returns {external_id: id}."""
    return bulk_insert(ctx.session, ctx.dialect, table, params, conflict_set=fields)


def _insert_rows(ctx: ImportContext, table, rows: list[dict]) -> None:
    bulk_insert(ctx.session, ctx.dialect, table, rows)


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _change(ctx, now, customer_id, entity, entity_id, name, old, new) -> dict:
    return {"customer_id": customer_id, "user_id": ctx.actor_id, "changed_at": now,
            "entity": entity, "entity_id": entity_id, "field": name,
            "old_value": _text(old), "new_value": _text(new)}


def _phone_list(phones) -> list[str]:
    """Comparable form of a phone list (labels and typed formats do not count)."""
    out = []
    for p in phones:
        e164, ext = (p["e164"], p["extension"]) if isinstance(p, dict) else (p.e164,
                                                                             p.extension)
        out.append(e164 + (f" x{ext}" if ext else ""))
    return out


def _current_phones(ctx, column, ids) -> dict[int, list]:
    found: dict[int, list] = defaultdict(list)
    if not ids:
        return found
    # Only the key column in SQL, so the planner always takes its index; contacts'
    # numbers are told apart from the customer's own here.
    stmt = select(phones_t.c.id, phones_t.c.customer_id, phones_t.c.contact_id,
                  phones_t.c.e164, phones_t.c.extension).where(key_in(ctx.dialect, column, ids))
    own = column is phones_t.c.customer_id
    for row in ctx.session.execute(stmt.order_by(phones_t.c.id)):
        if own and row.contact_id is not None:
            continue
        found[getattr(row, column.key)].append(row)
    return found


def _delete_phones(ctx, phones: list) -> None:
    """Delete these phone rows by primary key (the ids read before, in the same batch)."""
    if phones:
        ctx.session.execute(delete(phones_t).where(
            key_in(ctx.dialect, phones_t.c.id, [p.id for p in phones])))


def _visible(ctx):
    clause = ctx.visible_clause()
    return (true() if clause is None else clause).label("visible")


def resolve_customers(ctx: ImportContext, refs: set[str]) -> dict[str, int | None]:
    """External id -> id of the customer (the survivor if merged) the actor may see."""
    found: dict[str, int | None] = {}
    rows = ctx.session.execute(
        select(customers_t.c.id, customers_t.c.external_id, customers_t.c.merged_into_id,
               _visible(ctx)).where(key_in(ctx.dialect, customers_t.c.external_id, refs))).all()
    pending = {}
    for r in rows:
        if r.merged_into_id is None:
            found[r.external_id] = r.id if r.visible else None
        else:
            pending[r.external_id] = r.merged_into_id
    for _hop in range(5):  # merges can chain; a few hops is plenty
        if not pending:
            break
        targets = {r.id: r for r in ctx.session.execute(
            select(customers_t.c.id, customers_t.c.merged_into_id, _visible(ctx))
            .where(key_in(ctx.dialect, customers_t.c.id, set(pending.values()))))}
        for ext, target_id in list(pending.items()):
            target = targets.get(target_id)
            if target is None or target.merged_into_id is None:
                found[ext] = target.id if target is not None and target.visible else None
                del pending[ext]
            else:
                pending[ext] = target.merged_into_id
    return found


# --- customers ------------------------------------------------------------------

#: Columns an import sets. The two name keys are derived from the name, and computed
#: only for rows actually written (a re-import of unchanged rows skips that work).
CUSTOMER_FIELDS = ("name", "name_key", "name_pinyin", "tax_id", "region", "industry",
                   "lifecycle", "tier", "email", "notes", "is_placeholder", "responsible_id",
                   "department_id")
CUSTOMER_DEFAULTS = {"tax_id": None, "region": "", "industry": "",
                     "lifecycle": Lifecycle.POTENTIAL, "tier": Tier.ORDINARY, "email": "",
                     "notes": "", "is_placeholder": False}


def _name_keys(name: str) -> dict[str, str]:
    return {"name_key": name_key(name), "name_pinyin": pinyin_key(name)}


def write_customers(ctx: ImportContext, rows: list[CleanRow]) -> BatchOutcome:
    out = BatchOutcome()
    now = utcnow()
    existing = {r.external_id: r for r in ctx.session.execute(
        select(customers_t.c.id, customers_t.c.external_id, customers_t.c.merged_into_id,
               *(customers_t.c[f] for f in CUSTOMER_FIELDS), _visible(ctx))
        .where(key_in(ctx.dialect, customers_t.c.external_id, [row.key for row in rows])))}
    phones = _current_phones(ctx, phones_t.c.customer_id, [r.id for r in existing.values()])
    params, plans = [], []
    for row in rows:
        cur = existing.get(row.key)
        if cur is None:
            full = {**CUSTOMER_DEFAULTS, "responsible_id": ctx.actor_id,
                    "department_id": ctx.actor.department_id if ctx.actor else None,
                    **row.values, **_name_keys(row.values["name"])}
            plans.append((row, None, {}, bool(row.phones)))
        else:
            if not cur.visible:
                out.errors.append((row.line, "external_id",
                                   Problem("import.outside_scope")))
                continue
            if cur.merged_into_id is not None:
                out.errors.append((row.line, "external_id", Problem(
                    "customer.merged_away", {"id": cur.id, "into": cur.merged_into_id})))
                continue
            changes = {f: (cur._mapping[f], v) for f, v in row.values.items()
                       if cur._mapping[f] != v}
            old_phones = _phone_list(phones.get(cur.id, []))
            new_phones = None if row.phones is None else _phone_list(row.phones)
            if new_phones is not None and new_phones != old_phones:
                changes["phones"] = (old_phones, new_phones)
            if not changes:
                out.unchanged += 1
                continue
            full = {f: cur._mapping[f] for f in CUSTOMER_FIELDS} | row.values
            if "name" in changes:
                full |= _name_keys(row.values["name"])
            plans.append((row, cur, changes, "phones" in changes))
        params.append({"external_id": row.key, **full, "created_at": now, "updated_at": now})
    ids = _upsert(ctx, customers_t, (*CUSTOMER_FIELDS, "updated_at"), params)
    write_name_keys(ctx.session, customers={
        ids[row.key]: row.values["name"] for row, cur, changes, _swap in plans
        if cur is None or "name" in changes})
    _delete_phones(ctx, [p for _row, cur, _c, swap in plans if swap and cur is not None
                         for p in phones.get(cur.id, [])])
    new_phones, history = [], []
    for row, cur, changes, swap in plans:
        cid = ids[row.key]
        if swap:
            new_phones.extend({"customer_id": cid, "contact_id": None, "raw": p["raw"],
                               "e164": p["e164"], "extension": p["extension"],
                               "label": p["label"]} for p in row.phones)
        if cur is None:
            out.created += 1
            history.append(_change(ctx, now, cid, "customer", cid, "imported", None,
                                   row.values["name"]))
        else:
            out.updated += 1
            history.extend(_change(ctx, now, cid, "customer", cid, f, old, new)
                           for f, (old, new) in changes.items())
    if new_phones:
        _insert_rows(ctx, phones_t, new_phones)
    if history:
        _insert_rows(ctx, changes_t, history)
    return out


# --- contacts -------------------------------------------------------------------

CONTACT_FIELDS = ("customer_id", "name", "position", "email")


def write_contacts(ctx: ImportContext, rows: list[CleanRow]) -> BatchOutcome:
    out = BatchOutcome()
    now = utcnow()
    customers = resolve_customers(ctx, {row.customer_ref for row in rows})
    existing = {r.external_id: r for r in ctx.session.execute(
        select(contacts_t.c.id, contacts_t.c.external_id,
               *(contacts_t.c[f] for f in CONTACT_FIELDS), _visible(ctx))
        .join(customers_t, customers_t.c.id == contacts_t.c.customer_id)
        .where(key_in(ctx.dialect, contacts_t.c.external_id, [row.key for row in rows])))}
    phones = _current_phones(ctx, phones_t.c.contact_id, [r.id for r in existing.values()])
    params, plans = [], []
    for row in rows:
        customer_id = customers.get(row.customer_ref)
        if customer_id is None:
            out.errors.append((row.line, "customer_external_id",
                               Problem("import.no_customer", {"ref": row.customer_ref})))
            continue
        values = row.values | {"customer_id": customer_id}
        cur = existing.get(row.key)
        if cur is None:
            full = {"position": "", "email": ""} | values
            plans.append((row, None, {}, bool(row.phones)))
        else:
            if not cur.visible:
                out.errors.append((row.line, "external_id",
                                   Problem("import.outside_scope")))
                continue
            changes = {f: (cur._mapping[f], v) for f, v in values.items()
                       if cur._mapping[f] != v}
            old_phones = _phone_list(phones.get(cur.id, []))
            if row.phones is not None and _phone_list(row.phones) != old_phones:
                changes["phones"] = (old_phones, _phone_list(row.phones))
            if not changes:
                out.unchanged += 1
                continue
            full = {f: cur._mapping[f] for f in CONTACT_FIELDS} | values
            plans.append((row, cur, changes, "phones" in changes))
        params.append({"external_id": row.key, **full, "created_at": now})
    ids = _upsert(ctx, contacts_t, CONTACT_FIELDS, params)
    write_name_keys(ctx.session, contacts={
        ids[row.key]: (customers[row.customer_ref], row.values.get("name") or cur.name)
        for row, cur, changes, _swap in plans
        if cur is None or "name" in changes or "customer_id" in changes})
    new_phones, history = [], []
    for row, cur, changes, swap in plans:
        contact_id, customer_id = ids[row.key], customers[row.customer_ref]
        if cur is not None and "customer_id" in changes:
            # The person now calls for another customer: their numbers go with them.
            ctx.session.execute(update(phones_t).where(phones_t.c.contact_id == contact_id)
                                .values(customer_id=customer_id))
            history.append(_change(ctx, now, cur.customer_id, "contact", contact_id,
                                   "customer_id", cur.customer_id, customer_id))
        if swap:
            if cur is not None:
                _delete_phones(ctx, phones.get(cur.id, []))
            new_phones.extend({"customer_id": customer_id, "contact_id": contact_id,
                               "raw": p["raw"], "e164": p["e164"],
                               "extension": p["extension"], "label": p["label"]}
                              for p in row.phones)
        if cur is None:
            out.created += 1
            history.append(_change(ctx, now, customer_id, "contact", contact_id, "imported",
                                   None, row.values["name"]))
        else:
            out.updated += 1
            history.extend(_change(ctx, now, customer_id, "contact", contact_id, f, old, new)
                           for f, (old, new) in changes.items())
    if new_phones:
        _insert_rows(ctx, phones_t, new_phones)
    if history:
        _insert_rows(ctx, changes_t, history)
    return out


# --- installed products -----------------------------------------------------------

PRODUCT_FIELDS = ("serial_number", "model", "customer_id", "warranty_type", "warranty_end",
                  "installed_on")


def write_products(ctx: ImportContext, rows: list[CleanRow]) -> BatchOutcome:
    out = BatchOutcome()
    now = utcnow()
    customers = resolve_customers(ctx, {row.customer_ref for row in rows})
    existing = {r.external_id: r for r in ctx.session.execute(
        select(products_t.c.id, products_t.c.external_id,
               *(products_t.c[f] for f in PRODUCT_FIELDS), _visible(ctx))
        .join(customers_t, customers_t.c.id == products_t.c.customer_id)
        .where(key_in(ctx.dialect, products_t.c.external_id, [row.key for row in rows])))}
    params, plans = [], []
    for row in rows:
        customer_id = customers.get(row.customer_ref)
        if customer_id is None:
            out.errors.append((row.line, "customer_external_id",
                               Problem("import.no_customer", {"ref": row.customer_ref})))
            continue
        values = row.values | {"customer_id": customer_id}
        cur = existing.get(row.key)
        if cur is None:
            full = {"warranty_type": WarrantyType.STANDARD, "warranty_end": None,
                    "installed_on": None} | values
            plans.append((row, None, {}))
        else:
            if not cur.visible:
                out.errors.append((row.line, "external_id",
                                   Problem("import.outside_scope")))
                continue
            changes = {f: (cur._mapping[f], v) for f, v in values.items()
                       if cur._mapping[f] != v}
            if not changes:
                out.unchanged += 1
                continue
            full = {f: cur._mapping[f] for f in PRODUCT_FIELDS} | values
            plans.append((row, cur, changes))
        params.append({"external_id": row.key, **full, "created_at": now})
    ids = _upsert(ctx, products_t, PRODUCT_FIELDS, params)
    history = []
    for row, cur, changes in plans:
        product_id, customer_id = ids[row.key], customers[row.customer_ref]
        if cur is None:
            out.created += 1
            history.append(_change(ctx, now, customer_id, "product", product_id, "imported",
                                   None, row.values["serial_number"]))
            continue
        out.updated += 1
        if "customer_id" in changes:
            # Assigned to another end user (e.g. from a placeholder): both histories say so.
            history.append(_change(ctx, now, cur.customer_id, "product", product_id,
                                   "customer_id", cur.customer_id, customer_id))
        history.extend(_change(ctx, now, customer_id, "product", product_id, f, old, new)
                       for f, (old, new) in changes.items())
    if history:
        _insert_rows(ctx, changes_t, history)
    return out


# --- database errors of single rows ---------------------------------------------------

def _explainer(taken: dict[str, str]):
    """A row's database error as (column, problem); ``taken``: unique column -> the code
    for "already used"."""
    def explain(exc: DBAPIError) -> tuple[str, Problem]:
        text = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        lowered = text.lower()
        for column, taken_code in taken.items():
            if column in lowered and ("unique" in lowered or "duplicate" in lowered):
                return column, Problem(taken_code)
        if "foreign key" in lowered:
            return "", Problem("import.gone")
        return "", Problem("import.db_rejected", {"detail": text[:200]})
    return explain


KINDS: dict[str, KindSpec] = {
    "customers": KindSpec(
        "customers",
        ("external_id", "name", "phones", "tax_id", "region", "industry", "lifecycle",
         "tier", "email", "responsible", "department", "notes", "is_placeholder"),
        ("external_id", "name"),
        clean_customer, write_customers, _explainer({"external_id": "customer.external_id_taken"})),
    "contacts": KindSpec(
        "contacts",
        ("external_id", "customer_external_id", "name", "position", "email", "phones"),
        ("external_id", "customer_external_id", "name"),
        clean_contact, write_contacts, _explainer({"external_id": "contact.external_id_taken"})),
    "products": KindSpec(
        "products",
        ("external_id", "serial_number", "model", "customer_external_id", "warranty_type",
         "warranty_end", "installed_on"),
        ("external_id", "serial_number", "model", "customer_external_id"),
        clean_product, write_products,
        _explainer({"serial_number": "product.taken_race",
                    "external_id": "product.external_id_taken"})),
}
