"""Moving repair orders (repairs.transitions) on both backends: every allowed and every
refused jump, who may make which move, what each move needs (a technician, a note, a
reason) and stale versions."""

from __future__ import annotations

import itertools

import pytest
from orders_support import put_in, raise_for

from callcenter.core.errors import PermissionDenied, StaleVersion, ValidationError
from repairs.history import order_history
from repairs.models import InspectionResult, RepairStatus
from repairs.transitions import MOVES, TransitionRefused, move_order

S = RepairStatus
ALLOWED = {(S.DIAGNOSIS, S.DISPATCHED), (S.DISPATCHED, S.REPAIRING),
           (S.REPAIRING, S.INSPECTION), (S.INSPECTION, S.SETTLEMENT),
           (S.INSPECTION, S.REPAIRING), (S.SETTLEMENT, S.CLOSED),
           (S.DIAGNOSIS, S.CANCELLED), (S.DISPATCHED, S.CANCELLED),
           (S.REPAIRING, S.CANCELLED), (S.INSPECTION, S.CANCELLED),
           (S.DISPATCHED, S.DISPATCHED), (S.REPAIRING, S.DISPATCHED)}  # re-dispatch


@pytest.fixture
def admin(make_user):
    return make_user("admin", scope="all")


@pytest.fixture
def tech(make_user):
    return make_user("technician", scope="own")


def test_the_table_is_the_issues_state_machine():
    assert {(a, b) for a, tos in MOVES.items() for b in tos} == ALLOWED


def _extra(old, to, tech):
    if to == S.DISPATCHED:
        return {"technician_id": tech.id}
    if to == S.CANCELLED or (old, to) == (S.INSPECTION, S.REPAIRING):
        return {"note": "because"}
    return {}


@pytest.mark.parametrize(("old", "to"), list(itertools.product(S, S)),
                         ids=lambda s: s.value)
def test_every_jump(session, admin, tech, settings, old, to):
    order = put_in(session, raise_for(session, admin, settings), old)
    if (old, to) in ALLOWED:
        if old == to == S.DISPATCHED:   # a re-dispatch to the same technician: a new time
            order.technician_id = tech.id
        move_order(session, admin, order, to=to, version=1, settings=settings,
                   **_extra(old, to, tech))
        assert order.status == to and order.version == 2
        row = [h for h in order_history(session, order.id) if h.field == "status"][-1]
        assert (row.old_value, row.new_value) == (old.value, to.value)
    else:
        with pytest.raises(TransitionRefused) as exc:
            move_order(session, admin, order, to=to, version=1, settings=settings,
                       **_extra(old, to, tech))
        assert exc.value.errors["to"].code == "repair.transition_refused"
        assert dict(exc.value.errors["to"].params) == {"from": old.value, "to": to.value}
        assert order.status == old and order.version == 1


def test_the_whole_way_with_a_failed_inspection(session, admin, tech, settings, make_user):
    order = raise_for(session, admin, settings)
    v = 1
    for to, extra in ((S.DISPATCHED, {"technician_id": tech.id}), (S.REPAIRING, {}),
                      (S.INSPECTION, {}), (S.REPAIRING, {"note": "still leaks"}),
                      (S.INSPECTION, {}), (S.SETTLEMENT, {}), (S.CLOSED, {})):
        actor = tech if to in (S.REPAIRING, S.INSPECTION) and "note" not in extra else admin
        move_order(session, actor, order, to=to, version=v, settings=settings, **extra)
        v += 1
    assert order.status == S.CLOSED and order.version == v and order.closed_at is not None
    assert order.technician_id == tech.id and order.inspector_id == admin.id
    assert order.inspection_result == InspectionResult.PASS
    assert order.settled_at is not None and order.total_amount is not None
    notes = [h.note for h in order_history(session, order.id) if h.field == "status"]
    assert "still leaks" in notes


def test_dispatch_needs_the_permission_and_an_active_technician(session, admin, tech,
                                                                make_user, settings):
    order = raise_for(session, admin, settings)
    with pytest.raises(PermissionDenied):
        move_order(session, tech, order, to=S.DISPATCHED, version=1, technician_id=tech.id,
                   settings=settings)
    with pytest.raises(ValidationError) as exc:
        move_order(session, admin, order, to=S.DISPATCHED, version=1, settings=settings)
    assert exc.value.errors["technician_id"].code == "required"
    agent = make_user("agent")
    for who in (agent.id, 999999):
        with pytest.raises(ValidationError) as exc:
            move_order(session, admin, order, to=S.DISPATCHED, version=1,
                       technician_id=who, settings=settings)
        assert exc.value.errors["technician_id"].code == "repair.technician_unknown"
    tech.active = False
    session.flush()
    with pytest.raises(ValidationError):
        move_order(session, admin, order, to=S.DISPATCHED, version=1,
                   technician_id=tech.id, settings=settings)
    with pytest.raises(ValidationError) as exc:
        move_order(session, admin, order, to=S.DISPATCHED, version=1,
                   technician_id=tech.id, station_id=424242, settings=settings)
    assert order.status == S.DIAGNOSIS and order.version == 1


def test_a_technician_given_outside_dispatch_is_refused(session, admin, tech, settings):
    order = put_in(session, raise_for(session, admin, settings), S.DISPATCHED)
    with pytest.raises(ValidationError) as exc:
        move_order(session, admin, order, to=S.REPAIRING, version=1, technician_id=tech.id,
                   settings=settings)
    assert exc.value.errors["technician_id"].code == "repair.only_when_dispatching"


