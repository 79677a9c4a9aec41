"""Import rate of the streaming CSV importer on PostgreSQL (issue 2: target >= 5,000 rows/s).

    python bench/import.py [--rows 100000] [--database-url postgresql://postgres@127.0.0.1/test]

Generates realistic customer rows (Chinese and English names, phones in mixed formats,
some tax ids) into a temporary CSV, creates a fresh database (migrated to head) next
to --database-url, and measures in the same run:

- ``import``: the first import of the whole file (all inserts), commit included;
- ``reimport_same``: the same file again (every row found unchanged: the upsert path);
- ``reimport_changed``: the file with every row's tier and one phone changed (updates
  with field-level history and phone replacement);
- ``baseline_orm``: the naive way, ``create_customer`` (ORM, one flush per row) for a
  sample of the same rows, so the figure above has something to be compared with;
- ``baseline_copy``: a bare ``COPY`` of the same CSV into an untyped table, the
  ceiling of what PostgreSQL takes in without any checking.

Prints one JSON object. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from customer_lookup import create_database, drop_database  # noqa: E402 - a sibling script

from callcenter.customers.models import ChangeRecord, Customer, Phone  # noqa: E402
from callcenter.customers.services import create_customer  # noqa: E402
from callcenter.db import make_engine, make_sessionmaker, session_scope  # noqa: E402
from callcenter.imports.importer import import_csv  # noqa: E402
from callcenter.migrate import upgrade  # noqa: E402
from callcenter.users.services import create_user  # noqa: E402

COLUMNS = ["external_id", "name", "phones", "tax_id", "region", "industry", "lifecycle",
           "tier", "email"]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩"
            "冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁")
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红文斌宇浩然"
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "郑州", "厦门"]
BRANDS = "华通宇通金龙海格中通安凯申沃恒通东风远洋顺达鸿运天成嘉禾瑞丰"
TRADES = ["汽车运输", "公交", "物流", "旅游客运", "机械设备", "家电销售", "通信服务"]
FORMS = ["有限公司", "股份有限公司", "集团有限公司", "有限责任公司"]
EN_WORDS = ["Acme", "Global", "Pacific", "Orient", "Golden", "Bright", "Summit", "Harbor",
            "Northern", "Unity", "Silver", "Dragon", "Phoenix", "Vista", "Prime"]
EN_TRADES = ["Logistics", "Transport", "Trading", "Motors", "Appliances", "Telecom",
             "Machinery", "Coach Lines"]
EN_FORMS = ["Co., Ltd.", "Ltd.", "Inc.", "Group", "Corporation"]
REGIONS = ["华北", "华东", "华南", "西南", "西北", "东北", "华中"]
INDUSTRIES = ["transport", "logistics", "public transit", "tourism", "retail", "telecom"]
LANDLINE = [("010", 8), ("021", 8), ("020", 8), ("0755", 8), ("0571", 8), ("028", 8)]


def mobile(rng: random.Random) -> str:
    number = rng.choice(["138", "139", "150", "186", "189", "177", "135"]) + \
        f"{rng.randrange(10**8):08d}"
    style = rng.randrange(5)
    if style == 0:
        return number
    if style == 1:
        return f"+86 {number[:3]} {number[3:7]} {number[7:]}"
    if style == 2:
        return "0086" + number
    if style == 3:
        return "0" + number
    return f"{number[:3]}-{number[3:7]}-{number[7:]}"


def landline(rng: random.Random) -> str:
    area, digits = rng.choice(LANDLINE)
    # Local numbers start 2-7 here: 8xxx ranges are partly unassigned in some cities.
    local = str(rng.randrange(2, 8)) + f"{rng.randrange(10 ** (digits - 1)):0{digits - 1}d}"
    style = rng.randrange(3)
    if style == 0:
        return f"{area}-{local[:4]} {local[4:]}"
    if style == 1:
        return f"({area}){local}" + (f" ext. {rng.randrange(10, 999)}" if rng.random() < .3
                                     else "")
    return f"+86 {area[1:]} {local}"


def customer_row(rng: random.Random, i: int) -> list[str]:
    kind = rng.random()
    if kind < 0.45:
        name = (rng.choice(CITIES) + "".join(rng.sample(BRANDS, 2)) + rng.choice(TRADES)
                + rng.choice(FORMS))
    elif kind < 0.75:
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))
    else:
        name = " ".join([rng.choice(EN_WORDS), rng.choice(EN_TRADES), rng.choice(EN_FORMS)])
    phones = [mobile(rng) if rng.random() < .7 else landline(rng)
              for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
    tax_id = f"91{rng.randrange(10**15):015d}{rng.choice('ABCDEFGHJKLMNPQRTUWXY')}" \
        if rng.random() < .4 else ""
    email = f"contact{i}@example.com" if rng.random() < .3 else ""
    return [f"CUST-{i:07d}", name, rng.choice([";", "|"]).join(phones), tax_id,
            rng.choice(REGIONS), rng.choice(INDUSTRIES),
            rng.choice(["potential", "target", "current", "current", "lost"]),
            rng.choice(["vip", "major", "ordinary", "ordinary", "small"]), email]


def write_csv(path: Path, rows: int, seed: int, *, changed: bool = False) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(1, rows + 1):
            row = customer_row(rng, i)
            if changed:
                row[7] = {"vip": "major", "major": "ordinary", "ordinary": "small",
                          "small": "vip"}[row[7]]
                row[2] = row[2].split(";")[0].split("|")[0]  # keep only the first phone
            writer.writerow(row)


def timed_import(factory, path: Path, batch_size: int) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    with session_scope(factory) as session:
        result = import_csv(session, None, "customers", path, region="CN",
                            batch_size=batch_size)
    seconds = time.perf_counter() - started  # commit included
    cpu = time.process_time() - cpu
    return {"rows": result.rows_read, "seconds": round(seconds, 2),
            "rows_per_s": round(result.rows_read / seconds),
            # This process's CPU only (not the server's): a figure less at the mercy
            # of whatever else the machine is doing.
            "client_cpu_s": round(cpu, 2), "rows_per_client_cpu_s": round(result.rows_read / cpu),
            "created": result.created,
            "updated": result.updated, "unchanged": result.unchanged,
            "skipped": result.skipped}


def baseline_orm(factory, path: Path, sample: int) -> dict:
    """create_customer per row (ORM, flush per row), rolled back afterwards."""
    session = factory()
    try:
        actor = create_user(session, username="bench-admin", password="bench-password",  # noqa: S106
                            role="admin")
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [r for _, r in zip(range(sample), csv.DictReader(fh), strict=False)]
        started = time.perf_counter()
        for r in rows:
            phones = [p for part in r["phones"].split(";") for p in part.split("|")]
            create_customer(session, actor, {
                "external_id": "ORM-" + r["external_id"], "name": r["name"], "phones": phones,
                "tax_id": r["tax_id"] or None, "region": r["region"],
                "industry": r["industry"], "lifecycle": r["lifecycle"], "tier": r["tier"],
                "email": r["email"]}, region="CN")
        session.flush()
        seconds = time.perf_counter() - started
    finally:
        session.rollback()
        session.close()
    return {"rows": len(rows), "seconds": round(seconds, 2),
            "rows_per_s": round(len(rows) / seconds)}


def baseline_copy(engine, path: Path) -> dict:
    """COPY of the same CSV into an untyped temporary table: no checks at all."""
    columns = ", ".join(f"{c} text" for c in COLUMNS)
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE raw_customers ({columns})")
            with cur.copy("COPY raw_customers FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                    path.open("rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
            cur.execute("SELECT count(*) FROM raw_customers")
            rows = cur.fetchone()[0]
        conn.commit()
        seconds = time.perf_counter() - started
    finally:
        raw.close()
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="an existing PostgreSQL database to connect to; the benchmark "
                             "creates and drops its own database next to it")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--orm-sample", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=2)
    args = parser.parse_args(argv)
    admin_url = args.database_url.replace("postgresql://", "postgresql+psycopg://", 1)

    with tempfile.TemporaryDirectory() as tmp:
        source, changed = Path(tmp) / "customers.csv", Path(tmp) / "customers-changed.csv"
        write_csv(source, args.rows, args.seed)
        write_csv(changed, args.rows, args.seed, changed=True)
        name, url = create_database(admin_url)
        try:
            upgrade(url)
            engine = make_engine(url)
            factory = make_sessionmaker(engine)
            out = {"database": "postgresql", "rows": args.rows, "cpus": os.cpu_count(),
                   "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
                   "file_mb": round(source.stat().st_size / 1e6, 1),
                   "batch_size": args.batch_size}
            out["baseline_orm"] = baseline_orm(factory, source, min(args.orm_sample,
                                                                    args.rows))
            out["baseline_copy"] = baseline_copy(engine, source)
            out["import"] = timed_import(factory, source, args.batch_size)
            out["reimport_same"] = timed_import(factory, source, args.batch_size)
            out["reimport_changed"] = timed_import(factory, changed, args.batch_size)
            with engine.connect() as conn:
                out["stored"] = {
                    "customers": conn.scalar(select(func.count()).select_from(Customer)),
                    "phones": conn.scalar(select(func.count()).select_from(Phone)),
                    "change_records": conn.scalar(
                        select(func.count()).select_from(ChangeRecord))}
            engine.dispose()
        finally:
            drop_database(admin_url, name)
    out["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    first = out["import"]
    out["seconds"] = first["seconds"]
    out["rows_per_s"] = first["rows_per_s"]
    out["vs_orm_baseline"] = round(first["rows_per_s"] / out["baseline_orm"]["rows_per_s"], 1)
    out["vs_copy"] = round(first["rows_per_s"] / out["baseline_copy"]["rows_per_s"], 3)
    out["target_rows_per_s"] = 5000
    out["meets_target"] = first["rows_per_s"] >= 5000
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
