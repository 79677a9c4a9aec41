"""The technician's phone sends what it did (offline too) as changes, one per request.

A change: ``{"key", "order_id", "version", "kind", "data"}``. ``key`` is made on the
phone (``crypto.randomUUID()``) when the change is made, and sent unchanged however often
the phone retries; ``version`` is the order's version the change was made on. Kinds:

* ``findings`` ``{"findings"}``: what the technician found (``repairs.orders.record_work``);
* ``move`` ``{"to", "note"?}``: the next state (``repairs.transitions.move_order``);
* ``part`` ``{"part_id", "quantity"}``: parts drawn from the order's station for it
  (``repairs.stock.issue_to_order``, the change's key as the movement's key);
* ``photo`` ``{"name", "data"}`` and ``signature`` ``{"data"}``: an image as a data URL,
  kept by the kernel's attachment store (``tickets.attachments``) on the order's service
  request; a signature's stored name goes into ``RepairOrder.signature_path``.

``findings`` and ``move`` overwrite what the office may have changed, so a stale
``version`` is a conflict (409) carrying both values; parts, photos and signatures only
add, so they are applied whatever the version.

Idempotency: the ``SyncedChange`` row for the key is inserted *first* (``INSERT ... ON
CONFLICT DO NOTHING``), and the answer written into it in the same transaction as the
change's effect, which runs in a savepoint (an error undoes the effect, and the refusal
is the stored answer). A second request with the key (a retry; or a concurrent one,
which waits on the unique key until the first commits) finds the row and gets the stored
answer: one effect, same answer.
Only the technician the order is dispatched to, or a supervisor, may sync changes to it;
for anyone else the order is not found.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.core.errors import AppError, Problem, StaleVersion, ValidationError
from callcenter.core.messages import error_message
from callcenter.core.versions import claim
from callcenter.db import utcnow
from callcenter.users.models import Role, User
from repairs import history
from repairs.models import Part, RepairOrder, RepairStatus, SyncedChange
from repairs.orders import STALE, record_work
from repairs.queries import RepairOrderNotFound, get_order
from repairs.stock import KEY_PATTERN, issue_to_order
from repairs.transitions import move_order

KINDS = ("findings", "move", "part", "photo", "signature")
#: Kinds that overwrite a value the office may also change: checked against ``version``.
VERSIONED = ("findings", "move")
#: States a technician moves an order to from the phone.
TECH_MOVES = ("repairing", "inspection")
#: Parts are drawn while the repair is under way (as the repair-order API has it).
PARTS_STATES = (RepairStatus.DIAGNOSIS, RepairStatus.DISPATCHED, RepairStatus.REPAIRING)
#: Keys as the stock movements take them (the key of a ``part`` change is its movement's).
_KEY = re.compile(KEY_PATTERN)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def order_state(order: RepairOrder) -> dict[str, Any]:
    """What the phone keeps of an order after a change, and shows in a conflict."""
    return {"id": order.id, "version": order.version, "status": order.status.value,
            "findings": order.findings or "",
            "signed": bool(order.signature_path)}


def may_sync(actor: User, order: RepairOrder) -> bool:
    return order.technician_id == actor.id or actor.role in (Role.SUPERVISOR, Role.ADMIN)


def _check(change: dict[str, Any]) -> None:
    errors: dict[str, Problem] = {}
    key = change.get("key")
    if not isinstance(key, str) or len(key) < 8 or not _KEY.match(key):
        errors["key"] = Problem("tech.bad_key")
    if change.get("kind") not in KINDS:
        errors["kind"] = Problem("tech.bad_kind", {"kinds": ", ".join(KINDS)})
    version = change.get("version")
    if type(version) is not int or version < 1:
        errors["version"] = Problem("whole_number", {"min": 1, "max": 2**31 - 1})
    if not isinstance(change.get("data"), dict):
        errors["data"] = Problem("required")
    if errors:
        raise ValidationError(errors)


def sync_change(session: Session, actor: User, change: dict[str, Any], *,
                settings: Settings) -> Answer:
    """Apply one change once; the same key again gives the stored answer."""
    _check(change)
    key = change["key"]
    stored = session.get(SyncedChange, key)
    if stored is not None:
        return _replay(stored, actor)
    # The key is claimed first (INSERT ... ON CONFLICT DO NOTHING): a concurrent request
    # with it waits for this one's commit (PostgreSQL's unique index, SQLite's write
    # lock), then inserts nothing and answers what this one stored.
    table = SyncedChange.__table__
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    claimed = session.execute(
        insert.values(key=key, user_id=actor.id, order_id=None, status_code=0, response={},
                      created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[table.c.key]).returning(table.c.key)
    ).scalar()
    if claimed is None:
        stored = session.get(SyncedChange, key, populate_existing=True)
        return _replay(stored, actor)
    answer = _apply(session, actor, change, settings)
    session.execute(update(table).where(table.c.key == key).values(
        order_id=answer.body.get("order", {}).get("id"), status_code=answer.status,
        response=answer.body))
    return answer


def _replay(stored: SyncedChange, actor: User) -> Answer:
    if stored.user_id != actor.id:
        # Keys are random: someone else's key is a client bug, never their answer.
        raise ValidationError({"key": Problem("tech.key_reused")})
    return Answer(stored.status_code, {**stored.response, "replayed": True})


def _apply(session: Session, actor: User, change: dict[str, Any],
           settings: Settings) -> Answer:
    """The change's effect in a savepoint: an error undoes it and becomes the answer."""
    order_id, kind, data = change.get("order_id"), change["kind"], change["data"]
    try:
        with session.begin_nested():
            order = get_order(session, actor, order_id, for_update=True)
            if not may_sync(actor, order):
                raise RepairOrderNotFound(order_id)
            before = order.version
            if kind in VERSIONED and change["version"] != order.version:
                raise StaleVersion("tech.changed_meanwhile", current_version=order.version)
            HANDLERS[kind](session, actor, order, change, settings)
            session.flush()
            return Answer(200, {"ok": True, "key": change["key"], "kind": kind,
                                "version_before": before, "order": order_state(order)})
    except StaleVersion as exc:
        session.expire_all()
        order = get_order(session, actor, order_id)
        return Answer(409, {"ok": False, "key": change["key"], "kind": kind,
                            "error": {"status": 409, "code": "tech.changed_meanwhile",
                                      "message": error_message(exc)},
                            "current_version": order.version,
                            "conflict": _conflict(order, kind, data, change["version"]),
                            "order": order_state(order)})
    except RepairOrderNotFound:
        raise  # not stored: the same answer whatever the key, no probing by key
    except ValidationError as exc:
        from callcenter.api import problems_json
        return Answer(422, {"ok": False, "key": change["key"], "kind": kind,
                            "error": {"status": 422, "code": exc.code,
                                      "message": error_message(exc),
                                      "problems": problems_json(exc)}})
    except AppError as exc:
        return Answer(exc.status, {"ok": False, "key": change["key"], "kind": kind,
                                   "error": {"status": exc.status, "code": exc.code,
                                             "message": error_message(exc)}})


