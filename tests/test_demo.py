"""The demo data: complete, valid, idempotent, and findable by the recorded caller IDs."""

from datetime import date

from sqlalchemy import func, select

from callcenter.customers.models import Contact, Customer, Phone
from callcenter.customers.services import find_customer_by_phone
from callcenter.demo import LOGINS, load_demo
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.users.models import Department, Role, User
from callcenter.users.services import authenticate


def _counts(session):
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (User, Department, Customer, Contact, Phone, InstalledProduct))


def test_demo_loads_once_and_again_adds_nothing(session):
    first = load_demo(session, today=date(2026, 11, 1))
    assert first.users_created == len(LOGINS)
    assert 45 <= first.customers_created <= 60
    counts = _counts(session)
    again = load_demo(session, today=date(2026, 11, 2))
    assert (again.users_created, again.customers_created, again.products_created) == (0, 0, 0)
    assert _counts(session) == counts


def test_every_role_has_a_login_that_works(session):
    load_demo(session)
    assert {Role(login.role) for login in LOGINS} == set(Role)
    for login in LOGINS:
        user = authenticate(session, login.username, login.password)
        assert user is not None and user.role.value == login.role


def test_recorded_caller_ids_find_demo_customers(session):
    load_demo(session)
    vip = find_customer_by_phone(session, "+86 138 1234 5678", region="CN")
    assert vip is not None and vip.external_id == "DEMO-C001" and vip.tier.value == "vip"
    # The landline is shared with a likely duplicate; the older record wins.
    assert find_customer_by_phone(session, "01062345678", region="CN").external_id == "DEMO-C001"
    # A contact's mobile finds the contact's company.
    assert find_customer_by_phone(session, "13811110001", region="CN").external_id == "DEMO-C001"
    assert find_customer_by_phone(session, "15011112222", region="CN").external_id == "DEMO-C002"
    assert find_customer_by_phone(session, "anonymous", region="CN") is None


def test_demo_covers_the_cases_people_look_for(session):
    load_demo(session, today=date(2026, 11, 1))
    placeholder = session.scalar(select(Customer).where(Customer.is_placeholder.is_(True)))
    assert placeholder is not None and len(placeholder.products) >= 2
    person = session.scalar(select(Customer).where(Customer.external_id == "DEMO-C005"))
    assert person.bill_to_id == person.payer_id is not None
    ends = session.execute(select(InstalledProduct.warranty_type,
                                  InstalledProduct.warranty_end)).all()
    today = date(2026, 11, 1)
    assert any(end and end < today for _, end in ends)                   # expired
    assert any(end and 0 <= (end - today).days <= 30 for _, end in ends)   # expiring soon
    assert any(end and (end - today).days > 90 for _, end in ends)        # valid
    assert any(kind == WarrantyType.NONE for kind, _ in ends)
    # Phones are stored as typed and as E.164, in mixed formats.
    raws = list(session.scalars(select(Phone.raw)))
    assert any(r.startswith("+86 ") for r in raws) and any(r.startswith("0086") for r in raws)
    assert all(e.startswith("+") for e in session.scalars(select(Phone.e164)))
    serials = list(session.scalars(select(InstalledProduct.serial_number)))
    assert len(serials) == len(set(serials))


def test_demo_tickets_cover_every_state_once(session, settings):
    from datetime import UTC, datetime

    from tickets.demo import TICKETS, load_demo_tickets
    from tickets.models import SlaState, Ticket, TicketHistory, TicketStatus

    load_demo(session)
    # A Wednesday morning in Beijing: working hours, so the clocks run.
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert load_demo_tickets(session, settings, now=now) == len(TICKETS)
    assert load_demo_tickets(session, settings, now=now) == 0
    tickets = {t.subject: t for t in session.scalars(select(Ticket))}
    assert len(tickets) == len(TICKETS)
    statuses = {t.status for t in tickets.values()}
    assert statuses >= {TicketStatus.NEW, TicketStatus.ASSIGNED, TicketStatus.IN_PROGRESS,
                        TicketStatus.PENDING, TicketStatus.RESOLVED}
    assert tickets["维修后空调仍有异响"].sla_state == SlaState.PAUSED
    for ticket in tickets.values():
        assert ticket.resolution_minutes and ticket.creator_id
        assert session.scalar(select(func.count()).select_from(TicketHistory)
                              .where(TicketHistory.ticket_id == ticket.id)) >= 1
    leads = session.scalars(select(Department).where(Department.parent_id.is_(None),
                                                     Department.lead_id.is_not(None)))
    assert {d.name for d in leads} == {"客服中心", "售后服务"}


def test_demo_repairs_give_each_screen_something_real(session, settings):
    """Stations with stock, parts, today's jobs on both technicians' phones, one order
    for finance to close and a repeat repair, all through the services; loading again
    adds nothing."""
    from datetime import UTC, datetime

    from repairs.demo import ORDERS, PARTS, load_demo_repairs
    from repairs.models import RepairOrder, RepairStatus, StationStock, StockMovement
    from repairs.repeats import repeat_repairs
    from tickets.demo import load_demo_tickets

    load_demo(session)
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    load_demo_tickets(session, settings, now=now)
    assert load_demo_repairs(session, settings, now=now) == len(ORDERS)
    moved = session.scalar(select(func.count()).select_from(StockMovement))
    assert load_demo_repairs(session, settings, now=now) == 0
    assert session.scalar(select(func.count()).select_from(StockMovement)) == moved
    orders = list(session.scalars(select(RepairOrder)))
    assert len(orders) == len(ORDERS)
    by_status = {}
    for order in orders:
        by_status.setdefault(order.status, []).append(order)
    assert len(by_status[RepairStatus.DISPATCHED]) == 3
    assert {o.technician_id for o in by_status[RepairStatus.DISPATCHED]} == {
        u.id for u in session.scalars(select(User).where(User.username.in_(["tech1",
                                                                            "tech2"])))}
    (settled,) = by_status[RepairStatus.SETTLEMENT]
    assert settled.total_amount is not None and settled.settled_at is not None
    (closed,) = by_status[RepairStatus.CLOSED]
    (repeat,) = repeat_repairs(session)
    assert repeat.earlier.id == closed.id and repeat.order.product_id == closed.product_id
    # Opening stock of every part at both stations, less what the repairs drew.
    assert session.scalar(select(func.count()).select_from(StationStock)) == 2 * len(PARTS)
    assert session.scalar(select(func.count()).select_from(StockMovement)
                          .where(StockMovement.repair_order_id.is_not(None))) == 2
