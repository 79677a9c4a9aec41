"""Demo tickets for the quick start: a few requests of the demo customers in every state,
made through the domain's own rules (so their SLA clocks, history and timers are real),
and a team lead for each demo department the escalations can reach.

Idempotent: a demo ticket is known by its subject, and made only once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.config import Settings
from callcenter.customers.models import Customer
from callcenter.db import utcnow
from callcenter.products.models import InstalledProduct
from callcenter.users.models import Department, User
from tickets.comments import add_comment
from tickets.models import Ticket
from tickets.services import create_ticket
from tickets.transitions import transition_ticket

#: Department (full path) -> the username of its team lead.
LEADS = {"客服中心": "supervisor", "售后服务": "supervisor2"}


@dataclass(frozen=True)
class DemoTicket:
    customer: str           # the customer's external id
    creator: str            # a demo username
    type: str
    priority: str
    subject: str
    description: str
    hours_ago: float
    #: The states it is moved through after creation, each (status, by username).
    steps: tuple[tuple[str, str], ...] = ()
    reply: str = ""         # a reply the customer sees (the first response), if any


TICKETS = (
    DemoTicket("DEMO-C001", "agent1", "complaint", "urgent", "车门无法关闭，车辆停运",
               "前门气泵故障，车辆停在场站；客户要求今天上门维修。", 0.5,
               (("assigned", "agent1"),)),
    DemoTicket("DEMO-C002", "agent3", "inquiry", "normal", "冰箱保修期咨询",
               "客户询问去年购买的商用冰柜是否仍在保修期内。", 0.05),
    DemoTicket("DEMO-C003", "agent2", "service_request", "high",
               "Reefer unit not cooling", "Fleet manager reports unit 3 at 12 °C.", 26,
               (("assigned", "agent2"), ("in_progress", "agent2")),
               "A technician is on the way; we will call before arriving."),
    DemoTicket("DEMO-C004", "agent2", "complaint", "high", "维修后空调仍有异响",
               "上周维修后空调压缩机仍有异响，客户不满意。", 3,
               (("assigned", "agent2"), ("in_progress", "agent2"), ("pending", "agent2")),
               "已安排复检，等待客户确认车辆可停运的时间。"),
    DemoTicket("DEMO-C005", "agent1", "suggestion", "low", "建议增加微信报修渠道",
               "客户建议通过微信公众号报修并查询进度。", 48,
               (("assigned", "agent1"), ("in_progress", "agent1"), ("resolved", "agent1")),
               "感谢建议，已转交产品部门评估。"),
)


def load_demo_tickets(session: Session, settings: Settings, *,
                      now: datetime | None = None) -> int:
    """Add the demo tickets not there yet; returns how many. Flushes; the caller commits."""
    now = now or utcnow()
    users = {u.username: u for u in session.scalars(select(User))}
    for path, username in LEADS.items():
        department = session.scalar(select(Department).where(Department.name == path,
                                                             Department.parent_id.is_(None)))
        if department is not None and department.lead_id is None and username in users:
            department.lead_id = users[username].id
    existing = set(session.scalars(select(Ticket.subject)))
    created = 0
    for demo in TICKETS:
        customer = session.scalar(select(Customer).where(Customer.external_id == demo.customer))
        if demo.subject in existing or customer is None or demo.creator not in users:
            continue
        product = session.scalar(select(InstalledProduct.id)
                                 .where(InstalledProduct.customer_id == customer.id)
                                 .order_by(InstalledProduct.id).limit(1))
        at = now - timedelta(hours=demo.hours_ago)
        ticket = create_ticket(session, users[demo.creator], {
            "type": demo.type, "priority": demo.priority, "subject": demo.subject,
            "description": demo.description, "customer_id": customer.id,
            "installed_product_id": product}, settings=settings, now=at)
        for i, (status, by) in enumerate(demo.steps, start=1):
            step_at = at + timedelta(minutes=5 * i)
            data = {"to": status, "version": ticket.version}
            if status == "assigned":
                data["assignee_id"] = users[by].id
            if status == "resolved":
                data["resolution"] = demo.reply
            if demo.reply and status in ("in_progress", "resolved") and \
                    ticket.first_response_at is None:
                add_comment(session, users[by], ticket, demo.reply, internal=False,
                            settings=settings, now=step_at)
            transition_ticket(session, users[by], ticket, data, settings=settings,
                              now=step_at)
        created += 1
    session.flush()
    return created
