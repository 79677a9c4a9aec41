"""Customers and contacts found by name the way agents type them (issue 12): full pinyin
with or without spaces, initials, two-character surnames, surnames read their own way,
English names by any word, Chinese by any part; the keys follow every write (the forms,
the API, the import) and the search stays within the user's scope."""

from __future__ import annotations

import io

import pytest
from api_helpers import bearer
from sqlalchemy import func, select

from callcenter.customers.models import Contact, NameSearchKey
from callcenter.customers.names import query_key, search_keys
from callcenter.customers.services import add_contact, update_customer
from callcenter.imports.importer import import_csv


def test_the_keys_of_a_name():
    assert {"zhangsanfeng", "sanfeng", "zsf", "张三丰", "三丰"} <= search_keys("张三丰")
    assert {"ouyangnana", "oynn"} <= search_keys("欧阳娜娜")
    assert {"tomli", "li"} <= search_keys("Tom Li")
    # the legal form says nothing; the place and the trade each start a key
    keys = search_keys("北京华通汽车有限公司")
    assert {"huatongqiche", "华通汽车", "bjhtqc"} <= keys and "youxiangongsi" not in keys
    assert {"shanxiongxin", "danxiongxin"} <= search_keys("单雄信")   # a surname's reading
    assert "chongqingchanganqiche" in search_keys("重庆长安汽车")      # read in context
    assert search_keys("") == set() and search_keys("!!!") == set()
    assert all(len(k) <= 64 for k in search_keys("很" * 300))
    assert query_key("Zhang San-Feng") == "zhangsanfeng"
    assert query_key("l") is None and query_key("  ") is None and query_key("李") == "李"


@pytest.fixture
def agent(make_user):
    return make_user("agent", scope="own", department="Service/Beijing", token=True)


def _found(client, user, q: str) -> list[str]:
    r = client.get("/api/v1/customers", query_string={"q": q}, headers=bearer(user))
    assert r.status_code == 200, r.get_json()
    return sorted(c["name"] for c in r.get_json()["items"])


def test_the_api_finds_customers_and_contacts_by_pinyin(client, session, agent, make_customer):
    make_customer(agent, "张三丰")
    make_customer(agent, "欧阳娜娜")
    make_customer(agent, "李明")
    make_customer(agent, "单雄信")
    acme = make_customer(agent, "Acme Trading Co.")
    add_contact(session, agent, acme, {"name": "Tom Li"}, region="CN")
    make_customer(agent, "北京华通汽车有限公司")
    session.flush()
    for q in ("zhang san feng", "zhangsanfeng", "ZhangSanFeng", "zsf", "sanfeng", "张三"):
        assert _found(client, agent, q) == ["张三丰"], q
    assert _found(client, agent, "ouyang") == ["欧阳娜娜"]
    assert _found(client, agent, "li") == ["Acme Trading Co.", "李明"]   # 李 and Tom Li
    assert _found(client, agent, "tom") == ["Acme Trading Co."]
    assert _found(client, agent, "shan") == ["单雄信"]
    assert _found(client, agent, "qiche") == ["北京华通汽车有限公司"]
    assert _found(client, agent, "华通") == ["北京华通汽车有限公司"]
    for hostile in ("%", "_", "l%", "' OR 1=1 --", "\\", "z" * 190):
        assert _found(client, agent, hostile) == [], hostile


def test_the_keys_follow_renames_moves_and_removals(client, session, agent, make_customer):
    a = make_customer(agent, "张伟")
    b = make_customer(agent, "王芳")
    contact = add_contact(session, agent, a, {"name": "欧阳修"}, region="CN")
    session.flush()
    assert _found(client, agent, "ouyangxiu") == ["张伟"]
    update_customer(session, agent, a, {"name": "赵伟", "version": a.version}, region="CN")
    contact.customer_id = b.id          # the person now calls for another customer
    session.flush()
    assert _found(client, agent, "zhangwei") == []
    assert _found(client, agent, "zhaowei") == ["赵伟"]
    assert _found(client, agent, "ouyangxiu") == ["王芳"]
    session.delete(session.get(Contact, contact.id))
    session.flush()
    assert _found(client, agent, "ouyangxiu") == []
    assert session.scalar(select(func.count()).select_from(NameSearchKey)
                          .where(NameSearchKey.contact_id == contact.id)) == 0


def test_imported_names_are_found_too(client, session, make_user):
    admin = make_user("admin", username="importer", token=True)
    customers = ("external_id,name,phones\n"
                 "C1,诸葛亮,13812345678\n"
                 "C2,Globex Corporation,\n")
    contacts = "external_id,customer_external_id,name\nK1,C2,Hank Scorpio\n"
    import_csv(session, admin, "customers", io.BytesIO(customers.encode()), region="CN")
    import_csv(session, admin, "contacts", io.BytesIO(contacts.encode()), region="CN")
    session.flush()
    assert _found(client, admin, "zhuge") == ["诸葛亮"]
    assert _found(client, admin, "zgl") == ["诸葛亮"]
    assert _found(client, admin, "scorpio") == ["Globex Corporation"]
    # a re-import that renames rewrites the keys, one that changes nothing keeps them
    before = session.scalar(select(func.count()).select_from(NameSearchKey))
    import_csv(session, admin, "customers", io.BytesIO(customers.encode()), region="CN")
    session.flush()
    assert session.scalar(select(func.count()).select_from(NameSearchKey)) == before
    renamed = customers.replace("诸葛亮", "司马懿")
    import_csv(session, admin, "customers", io.BytesIO(renamed.encode()), region="CN")
    session.flush()
    assert _found(client, admin, "zhuge") == [] and _found(client, admin, "sima") == ["司马懿"]


def test_the_search_keeps_to_the_users_scope(client, session, make_user, make_customer):
    mine = make_user("agent", scope="own", department="Service/Beijing", token=True)
    other = make_user("agent", scope="own", department="Service/Shanghai", token=True)
    make_customer(mine, "刘备")
    make_customer(other, "刘表")
    session.flush()
    assert _found(client, mine, "liu") == ["刘备"]
    assert _found(client, other, "liu") == ["刘表"]
