"""A repair order's charges: labour plus parts, who pays, and the invoice-ready summary.

* **Labour**: a service type with a flat fee (``REPAIR_FLAT_FEES``) is charged that fee;
  otherwise labour hours x ``REPAIR_LABOUR_RATE`` (no hours: 0).
* **Parts**: the parts the order used, at the price they were issued at
  (``repairs.stock.parts_on_order``, issued net of returns).
* **In warranty** nothing is payable by the customer: the total is booked to warranty.
  Otherwise the customer pays the total.
* **Bill-to and payer** follow the order customer's master data (``bill_to_id`` /
  ``payer_id``; NULL means the customer itself) until the order enters settlement.

Until then everything is computed live. When the order enters settlement (inspection
passed: ``repairs.transitions``) ``freeze`` stores the rate or fee used, the amounts,
bill-to and payer on the order; from then on the summary is read from those columns,
whatever happens to the rate, the customer's master data or the part prices.

Amounts are ``Decimal``, never floats, quantized to 0.01 with ROUND_HALF_UP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.customers.models import Customer
from callcenter.db import utcnow
from repairs.models import RepairOrder
from repairs.stock import PartLine, parts_on_order

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal | int | str) -> Decimal:
    """An amount rounded to the cent, half up (2.345 -> 2.35)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    """One invoice line: labour or a part."""

    kind: str                 # "labour" or "part"
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    part_id: int | None = None
    sku: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description,
                "quantity": str(self.quantity), "unit": self.unit,
                "unit_price": str(self.unit_price), "amount": str(self.amount),
                "part_id": self.part_id, "sku": self.sku}


@dataclass(frozen=True)
class Summary:
    """The invoice-ready summary of a repair order's charges."""

    order_id: int
    in_warranty: bool
    labour: Decimal
    parts: Decimal
    total: Decimal
    payable_by_customer: Decimal
    booked_to_warranty: Decimal
    labour_basis: str          # "flat_fee", "hours" or "none"
    labour_hours: Decimal | None
    labour_rate: Decimal | None
    labour_flat_fee: Decimal | None
    service_type: str | None
    customer_id: int
    bill_to_id: int
    payer_id: int
    frozen: bool
    settled_at: datetime | None
    lines: list[Line] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Amounts as decimal strings ("12.50"), as the API writes them."""
        def text(v):
            return None if v is None else str(v)
        return {
            "labour": text(self.labour), "parts": text(self.parts),
            "total": text(self.total), "payable_by_customer": text(self.payable_by_customer),
            "booked_to_warranty": text(self.booked_to_warranty),
            "in_warranty": self.in_warranty, "labour_basis": self.labour_basis,
            "labour_hours": text(self.labour_hours), "labour_rate": text(self.labour_rate),
            "labour_flat_fee": text(self.labour_flat_fee), "service_type": self.service_type,
            "customer_id": self.customer_id, "bill_to_id": self.bill_to_id,
            "payer_id": self.payer_id, "frozen": self.frozen,
            "settled_at": self.settled_at.isoformat() if self.settled_at else None,
            "lines": [line.as_dict() for line in self.lines],
        }


def partners(session: Session, customer_id: int) -> tuple[int, int]:
    """(bill-to, payer) from the customer's master data now (the customer itself when
    the partner function is not set)."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return customer_id, customer_id
    return customer.bill_to_id or customer.id, customer.payer_id or customer.id


def labour_of(order: RepairOrder, settings: Settings) -> tuple[str, Decimal, Decimal | None,
                                                               Decimal | None]:
    """(basis, amount, rate used, flat fee used) under the current settings."""
    fees = dict(settings.repair_flat_fees)
    if order.service_type and order.service_type in fees:
        fee = cents(fees[order.service_type])
        return "flat_fee", fee, None, fee
    if order.labour_hours is not None:
        rate = cents(settings.repair_labour_rate)
        return "hours", cents(Decimal(order.labour_hours) * rate), rate, None
    return "none", ZERO, None, None