def _conflict(order: RepairOrder, kind: str, data: dict[str, Any],
              version: int) -> dict[str, Any]:
    """Both values, for the phone to show: mine (what it sent) and theirs (the office's)."""
    if kind == "findings":
        return {"field": "findings", "mine": data.get("findings", ""),
                "theirs": order.findings or "", "my_version": version}
    return {"field": "status", "mine": data.get("to"), "theirs": order.status.value,
            "my_version": version}


# --- the kinds ----------------------------------------------------------------------

def _text(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ValidationError({name: Problem("required")})
    if len(value) > limit:
        raise ValidationError({name: Problem("too_long", {"max": limit})})
    return value


def _findings(session, actor, order, change, settings) -> None:
    record_work(session, actor, order, version=change["version"],
                findings=_text(change["data"], "findings", 10_000))


def _move(session, actor, order, change, settings) -> None:
    to = change["data"].get("to")
    if to not in TECH_MOVES:
        raise ValidationError({"to": Problem("tech.bad_move", {"to": str(to)[:40]})})
    note = change["data"].get("note") or ""
    move_order(session, actor, order, to=to, version=change["version"],
               note=_text({"note": note}, "note", 2000), settings=settings)


def _part(session, actor, order, change, settings) -> None:
    data = change["data"]
    part_id, quantity = data.get("part_id"), data.get("quantity")
    if type(part_id) is not int or part_id < 1:
        raise ValidationError({"part_id": Problem("required")})
    if type(quantity) is not int or not 1 <= quantity <= 1000:
        raise ValidationError({"quantity": Problem("whole_number", {"min": 1, "max": 1000})})
    if order.station_id is None:
        raise ValidationError({"station_id": Problem("tech.no_station")})
    if order.status not in PARTS_STATES:  # as the repair-order API has it
        raise ValidationError({"status": Problem("repair.parts_closed",
                                                 {"status": order.status.value})})
    movement = issue_to_order(session, actor, order, station_id=order.station_id,
                              part_id=part_id, quantity=quantity,
                              idempotency_key=change["key"], settings=settings)
    part = session.get(Part, part_id)
    _history(session, actor, order, "part_issued", None,
             f"{part.sku} × {-movement.quantity}")


def _image(data: dict[str, Any]) -> bytes:
    value = data.get("data")
    if not isinstance(value, str) or not value.startswith("data:image/"):
        raise ValidationError({"data": Problem("tech.not_an_image")})
    try:
        return base64.b64decode(value.split(",", 1)[1], validate=True)
    except (IndexError, binascii.Error, ValueError):
        raise ValidationError({"data": Problem("tech.not_an_image")}) from None


def _attach(session, actor, order, filename: str, raw: bytes, settings):
    """Kept by the kernel's attachment store, on the order's service request."""
    from tickets.attachments import Upload, add_attachment
    from tickets.models import Ticket
    ticket = session.get(Ticket, order.ticket_id)
    return add_attachment(session, actor, ticket, Upload(filename, io.BytesIO(raw)),
                          settings=settings)


def _history(session, actor, order, field: str, old, new) -> None:
    history.record(session, order.id, actor, field, old, new)


def _photo(session, actor, order, change, settings) -> None:
    raw = _image(change["data"])
    name = str(change["data"].get("name") or "photo.jpg")[:100]
    row = _attach(session, actor, order, name, raw, settings)
    _history(session, actor, order, "photo", None, row.filename)


def _signature(session, actor, order, change, settings) -> None:
    raw = _image(change["data"])
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValidationError({"data": Problem("tech.not_an_image")})
    row = _attach(session, actor, order, f"signature-{order.id}.png", raw, settings)
    old = order.signature_path
    order.signature_path = f"attachments/{row.stored_name}"
    claim(session, order, None, STALE)  # not compared: a signature overwrites nothing
    order.updated_at = utcnow()
    _history(session, actor, order, "signature", old, row.filename)


HANDLERS: dict[str, Callable[..., None]] = {
    "findings": _findings, "move": _move, "part": _part, "photo": _photo,
    "signature": _signature,
}
