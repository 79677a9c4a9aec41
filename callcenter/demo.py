"""Demo data: a department tree, a login per role, about fifty customers.

Loaded by `callcenter demo` (and so by the quick start). Loading is idempotent:
users are keyed by username, customers and products by their external id or serial
number, so running it again adds only what is missing and never duplicates. The
numbers include the caller IDs of the recorded Asterisk scenarios (13812345678,
010-62345678, 15011112222, ...), so simulated calls pop a known customer.

Everything goes through the same business functions as the UI and the API
(create_user, create_customer, add_contact), so demo rows obey every rule.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.calls.recording import ensure_queue
from callcenter.customers.history import record_changes
from callcenter.customers.models import Customer, Phone
from callcenter.customers.phones import normalise_phone
from callcenter.customers.services import add_contact, create_customer, update_customer
from callcenter.products.models import InstalledProduct, WarrantyType
from callcenter.users.models import User
from callcenter.users.services import create_user, ensure_department

DEPARTMENTS = ("客服中心/北京热线", "客服中心/上海热线", "售后服务/北京维修站",
               "售后服务/广州维修站", "销售部")


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    department: str | None = None
    interface: str | None = None
    display_name: str = ""
    scope: str | None = None


#: Interfaces match the queue members of deploy/asterisk/queues.conf. The passwords keep
#: the password rule (callcenter.users.passwords): none contains its username.
LOGINS = (
    DemoLogin("admin", "demo-adm-2026", "admin", None, None, "系统管理员 Admin"),
    DemoLogin("supervisor", "demo-sup-2026", "supervisor", "客服中心",
              "Local/supervisor1@agents/n", "陈静（班长）"),
    DemoLogin("agent1", "demo-agt1-2026", "agent", "客服中心/北京热线",
              "Local/agent1@agents/n", "王芳"),
    DemoLogin("agent2", "demo-agt2-2026", "agent", "客服中心/北京热线",
              "Local/agent2@agents/n", "Li Lei"),
    DemoLogin("agent3", "demo-agt3-2026", "agent", "客服中心/上海热线",
              "Local/agent3@agents/n", "赵敏"),
    DemoLogin("agent4", "demo-agt4-2026", "agent", "售后服务/北京维修站",
              "Local/agent4@agents/n", "孙强", "own"),
    DemoLogin("agent5", "demo-agt5-2026", "agent", "售后服务/北京维修站",
              "Local/agent5@agents/n", "Emma Zhou"),
    DemoLogin("supervisor2", "demo-sup2-2026", "supervisor", "售后服务",
              "Local/supervisor2@agents/n", "吴刚（维修调度）"),
    DemoLogin("tech1", "demo-tec1-2026", "technician", "售后服务/北京维修站", None, "刘师傅"),
    DemoLogin("tech2", "demo-tec2-2026", "technician", "售后服务/广州维修站", None, "黄师傅"),
    DemoLogin("finance", "demo-fin-2026", "finance", "售后服务/售后财务", None,
              "钱丽（售后财务）"),
)

#: The queues of deploy/asterisk/queues.conf (and of the quick start's simulator), with
#: the department whose supervisors watch them: (name, display name, department, SL s).
QUEUES = (("support", "客服热线 Support", "客服中心", 30),
          ("repairs", "维修报修 Repairs", "售后服务", 60))

#: The demo's phone numbers are Chinese ones as people write them, whatever region the
#: call center is configured with.
DEMO_REGION = "CN"

# (external id, name, tier, lifecycle, region, industry, tax id, phones, owner, contacts)
# Contacts: (name, position, phones). Numbers come in the formats people really type.
FIXED_CUSTOMERS = (
    ("DEMO-C001", "北京华通汽车服务有限公司", "vip", "current", "北京", "客运",
     "91110105MA01ABCD1X", ["13812345678", "010-6234 5678"], "agent1",
     [("王伟", "车队队长", ["13811110001"]), ("李娜", "设备主管", ["+86 138 1111 0002"])]),
    ("DEMO-C002", "上海东方电器有限公司", "major", "current", "上海", "家电", "91310115MA1H2B3C4D",
     ["+86 21 6234 5678", "15011112222"], "agent3",
     [("周杰", "采购经理", ["139 0000 1111"])]),
    ("DEMO-C003", "Harbor Logistics Co., Ltd.", "major", "current", "广州", "物流", None,
     ["+86 20 8765 4321", "13844440001"], "agent2",
     [("Emily Chen", "Fleet manager", ["13844440002"])]),
    ("DEMO-C004", "广州交通运输集团有限公司", "vip", "current", "广州", "客运",
     "91440101190442618Q", ["(020)83331234"], "agent2", []),
    ("DEMO-C005", "张伟", "ordinary", "current", "广州", "个体车主", None,
     ["138-1111-0003"], "agent2", []),
    ("DEMO-C006", "Greenfield Telecom Ltd", "ordinary", "target", "深圳", "通信", None,
     ["0755 8612 3456 ext. 8", "+8613811110004"], "agent3",
     [("David Wang", "IT lead", ["13811110005"])]),
    ("DEMO-C007", "ACME Machinery Co., Ltd.", "major", "current", "天津", "机械",
     "91120116MA05XY1234", ["022-2345 6789"], "agent1",
     [("Tom Li", "Maintenance", ["0086 13811110006"])]),
    # Likely duplicates of C007 (same tax id, similar English name) and C001 (similar
    # Chinese name, same number in another format): for the duplicate finder and merge.
    ("DEMO-C008", "Acme Machinery Ltd", "ordinary", "potential", "天津", "机械",
     "91120116MA05XY1234", ["+86 22 2345 6790"], "agent4", []),
    ("DEMO-C009", "北京华通汽车", "ordinary", "potential", "北京", "客运", None,
     ["+86 10 6234 5678"], "agent4", []),
    # Placeholder owner: the selling branch holds equipment whose end user is unknown.
    ("DEMO-C010", "广州销售分公司（待确认最终用户）", "small", "current", "广州", "内部", None,
     ["020-3888 0000"], "supervisor", []),
)

_ZH_CITIES = ("北京", "上海", "广州", "深圳", "成都", "武汉", "杭州", "南京", "西安", "重庆")
_ZH_WORDS = ("宏达", "金桥", "恒通", "瑞丰", "新星", "长城", "远航", "天成", "鑫源", "华美",
             "安泰", "博远", "中联", "永盛", "鹏程")
_ZH_KINDS = (("客运有限公司", "客运"), ("物流有限公司", "物流"), ("电器商行", "家电"),
             ("机械设备有限公司", "机械"), ("通信工程有限公司", "通信"), ("酒店", "酒店"))
#: (name, how to address them): 先生 for men, 女士 for women.
_ZH_PEOPLE = (("刘洋", "先生"), ("陈晨", "女士"), ("杨帆", "先生"), ("黄磊", "先生"),
              ("吴静", "女士"), ("徐明", "先生"), ("孙丽", "女士"), ("马超", "先生"),
              ("朱琳", "女士"), ("胡斌", "先生"))
_EN_NAMES = ("Blue River Hotels", "Northwind Trading Ltd", "Summit Coach Lines",
             "Pacific Cold Chain Co.", "Orion Facility Services", "Maple Leaf Appliances",
             "Silverline Buses Inc.", "Evergreen Property Management")
_MOBILE_PREFIXES = ("135", "136", "137", "139", "150", "151", "158", "186", "187", "189")
_AREA_CODES = {"北京": "010", "上海": "021", "广州": "020", "深圳": "0755", "成都": "028",
               "武汉": "027", "杭州": "0571", "南京": "025", "西安": "029", "重庆": "023",
               "天津": "022"}

PRODUCT_MODELS = ("HT6120 城市客车", "HT6800 中巴", "KX-200 空调机组", "GX-9 发电机组",
                  "TeleBox 5G 路由器", "AC-35 变频空调")


def _mobile_formats(rng: random.Random, digits: str) -> str:
    style = rng.randrange(6)
    return (digits, f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}", f"0086{digits}",
            f"0{digits}", f"{digits[:3]}-{digits[3:7]}-{digits[7:]}", f"+86{digits}")[style]


def _landline(rng: random.Random, city: str) -> str:
    area = _AREA_CODES.get(city, "010")
    # Every city in the list has 8-digit local numbers (Shenzhen 0755 and Hangzhou 0571 too).
    local = str(rng.randint(2, 8)) + "".join(str(rng.randrange(10)) for _ in range(7))
    style = rng.randrange(4)
    return (f"{area}-{local}", f"({area}){local}", f"+86 {area[1:]} {local}",
            f"{area} {local[:4]} {local[4:]} ext. {rng.randint(10, 99)}")[style]


def _generated_customers(rng: random.Random, used: set[str], count: int) -> list[tuple]:
    """Deterministic filler customers (Chinese companies, people, English names)."""
    owners = ("agent1", "agent2", "agent3", "agent4", "supervisor")
    tiers = ("vip", "major", "ordinary", "ordinary", "ordinary", "small")
    lifecycles = ("current", "current", "current", "potential", "target", "lost")
    rows: list[tuple] = []
    names: set[str] = set()
    while len(rows) < count:
        city = rng.choice(_ZH_CITIES)
        pick = rng.randrange(10)
        if pick < 6:
            kind, industry = rng.choice(_ZH_KINDS)
            name = f"{city}{rng.choice(_ZH_WORDS)}{kind}"
        elif pick < 8:
            person, title = rng.choice(_ZH_PEOPLE)
            name, industry = person + rng.choice(("", title)), "个人"
            if any(n.startswith(person) for n in names):
                continue
        else:
            name, industry = rng.choice(_EN_NAMES), "Services"
        if name in names:
            continue
        names.add(name)
        phones = [_unique(rng, used, lambda: _mobile_formats(
            rng, rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"))]
        if rng.random() < 0.4:
            phones.append(_unique(rng, used, lambda city=city: _landline(rng, city)))
        contacts = []
        if industry not in ("个人",) and rng.random() < 0.6:
            contacts.append((rng.choice(_ZH_PEOPLE)[0], rng.choice(("经理", "主管", "采购"))
                             , [_unique(rng, used, lambda: _mobile_formats(
                                 rng, rng.choice(_MOBILE_PREFIXES)
                                 + f"{rng.randrange(10**8):08d}"))]))
        rows.append((f"DEMO-G{len(rows) + 1:03d}", name, rng.choice(tiers),
                     rng.choice(lifecycles), city, industry, None, phones,
                     rng.choice(owners), contacts))
    return rows


def _unique(rng: random.Random, used: set[str], make) -> str:
    """A valid number in some format whose E.164 form no other demo record has."""
    for _ in range(1000):
        raw = make()
        try:
            e164 = normalise_phone(raw, DEMO_REGION).e164
        except ValueError:
            continue
        if e164 not in used:
            used.add(e164)
            return raw
    raise RuntimeError("demo data: could not make a valid, unused phone number")


def _warranty(rng: random.Random, today: date, i: int) -> tuple[WarrantyType, date | None]:
    """Cycle through the warranty states the UI shows: valid, expiring, expired, none."""
    state = i % 5
    if state == 0:
        return WarrantyType.STANDARD, today + timedelta(days=rng.randint(120, 700))
    if state == 1:
        return WarrantyType.STANDARD, today + timedelta(days=rng.randint(3, 25))
    if state == 2:
        return WarrantyType.STANDARD, today - timedelta(days=rng.randint(10, 400))
    if state == 3:
        return rng.choice((WarrantyType.EXTENDED, WarrantyType.CONTRACT)), \
            today + timedelta(days=rng.randint(200, 1000))
    return WarrantyType.NONE, None


@dataclass
class DemoResult:
    users_created: int = 0
    customers_created: int = 0
    products_created: int = 0
    customers_total: int = 0


def load_demo(session: Session, *, today: date | None = None) -> DemoResult:
    """Add whatever part of the demo data is missing. Flushes; the caller commits."""
    today = today or date.today()
    rng = random.Random(2026)  # noqa: S311 - demo data, same every time
    result = DemoResult()
    for path in DEPARTMENTS:
        ensure_department(session, path)
    for name, display, department, service_level_s in QUEUES:
        queue = ensure_queue(session, name)
        if queue.department_id is None:
            queue.department_id = ensure_department(session, department).id
            queue.display_name = display
            queue.service_level_s = service_level_s
    users: dict[str, User] = {}
    for login in LOGINS:
        user = session.scalar(select(User).where(User.username == login.username))
        if user is None:
            user = create_user(session, username=login.username, password=login.password,
                               role=login.role, department=login.department,
                               interface=login.interface, display_name=login.display_name,
                               scope=login.scope,
                               locale="en" if login.username == "agent2" else "zh_CN")
            result.users_created += 1
        users[login.username] = user
    admin = users["admin"]

    used = {normalise_phone(p, DEMO_REGION).e164 for row in FIXED_CUSTOMERS
            for p in row[7] + [q for c in row[9] for q in c[2]]}
    rows = list(FIXED_CUSTOMERS) + _generated_customers(rng, used, 42)
    customers: dict[str, Customer] = {}
    for ext, name, tier, lifecycle, region, industry, tax_id, phones, owner, contacts in rows:
        customer = session.scalar(select(Customer).where(Customer.external_id == ext))
        if customer is None:
            owner_user = users[owner]
            customer = create_customer(session, admin, {
                "external_id": ext, "name": name, "tier": tier, "lifecycle": lifecycle,
                "region": region, "industry": industry, "tax_id": tax_id, "phones": phones,
                "responsible_id": owner_user.id, "department_id": owner_user.department_id,
                "is_placeholder": ext == "DEMO-C010"}, region=DEMO_REGION)
            for c_name, position, c_phones in contacts:
                add_contact(session, admin, customer,
                            {"name": c_name, "position": position, "phones": c_phones},
                            region=DEMO_REGION)
            result.customers_created += 1
        customers[ext] = customer

    _link_partners(session, admin, customers, users)
    result.products_created = _add_products(session, admin, rng, customers, today)
    session.flush()
    result.customers_total = len(customers)
    return result


def _link_partners(session: Session, admin: User, customers: dict[str, Customer],
                   users: dict[str, User]) -> None:
    """张伟 drives for the transport group: it is invoiced and pays (bill-to = payer)."""
    person, company = customers["DEMO-C005"], customers["DEMO-C004"]
    if person.bill_to_id is None:
        update_customer(session, admin, person, {"bill_to_id": company.id},
                        region=DEMO_REGION)
    # A technician is a related employee of the customers whose equipment they service.
    vip = customers["DEMO-C001"]
    if users["tech1"] not in vip.related_users:
        update_customer(session, admin, vip, {"related_user_ids": [
            *(u.id for u in vip.related_users), users["tech1"].id]}, region=DEMO_REGION)


def _add_products(session: Session, admin: User, rng: random.Random,
                  customers: dict[str, Customer], today: date) -> int:
    created = 0
    owners = [c for ext, c in customers.items() if ext != "DEMO-C008"]
    plan: list[tuple[str, Customer, str]] = []
    for i, customer in enumerate(owners):
        # Buses for the transport customers, other equipment for the rest.
        count = 3 if customer.external_id in ("DEMO-C001", "DEMO-C004") else 1 + (i % 2)
        if customer.external_id == "DEMO-C010":
            count = 4  # unassigned equipment waiting for its real end user
        for n in range(count):
            model = PRODUCT_MODELS[(i + n) % len(PRODUCT_MODELS)]
            if customer.industry == "客运":
                model = PRODUCT_MODELS[n % 2]
            plan.append((f"DEMO-P{len(plan) + 1:04d}", customer, model))
    existing = set(session.scalars(select(InstalledProduct.external_id)
                                   .where(InstalledProduct.external_id.like("DEMO-P%"))))
    for i, (ext, customer, model) in enumerate(plan):
        warranty_type, warranty_end = _warranty(rng, today, i)
        if ext in existing:
            continue
        serial = f"{model.split()[0]}-{2020 + i % 6}-{100000 + i * 37:06d}"
        installed = (warranty_end or today) - timedelta(days=365 * (1 + i % 3))
        product = InstalledProduct(external_id=ext, model=model, serial_number=serial,
                                   customer_id=customer.id, warranty_type=warranty_type,
                                   warranty_end=warranty_end, installed_on=installed)
        session.add(product)
        session.flush()
        record_changes(session, customer.id, admin, "product", product.id,
                       {"added": (None, serial)})
        created += 1
    return created


#: Callers of the quick start's simulator who are nobody's customer (yet): the pop then
#: offers to create the customer with the number filled in.
UNKNOWN_DEMO_CALLERS = ('"New Caller" <13655550123>', "<02188886666>")


def demo_caller_ids(session: Session) -> list[str]:
    """Caller IDs for the PBX simulator: the demo customers' and contacts' numbers as a
    PBX presents them (``"Name" <number>``), plus a few unknown callers."""
    rows = session.execute(
        select(Customer.name, Phone.e164)
        .join(Phone, Phone.customer_id == Customer.id)
        .where(Customer.external_id.like("DEMO-%"))
        .order_by(Phone.id)).all()
    # A PBX shows national numbers: 13812345678, 01062345678.
    callers = [f'"{name[:20]}" <{_as_presented(e164)}>'
               for name, e164 in rows if e164.startswith("+86")]
    return [*callers, *UNKNOWN_DEMO_CALLERS]


def _as_presented(e164: str) -> str:
    national = phonenumbers.format_number(phonenumbers.parse(e164),
                                          phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())


def format_logins() -> str:
    """The demo logins as a table for the terminal."""
    lines = [f"{'username':<12} {'password':<17} {'role':<11} department / queue interface"]
    for login in LOGINS:
        where = " ".join(x for x in (login.department or "(all)", login.interface or "") if x)
        lines.append(f"{login.username:<12} {login.password:<17} {login.role:<11} {where}")
    return "\n".join(lines)
