"""The import's rejected rows, unusable files and notices read in the reader's language.

A supervisor uploads files with bad rows through the web page; a real RQ worker imports
them into a fresh, committed database; the progress page's status is then read by the
same supervisor in Chinese and in English. The job keeps codes and values, never text,
so the one finished import reads in whichever language its reader chose afterwards.
"""

from __future__ import annotations

import io
import re

import pytest
from rq import SimpleWorker
from rq.job import Job
from webtools import csrf_token, login, text

from callcenter.app import create_app
from callcenter.config import load_settings
from callcenter.core.errors import Problem
from callcenter.core.messages import describer
from callcenter.customers.services import create_customer
from callcenter.db import make_engine, make_sessionmaker, session_scope
from callcenter.jobs import get_queue
from callcenter.users.services import create_user

HEADER = "external_id,name,phones,email,lifecycle,tier,responsible,department," \
         "is_placeholder,notes\n"
#: line -> (column, code) of what each bad row is refused for.
BAD_CUSTOMERS = {
    3: ("C2,,,,,,,,,", "name", "required"),
    4: ("C3,坏电话,not-a-phone,,,,,,,", "phones", "phone.invalid"),
    5: ("C4,坏邮箱,,bad@,,,,,,", "email", "email"),
    6: ("C5,阶段,,,someday,,,,,", "lifecycle", "choice"),
    7: ("C6,等级,,,,gold,,,,", "tier", "choice"),
    8: ("C7,负责人,,,,,ghost,,,", "responsible", "import.no_user"),
    9: ("C8,部门,,,,,,Nowhere/Else,,", "department", "import.no_department"),
    10: ("C9,占位,,,,,,,maybe,", "is_placeholder", "not_boolean"),
    11: ("C10,=SUM(A1),,,,,,,,", "name", "import.formula"),
    12: ("C11,太少", "", "import.cell_count"),
    13: ("C12," + "长" * 201 + ",,,,,,,,", "name", "import.too_long"),
    14: ("C13,响\x07铃,,,,,,,,", "name", "control_chars"),
    15: ("C14,空\x00字符,,,,,,,,", "name", "nul_char"),
    17: ('C16,"' + "x" * 140_000 + '",,,,,,,,', "", "import.cell_too_large"),
}
PRODUCTS = ("external_id,serial_number,model,customer_external_id,warranty_end,installed_on\n"
            "P1,SN-1,K9,C1,2026-13-40,\n"
            "P2,SN-2,K9,NOBODY,,\n"
            "P3,SN-3,K9,C1,2024-01-01,2025-01-01\n")
PRODUCT_CODES = {2: ("warranty_end", "import.not_date"),
                 3: ("customer_external_id", "import.no_customer"),
                 4: ("warranty_end", "product.ends_before_install")}
CJK = re.compile(r"[\u3400-\u9fff]")
#: An English word; acronyms (CSV, NUL, UTF) are not words of a sentence.
ENGLISH_WORD = re.compile(r"(?<![A-Za-z])(?=[A-Za-z]*[a-z])[A-Za-z]{3,}")
#: Examples a text gives of what to write (name@example.com, 2024-12-31), not words.
EXAMPLE = re.compile(r"[\w.]+@[\w.]+\w|\d{4}-\d{2}-\d{2}")


def _customers_file() -> bytes:
    lines = {2: "C1,好客户,13812345678,,,,,,,", **{n: row for n, (row, *_x) in
                                                   BAD_CUSTOMERS.items()}}
    body = HEADER.encode() + b"".join(lines[n].encode() + b"\n" for n in range(2, 16))
    # Line 16: bytes that are no UTF-8 in one cell (the rest of the file is).
    body += b"C15,Caf\xe9,,,,,,,,\n"
    return body + lines[17].encode() + b"\n" + "C17,最后一个,,,,,,,,\n".encode()


@pytest.fixture
def import_site(backend, fresh_database, redis_url, redis_conn, tmp_path, monkeypatch):
    """A fresh committed database with a supervisor and customer C1, the environment a
    worker reads, and the web app over the same database."""
    url = fresh_database.create(backend)
    instance = tmp_path / "instance"
    instance.mkdir()
    for name, value in {"DATABASE_URL": url, "REDIS_URL": redis_url,
                        "CALLCENTER_INSTANCE": str(instance),
                        "SECRET_KEY": "test-secret-key-0123456789"}.items():
        monkeypatch.setenv(name, value)
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        sup = create_user(session, username="sup", password="correct horse battery",
                          role="supervisor", scope="all")
        create_customer(session, sup, {"name": "华通", "external_id": "C1"}, region="CN")
    engine.dispose()
    settings = load_settings()
    app = create_app(settings, testing=True)
    yield app, settings
    app.extensions["db_engine"].dispose()


