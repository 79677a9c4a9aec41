"""Finding customers by name as agents type it (pinyin, initials, any word), beside the
caller-ID lookup by phone, on the same database, in one process; SQLite and PostgreSQL.

Generates ``--customers`` customers (people's names with one- and two-character
surnames, companies with a city, a trade name and a legal form, and one English-named
contact for every fifth), each with a phone, written with their name keys exactly as the
import writes them (``write_name_keys``). Then times, after a warm-up, for random
customers:

* ``phone``: ``find_customer_by_phone`` (the bridge's path on every ringing call);
* ``name``: ``customers_query(q=...)`` for the first 20, as the API's ``?q=`` runs it,
  with the question typed one of the ways agents type: full pinyin with spaces, without,
  initials, a surname, an English word, Chinese characters;
* ``like``: what it replaced, ``name LIKE '%q%' OR name_key LIKE '%q%'``.

Prints JSON. ``python bench/name_search.py [--customers 100000] [--backends sqlite,postgresql]``
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from customer_lookup import DEFAULT_ADMIN_URL, create_database, drop_database, summary
from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from callcenter.customers.models import Contact, Customer, Phone
from callcenter.customers.name_search import write_name_keys
from callcenter.customers.names import name_key, search_keys
from callcenter.customers.services import customers_query, find_customer_by_phone
from callcenter.db import make_engine, utcnow
from callcenter.migrate import upgrade
from callcenter.users.models import User
from callcenter.users.services import create_user

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
            "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱"
            "江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单")
DOUBLE_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "慕容", "令狐", "皇甫")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建文斌宇浩凯健俊帆"
CITIES = ("北京", "上海", "广州", "深圳", "重庆", "成都", "武汉", "西安", "长沙", "厦门")
TRADES = ("华通", "宏达", "远航", "金桥", "安顺", "恒昌", "德源", "鑫盛", "瑞丰", "博远")
LINES = ("汽车", "物流", "客运", "冷链", "机械", "电力", "通信", "建材")
FORMS = ("有限公司", "股份有限公司", "集团", "")
ENGLISH = ("Tom", "Anna", "James", "Mary", "Peter", "Linda", "David", "Susan", "Kevin",
           "Grace", "Li", "Chen", "Smith", "Brown", "Wong", "Taylor", "Walker", "Young")


def _name(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return (rng.choice(CITIES) + rng.choice(TRADES) + rng.choice(LINES)
                + rng.choice(FORMS))
    surname = rng.choice(DOUBLE_SURNAMES) if rng.random() < 0.05 else rng.choice(SURNAMES)
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _generate(session: Session, n: int, rng: random.Random) -> list[tuple[int, str, str]]:
    owner = session.scalar(select(User.id))
    now = utcnow()
    made = []
    for start in range(0, n, 5000):
        batch = []
        for i in range(start, min(n, start + 5000)):
            name = _name(rng)
            batch.append({"id": i + 1, "external_id": f"N{i + 1}", "name": name,
                          "name_key": name_key(name), "responsible_id": owner,
                          "created_at": now, "updated_at": now})
        session.execute(insert(Customer), batch)
        session.execute(insert(Phone), [
            {"customer_id": row["id"], "contact_id": None, "raw": f"138{row['id']:08d}",
             "e164": f"+86138{row['id']:08d}", "extension": "", "label": ""}
            for row in batch])
        contacts = {row["id"]: f"{rng.choice(ENGLISH)} {rng.choice(ENGLISH)}"
                    for row in batch if row["id"] % 5 == 0}
        session.execute(insert(Contact), [
            {"id": cid, "customer_id": cid, "name": name, "position": "", "email": "",
             "created_at": now} for cid, name in contacts.items()])
        write_name_keys(session, customers={r["id"]: r["name"] for r in batch},
                        contacts={cid: (cid, name) for cid, name in contacts.items()})
        session.commit()
        made.extend((r["id"], r["name"], contacts.get(r["id"], "")) for r in batch)
    return made


def _typed(rng: random.Random, name: str, contact: str) -> str:
    """One way an agent would type this customer's name."""
    from pypinyin import lazy_pinyin

    way = rng.randrange(6)
    if way == 4 and contact:
        return rng.choice(contact.split()).lower()
    if way == 5:
        return name[:2]
    syllables = lazy_pinyin(name_key(name))
    if way == 0:
        return " ".join(syllables)
    if way == 1:
        return "".join(syllables)
    if way == 2:
        return "".join(s[0] for s in syllables)
    return syllables[0] if len(syllables[0]) >= 2 else "".join(syllables[:2])


def _timed(fn, cases) -> list[float]:
    for case in cases[:50]:
        fn(case)   # warm
    out = []
    for case in cases:
        started = time.perf_counter()
        fn(case)
        out.append((time.perf_counter() - started) * 1000)
    return out


def bench_backend(url: str, customers: int, lookups: int, seed: int) -> dict:
    upgrade(url)
    engine = make_engine(url)
    rng = random.Random(seed)
    try:
        with Session(engine) as session:
            create_user(session, username="bench", password=secrets.token_urlsafe(16),
                        role="admin")
            session.commit()
            started = time.perf_counter()
            made = _generate(session, customers, rng)
            generate_s = time.perf_counter() - started
            session.connection().exec_driver_sql("ANALYZE")
            session.commit()
            admin = session.scalar(select(User))
            picks = [rng.choice(made) for _ in range(lookups)]
            questions = [_typed(rng, name, contact) for _id, name, contact in picks]
            phones = [f"138 {cid:08d}" for cid, _n, _c in picks]

            def by_phone(number: str) -> None:
                find_customer_by_phone(session, number, region="CN")

            def by_name(q: str) -> None:
                session.scalars(customers_query(admin, q=q, region_code="CN").limit(20)).all()

            def by_like(q: str) -> None:
                session.scalars(select(Customer).where(or_(
                    Customer.name.contains(q, autoescape=True),
                    Customer.name_key.contains(name_key(q), autoescape=True)))
                    .order_by(Customer.id).limit(20)).all()

            found = sum(1 for (cid, _n, _c), q in zip(picks, questions, strict=True)
                        if cid in set(session.scalars(
                            customers_query(admin, q=q, region_code="CN")
                            .with_only_columns(Customer.id))))
            keys = session.scalar(select(func.count()).select_from(
                Customer.metadata.tables["customer_name_keys"]))
            return {"customers": customers, "name_keys": keys,
                    "keys_per_name": round(keys / (customers * 1.2), 1),
                    "generate_s": round(generate_s, 1),
                    "phone": summary(_timed(by_phone, phones)),
                    "name": summary(_timed(by_name, questions)),
                    "like": summary(_timed(by_like, questions[: max(50, lookups // 10)])),
                    "name_recall": round(found / len(picks), 3),
                    "sample_questions": questions[:8]}
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    out: dict = {"benchmark": "name_search", "search_keys_example": {
        n: sorted(search_keys(n)) for n in ("张三丰", "Tom Li")}}
    for backend in args.backends.split(","):
        if backend == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="name-bench-"))
            try:
                out["sqlite"] = bench_backend(f"sqlite:///{folder / 'bench.db'}",
                                              args.customers, args.lookups, args.seed)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        else:
            name, url = create_database(args.admin_url)
            try:
                out["postgresql"] = bench_backend(url, args.customers, args.lookups,
                                                  args.seed)
            finally:
                drop_database(args.admin_url, name)
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
