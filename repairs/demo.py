"""Demo repairs for the quick start: two service stations with stock, a parts catalogue,
and repair orders of the demo tickets in the states people meet first: today's jobs on
the technicians' phones (tech1, tech2), one waiting for finance to close, and a repeat
repair (返修) of a bus repaired a week ago. Made through the domain's own services, so
warranty decisions, stock movements, settlement and history are real.

Idempotent: stations are known by name, parts by SKU and orders by their fault text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.db import utcnow
from callcenter.users.models import Department, User
from repairs import stock
from repairs.models import Part, RepairOrder, Station
from repairs.orders import raise_repair_order, record_work
from repairs.parts import create_part
from repairs.stations import create_station
from repairs.transitions import move_order
from tickets.models import Ticket

#: name -> (department path, address, phone)
STATIONS = {
    "北京维修站": ("售后服务/北京维修站", "北京市朝阳区东三环中路1号", "010-8555 1234"),
    "广州维修站": ("售后服务/广州维修站", "广州市天河区天河路385号", "020-3888 1000"),
}
#: sku -> (name, unit, price, models it fits, stock in Beijing, in Guangzhou, low at)
PARTS = {
    "DR-PMP-01": ("车门气泵", "个", "680.00", ("HT6120 城市客车", "HT6800 中巴"), 4, 2, 2),
    "AC-BLT-02": ("压缩机皮带", "条", "86.50", ("HT6120 城市客车", "KX-200 空调机组"), 12, 6, 3),
    "AC-CMP-01": ("空调压缩机", "台", "2380.00", ("KX-200 空调机组", "AC-35 变频空调"), 2, 1, 1),
    "GX-FLT-05": ("柴油滤清器", "个", "45.00", ("GX-9 发电机组",), 20, 10, 5),
    "RF-SNS-07": ("冷机温度传感器", "个", "158.00", ("KX-200 空调机组",), 1, 3, 2),
}


@dataclass(frozen=True)
class DemoOrder:
    ticket: str          # the demo ticket's subject
    fault: str
    technician: str      # a demo username
    station: str
    #: "today" (dispatched for later today), "settlement" or "closed_week_ago"
    stage: str
    hours_from_now: float = 1.0
    parts: tuple[tuple[str, int], ...] = ()
    #: The diagnosis's defect code (the knowledge base's taxonomy, kb/demo_content.py).
    code: str = ""


ORDERS = (
    DemoOrder("维修后空调仍有异响", "空调压缩机异响，皮带打滑。", "tech1", "北京维修站",
              "closed_week_ago", parts=(("AC-BLT-02", 1),), code="AC-CMP-NOISE"),
    DemoOrder("车门无法关闭，车辆停运", "前门气泵不工作，车门无法关闭。", "tech1", "北京维修站",
              "today", 1.5, code="BUS-DOOR-PUMP"),
    DemoOrder("维修后空调仍有异响", "上周更换皮带后压缩机仍有异响（返修）。", "tech1",
              "北京维修站", "today", 3.0, code="SVC-REPEAT"),
    DemoOrder("Reefer unit not cooling", "Unit 3 holds 12 °C instead of 2 °C.", "tech2",
              "广州维修站", "today", 2.0),
    DemoOrder("Reefer unit not cooling", "Temperature sensor replaced on unit 1.", "tech2",
              "广州维修站", "settlement", parts=(("RF-SNS-07", 1),), code="AC-SNS-DRIFT"),
)


def _stations(session: Session, admin: User) -> dict[str, Station]:
    out = {s.name: s for s in session.scalars(select(Station))}
    for name, (path, address, phone) in STATIONS.items():
        if name in out:
            continue
        top, _, leaf = path.partition("/")
        parent = session.scalar(select(Department).where(Department.name == top,
                                                         Department.parent_id.is_(None)))
        department = parent and session.scalar(select(Department).where(
            Department.name == leaf, Department.parent_id == parent.id))
        out[name] = create_station(session, admin, {
            "name": name, "department_id": department.id if department else None,
            "address": address, "phone": phone})
    return out


def _parts(session: Session, admin: User, stations: dict[str, Station]) -> dict[str, Part]:
    out = {p.sku: p for p in session.scalars(select(Part))}
    beijing, guangzhou = stations["北京维修站"], stations["广州维修站"]
    for sku, (name, unit, price, fits, in_bj, in_gz, low) in PARTS.items():
        if sku in out:
            continue
        part = out[sku] = create_part(session, admin, {"sku": sku, "name": name, "unit": unit,
                                                       "unit_price": price,
                                                       "fits": list(fits)})
        for station, quantity in ((beijing, in_bj), (guangzhou, in_gz)):
            stock.receive(session, admin, station_id=station.id, part_id=part.id,
                          quantity=quantity, reason="期初库存 opening stock")
            stock.set_low_threshold(session, admin, station_id=station.id,
                                    part_id=part.id, low_threshold=low)
    return out


def _walk(session: Session, admin: User, order: RepairOrder, tech: User, station: Station,
          demo: DemoOrder, parts: dict[str, Part], settings: Settings, at: datetime) -> None:
    """Moves the order to its demo stage, ``at`` being when it was raised."""
    def move(to: str, when: datetime, **extra) -> None:
        move_order(session, extra.pop("actor", admin), order, to=to, version=order.version,
                   settings=settings, now=when, **extra)

    if demo.code:
        record_work(session, admin, order, version=order.version, defect_code=demo.code,
                    now=at + timedelta(minutes=5))
    scheduled = at + timedelta(hours=demo.hours_from_now) if demo.stage == "today" \
        else at + timedelta(hours=2)
    move("dispatched", at + timedelta(minutes=10), technician_id=tech.id,
         station_id=station.id, scheduled_at=scheduled)
    if demo.stage == "today":
        return
    move("repairing", scheduled, actor=tech)
    for sku, quantity in demo.parts:
        stock.issue_to_order(session, tech, order, station_id=station.id,
                             part_id=parts[sku].id, quantity=quantity)
    record_work(session, tech, order, version=order.version, findings=demo.fault,
                labour_hours="1.5", now=scheduled + timedelta(minutes=50))
    move("inspection", scheduled + timedelta(hours=1), actor=tech)
    move("settlement", scheduled + timedelta(hours=2), note="验收合格 passed")
    if demo.stage == "closed_week_ago":
        move("closed", scheduled + timedelta(hours=3))


def load_demo_repairs(session: Session, settings: Settings, *,
                      now: datetime | None = None) -> int:
    """Add the demo stations, parts, stock and repair orders not there yet; returns how
    many orders were added. Flushes; the caller commits."""
    now = (now or utcnow()).replace(second=0, microsecond=0)
    users = {u.username: u for u in session.scalars(select(User))}
    admin = users.get("admin")
    if admin is None:
        return 0
    stations = _stations(session, admin)
    parts = _parts(session, admin, stations)
    existing = set(session.scalars(select(RepairOrder.fault_description)))
    created = 0
    for demo in ORDERS:
        ticket = session.scalar(select(Ticket).where(Ticket.subject == demo.ticket))
        tech = users.get(demo.technician)
        if demo.fault in existing or ticket is None or tech is None \
                or ticket.installed_product_id is None:
            continue
        at = now - timedelta(days=8) if demo.stage == "closed_week_ago" \
            else now - timedelta(hours=1)
        order = raise_repair_order(session, admin, ticket_id=ticket.id,
                                   product_id=ticket.installed_product_id,
                                   fault_description=demo.fault, settings=settings, now=at)
        _walk(session, admin, order, tech, stations[demo.station], demo, parts, settings, at)
        created += 1
    session.flush()
    return created