def test_inspection_and_closing_need_their_permissions(session, admin, tech, make_user,
                                                       settings):
    agent = make_user("agent", scope="all")
    order = put_in(session, raise_for(session, admin, settings), S.INSPECTION)
    for who in (tech, agent):
        for to, note in ((S.SETTLEMENT, ""), (S.REPAIRING, "bad")):
            with pytest.raises(PermissionDenied):
                move_order(session, who, order, to=to, version=1, note=note,
                           settings=settings)
    put_in(session, order, S.SETTLEMENT)
    with pytest.raises(PermissionDenied):
        move_order(session, tech, order, to=S.CLOSED, version=1, settings=settings)
    move_order(session, admin, order, to=S.CLOSED, version=1, settings=settings)


def test_finance_closes_settled_orders_and_does_nothing_else(session, admin, tech,
                                                            make_user, settings):
    """After-sales finance (repair.settle without repair.write) closes a settled order,
    and no other move: not cancelling, dispatching, inspecting nor working one."""
    finance = make_user("finance", scope="all")
    order = raise_for(session, admin, settings)
    for to, extra in ((S.CANCELLED, {"note": "no"}),
                      (S.DISPATCHED, {"technician_id": tech.id})):
        with pytest.raises(PermissionDenied):
            move_order(session, finance, order, to=to, version=1, settings=settings,
                       **extra)
    put_in(session, order, S.INSPECTION)
    with pytest.raises(PermissionDenied):
        move_order(session, finance, order, to=S.SETTLEMENT, version=1, settings=settings)
    put_in(session, order, S.SETTLEMENT)
    move_order(session, finance, order, to=S.CLOSED, version=1, settings=settings)
    assert order.status == S.CLOSED and order.closed_at is not None
    row = [h for h in order_history(session, order.id) if h.field == "status"][-1]
    assert (row.user_id, row.new_value) == (finance.id, "closed")


def test_re_dispatch_hands_the_job_on_and_keeps_its_work(session, admin, tech, make_user,
                                                         settings):
    other = make_user("technician", scope="own")
    order = raise_for(session, admin, settings)
    move_order(session, admin, order, to=S.DISPATCHED, version=1, technician_id=tech.id,
               settings=settings)
    move_order(session, tech, order, to=S.REPAIRING, version=2, settings=settings)
    order.findings = "Pump seized"
    session.flush()
    # The technician who has it may not hand it on: dispatching is the dispatcher's.
    with pytest.raises(PermissionDenied):
        move_order(session, tech, order, to=S.DISPATCHED, version=3,
                   technician_id=other.id, settings=settings)
    with pytest.raises(ValidationError) as exc:
        move_order(session, admin, order, to=S.DISPATCHED, version=3, settings=settings)
    assert exc.value.errors["technician_id"].code == "required"
    move_order(session, admin, order, to=S.DISPATCHED, version=3, technician_id=other.id,
               note="Liu is ill", settings=settings)
    assert (order.status, order.technician_id, order.findings) == \
        (S.DISPATCHED, other.id, "Pump seized")
    rows = order_history(session, order.id)
    handed = [h for h in rows if h.field == "technician_id"][-1]
    assert (handed.old_value, handed.new_value) == (str(tech.id), str(other.id))
    status = [h for h in rows if h.field == "status"][-1]
    assert (status.old_value, status.new_value, status.note) == \
        ("repairing", "dispatched", "Liu is ill")


def test_a_failed_inspection_needs_a_note_and_cancel_a_reason(session, admin, settings):
    order = put_in(session, raise_for(session, admin, settings), S.INSPECTION)
    with pytest.raises(ValidationError) as exc:
        move_order(session, admin, order, to=S.REPAIRING, version=1, note="  ",
                   settings=settings)
    assert exc.value.errors["note"].code == "repair.note_required"
    with pytest.raises(ValidationError) as exc:
        move_order(session, admin, order, to=S.CANCELLED, version=1, settings=settings)
    assert exc.value.errors["note"].code == "repair.reason_required"
    move_order(session, admin, order, to=S.CANCELLED, version=1,
               note="Customer bought a new one", settings=settings)
    assert order.cancel_reason == "Customer bought a new one"
    assert order.status == S.CANCELLED


def test_a_stale_version_changes_nothing(session, admin, tech, settings):
    order = raise_for(session, admin, settings)
    with pytest.raises(StaleVersion) as exc:
        move_order(session, admin, order, to=S.DISPATCHED, version=3,
                   technician_id=tech.id, settings=settings)
    assert exc.value.code == "repair.stale_version" and exc.value.current_version == 1
    assert order.status == S.DIAGNOSIS


@pytest.mark.parametrize(("to", "note", "code"), [
    ("nowhere", "", "choice"), ("cancelled", "x" * 2001, "too_long"),
    ("cancelled", "a\x00b", "control_chars")])
def test_bad_input(session, admin, settings, to, note, code):
    order = raise_for(session, admin, settings)
    with pytest.raises(ValidationError) as exc:
        move_order(session, admin, order, to=to, version=1, note=note, settings=settings)
    assert next(iter(exc.value.errors.values())).code == code
