"""A repair order with everything a dispatch sheet shows, written straight into the
tables (the sheet only reads them), for the sheet's tests and the browser tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert
from sqlalchemy.orm import Session

from callcenter.customers.models import Address
from callcenter.customers.services import add_contact, create_customer
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.users.models import User
from repairs.models import (
    MovementKind,
    Part,
    RepairOrder,
    RepairOrderHistory,
    RepairStatus,
    Station,
    StationStock,
    StockMovement,
    part_fits,
)
from tickets.models import Ticket

CUSTOMER = "北京华通汽车运输有限公司"


def seed_order(session: Session, actor: User, technician: User, *, settings) -> dict:
    from tickets.services import create_ticket

    customer = create_customer(session, actor, {"name": CUSTOMER, "phones": ["13812345678"]},
                               region="CN")
    session.add(Address(customer_id=customer.id, line="朝阳区建国路88号", city="北京市",
                        province="北京", postcode="100022"))
    contact = add_contact(session, actor, customer, {"name": "张伟", "position": "车队经理",
                                                     "phones": ["13900001111"]}, region="CN")
    product = InstalledProduct(model="HT6120 城市客车", serial_number="LZYTBGCL5K1000001",
                               customer_id=customer.id, warranty_type=WarrantyType.STANDARD,
                               warranty_end=date.today() + timedelta(days=200))
    session.add(product)
    session.flush()
    ticket: Ticket = create_ticket(session, actor, {
        "type": "service_request",
        "subject": "空调不制冷", "description": "空调开启后出风不凉", "customer_id": customer.id,
        "contact_id": contact.id, "installed_product_id": product.id}, settings=settings)
    station = Station(name="北京朝阳维修站", address="北京市朝阳区东三环中路1号",
                      phone="010-85551234", department_id=technician.department_id)
    compressor = Part(sku="AC-CMP-01", name="空调压缩机", unit="台", unit_price=Decimal("2380.00"))
    belt = Part(sku="AC-BLT-02", name="压缩机皮带", unit="条", unit_price=Decimal("86.50"))
    filt = Part(sku="AC-FLT-03", name="空调滤芯", unit="个", unit_price=Decimal("45.00"))
    session.add_all([station, compressor, belt, filt])
    session.flush()
    session.execute(insert(part_fits), [{"part_id": p.id, "model": product.model}
                                        for p in (compressor, belt, filt)])
    session.add(StationStock(station_id=station.id, part_id=belt.id, quantity=9,
                             low_threshold=2))
    order = RepairOrder(
        status=RepairStatus.DISPATCHED, ticket_id=ticket.id, product_id=product.id,
        customer_id=customer.id, reporter_contact_id=contact.id,
        fault_description="空调开启后出风不凉，压缩机有异响。", reported_on=date.today(),
        diagnosis="压缩机皮带磨损，需更换。", station_id=station.id, technician_id=technician.id,
        scheduled_at=datetime.now(UTC).replace(microsecond=0) + timedelta(days=1),
        in_warranty=True, created_by_id=actor.id,
        warranty_basis={"warranty_type": "standard",
                        "warranty_end": product.warranty_end.isoformat(),
                        "reference_date": date.today().isoformat(),
                        "rule": "reported_on <= warranty_end", "outcome": "covered"})
    session.add(order)
    session.flush()
    session.add(StockMovement(station_id=station.id, part_id=belt.id, kind=MovementKind.ISSUE,
                              quantity=-1, balance_after=9, repair_order_id=order.id,
                              unit_price=belt.unit_price, actor_id=actor.id))
    session.add(RepairOrderHistory(order_id=order.id, user_id=actor.id, field="created",
                                   new_value=RepairStatus.DIAGNOSIS.value))
    session.flush()
    return {"order": order.id, "customer": customer.id, "product": product.id,
            "ticket": ticket.id, "station": station.id, "belt": belt.id}