def _upload(client, data: bytes, kind: str) -> str:
    token = csrf_token(text(client.get("/imports/")))
    response = client.post("/imports/", data={"csrf_token": token, "kind": kind,
                                              "file": (io.BytesIO(data), f"{kind}.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 302, text(response)
    return response.headers["Location"].rsplit("/", 1)[1]


def _switch(client, locale: str) -> None:
    token = csrf_token(text(client.get("/imports/")))
    assert client.post("/language", data={"locale": locale, "csrf_token": token}
                       ).status_code == 302


def _values(params: dict) -> list[str]:
    """The values a text echoes (what the file said), which stay as they were written."""
    out = []
    for value in params.values():
        out.extend(map(str, value) if isinstance(value, list) else [str(value)])
    return sorted(out, key=len, reverse=True)


def _reads_in(locale: str, message: str, params: dict) -> bool:
    """The words around the file's own values are all in ``locale``: Chinese with no
    English word left (and Chinese punctuation), or English with no Chinese."""
    rest = message
    for value in _values(params):
        rest = rest.replace(value, "")
    rest = EXAMPLE.sub("", rest)
    if locale == "en":
        return not CJK.search(rest) and bool(ENGLISH_WORD.search(rest))
    return bool(CJK.search(rest)) and not ENGLISH_WORD.search(rest) \
        and rest.rstrip().endswith(("。", "？"))


def test_row_errors_files_and_notices_read_in_the_readers_language(import_site, redis_conn):
    app, settings = import_site
    client = app.test_client()
    assert login(client, "sup", language="zh_CN").status_code == 302
    customers = _upload(client, _customers_file(), "customers")
    products = _upload(client, PRODUCTS.encode(), "products")
    unusable = _upload(client, b"external_id,nmae\nC9,x\n", "customers")
    gb18030 = _upload(client, "external_id,name\nG1,广州客户\n".encode("gb18030"),
                      "customers")
    worker = SimpleWorker([get_queue("imports", settings=settings)], connection=redis_conn)
    # No command channel for a worker that lives a second: a burst worker that quits
    # before Redis confirmed the subscription waits 60 s for it (redis-py's stop()).
    worker.subscribe = lambda: None
    assert worker.work(burst=True)
    # What the job keeps is codes and values, not words of any language.
    kept = Job.fetch(customers, connection=redis_conn).meta["errors"]
    assert all(isinstance(code, str) and isinstance(params, dict)
               for _line, _field, code, params in kept)

    english, chinese = describer(None), describer("zh_CN")
    read: dict[str, dict] = {}
    for locale in ("zh_CN", "en"):
        _switch(client, locale)
        words = chinese if locale == "zh_CN" else english
        status = client.get(f"/imports/{customers}/status").get_json()
        assert status["state"] == "finished"
        summary = status["summary"]
        assert (summary["created"], summary["updated"], summary["skipped"]) == (1, 1, 15)
        errors = {e["line"]: e for e in status["errors"]}
        assert {n: (e["field"], e["code"]) for n, e in errors.items()} == {
            **{n: (field, code) for n, (_row, field, code) in BAD_CUSTOMERS.items()},
            16: ("name", "import.not_utf8")}
        params = {line: p for line, _field, _code, p in kept}
        for line, error in errors.items():
            expected = words(Problem(error["code"], params[line]))
            assert error["message"] == expected, (locale, line)
            assert _reads_in(locale, error["message"], params[line]), error
        read[locale] = errors

        status = client.get(f"/imports/{products}/status").get_json()
        assert {e["line"]: (e["field"], e["code"]) for e in status["errors"]} == PRODUCT_CODES
        kept_products = {line: p for line, _field, _code, p in
                         Job.fetch(products, connection=redis_conn).meta["errors"]}
        for error in status["errors"]:
            assert _reads_in(locale, error["message"], kept_products[error["line"]]), error

        failed = client.get(f"/imports/{unusable}/status").get_json()
        assert (failed["state"], failed["code"]) == ("failed", "import.unknown_columns")
        file_error = Job.fetch(unusable, connection=redis_conn).meta["file_error"]
        assert file_error[0] == "import.unknown_columns" and file_error[1]["columns"] == ["nmae"]
        assert failed["message"] == words(Problem(*file_error))
        assert _reads_in(locale, failed["message"], file_error[1]), failed
        notice = client.get(f"/imports/{gb18030}/status").get_json()["summary"]["notices"]
        if locale == "zh_CN":
            assert failed["message"].startswith("未知的列：nmae。")
            assert notice == ["文件不是 UTF-8 编码，已按 GB18030（中文版 Excel）读取。"]
        else:
            assert failed["message"].startswith("Unknown columns: nmae.")
            assert notice == ["The file is not UTF-8; it was read as GB18030 (Excel in "
                              "Chinese)."]
    # The same finished import, two readers' languages.
    assert read["zh_CN"][3]["message"] == "此项为必填项。"
    assert read["en"][3]["message"] == "This field is required."
    assert read["zh_CN"][4]["message"].startswith("not-a-phone 不是有效的电话号码")
    assert read["en"][17]["message"].startswith("A cell is longer than 131072 characters")