def _part_lines(parts: list[PartLine]) -> list[Line]:
    return [Line(kind="part", description=p.name, quantity=Decimal(p.quantity), unit=p.unit,
                 unit_price=cents(p.unit_price), amount=cents(p.amount), part_id=p.part_id,
                 sku=p.sku) for p in parts]


def _labour_line(basis: str, amount: Decimal, hours: Decimal | None, rate: Decimal | None,
                 fee: Decimal | None, service_type: str | None) -> list[Line]:
    if basis == "flat_fee":
        return [Line(kind="labour", description=f"labour: {service_type} (flat fee)",
                     quantity=Decimal(1), unit="job", unit_price=fee, amount=amount)]
    if basis == "hours":
        return [Line(kind="labour", description="labour", quantity=Decimal(hours),
                     unit="h", unit_price=rate, amount=amount)]
    return []


def summary(session: Session, order: RepairOrder, settings: Settings, *,
            parts: list[PartLine] | None = None) -> Summary:
    """The order's charges: frozen ones once it reached settlement, else computed now.
    ``parts``: the order's ``parts_on_order``, when the caller has read them already."""
    parts = parts_on_order(session, order.id) if parts is None else parts
    lines = _part_lines(parts)
    if order.settled_at is not None and order.total_amount is not None:
        basis = "flat_fee" if order.labour_flat_fee is not None else (
            "hours" if order.labour_rate is not None else "none")
        labour_lines = _labour_line(basis, cents(order.labour_amount), order.labour_hours,
                                    order.labour_rate, order.labour_flat_fee,
                                    order.service_type)
        total = cents(order.total_amount)
        payable = cents(order.payable_by_customer)
        return Summary(order_id=order.id, in_warranty=order.in_warranty,
                       labour=cents(order.labour_amount), parts=cents(order.parts_amount),
                       total=total, payable_by_customer=payable,
                       booked_to_warranty=total - payable, labour_basis=basis,
                       labour_hours=order.labour_hours, labour_rate=order.labour_rate,
                       labour_flat_fee=order.labour_flat_fee,
                       service_type=order.service_type, customer_id=order.customer_id,
                       bill_to_id=order.bill_to_id or order.customer_id,
                       payer_id=order.payer_id or order.customer_id, frozen=True,
                       settled_at=order.settled_at, lines=labour_lines + lines)
    basis, labour, rate, fee = labour_of(order, settings)
    parts_amount = cents(sum((line.amount for line in lines), ZERO))
    total = cents(labour + parts_amount)
    payable = ZERO if order.in_warranty else total
    bill_to, payer = partners(session, order.customer_id)
    return Summary(order_id=order.id, in_warranty=order.in_warranty, labour=labour,
                   parts=parts_amount, total=total, payable_by_customer=payable,
                   booked_to_warranty=total - payable, labour_basis=basis,
                   labour_hours=order.labour_hours, labour_rate=rate, labour_flat_fee=fee,
                   service_type=order.service_type, customer_id=order.customer_id,
                   bill_to_id=bill_to, payer_id=payer, frozen=False, settled_at=None,
                   lines=_labour_line(basis, labour, order.labour_hours, rate, fee,
                                      order.service_type) + lines)


def freeze(session: Session, order: RepairOrder, settings: Settings, *,
           now: datetime | None = None) -> Summary:
    """Store the charges, bill-to and payer on the order (it is entering settlement);
    returns the summary as frozen. Called inside the transition's unit of work."""
    live = summary(session, order, settings)
    order.labour_rate = live.labour_rate
    order.labour_flat_fee = live.labour_flat_fee
    order.labour_amount = live.labour
    order.parts_amount = live.parts
    order.total_amount = live.total
    order.payable_by_customer = live.payable_by_customer
    order.bill_to_id = live.bill_to_id
    order.payer_id = live.payer_id
    order.settled_at = now or utcnow()
    session.flush()
    return summary(session, order, settings)
