"""Duplicate detection: phones, tax ids, Chinese and Latin names; scope; merged records."""

import pytest

from callcenter.core.errors import ValidationError
from callcenter.customers.duplicates import (
    REASON_NAME,
    REASON_PHONE,
    REASON_SIMILAR_NAME,
    REASON_TAX_ID,
    DuplicateCandidate,
    duplicates_of,
    find_duplicate_pairs,
    name_similarity,
)
from callcenter.customers.names import name_key, pinyin_key
from callcenter.customers.services import add_contact, update_customer


def pairs(session, user, **kw):
    return {(c.customer_id, c.other_id): c.reasons
            for c in find_duplicate_pairs(session, user, **kw)}


def others(session, user, customer):
    return {c.other_id: c.reasons for c in duplicates_of(session, user, customer)}


def test_pinyin_key():
    assert pinyin_key("华通汽车有限公司") == "huatongqiche"
    assert pinyin_key("Huatong Qiche Co., Ltd.") == "huatongqiche"
    assert pinyin_key("华同汽车") == pinyin_key("华通汽车")      # homophone typo
    assert pinyin_key("ABC科技") == "abckeji"
    assert pinyin_key("") == ""


def test_name_similarity_by_script():
    s = lambda a, b: name_similarity(name_key(a), pinyin_key(a),  # noqa: E731
                                     name_key(b), pinyin_key(b))
    assert s("北京华通汽车有限公司", "北京华通汽车") == 100
    assert s("北京华通汽车服务中心", "北京华通汽车服务中兴") >= 90   # one character off
    assert s("华通汽车", "华通汽修") < 90                         # a different business
    assert s("华通汽车配件", "华同汽车配件") >= 90                  # homophone
    assert s("华通汽车", "Huatong Qiche Ltd") >= 90               # pinyin spelling
    assert s("Acme Trading Co.", "ACME Tradng") >= 90
    assert s("Acme Trading", "Acme Logistics") < 90
    assert s("", "Acme") == 0


def test_same_phone_in_any_format_including_contacts(session, make_user, make_customer):
    agent = make_user("agent")
    a = make_customer(agent, "Zhang San", phones=["13812345678"])
    b = make_customer(agent, "Wang Wu", phones=["+86 138 1234 5678"])
    c = make_customer(agent, "Li Si Transport")
    add_contact(session, agent, c, {"name": "Dispatcher", "phones": ["008613812345678"]},
                region="CN")
    make_customer(agent, "Unrelated", phones=["13900000000"])
    found = pairs(session, agent)
    assert found == {(a.id, b.id): (REASON_PHONE,), (a.id, c.id): (REASON_PHONE,),
                     (b.id, c.id): (REASON_PHONE,)}
    assert others(session, agent, c) == {a.id: (REASON_PHONE,), b.id: (REASON_PHONE,)}


def test_same_tax_id_and_same_name(session, make_user, make_customer):
    agent = make_user("agent")
    a = make_customer(agent, "北京华通汽车有限公司", tax_id="91110000MA01ABCD1X")
    b = make_customer(agent, "华通汽车(北京)", tax_id="91110000MA01ABCD1X")
    c = make_customer(agent, "北京华通汽车")
    make_customer(agent, "上海东方机械", tax_id="91310000MA02WXYZ9Q")
    found = pairs(session, agent)
    assert found[(a.id, b.id)] == (REASON_TAX_ID,)
    assert found[(a.id, c.id)] == (REASON_NAME,)
    assert len(found) == 2


def test_similar_names_chinese_latin_and_pinyin(session, make_user, make_customer):
    agent = make_user("agent")
    typo_a = make_customer(agent, "北京华通汽车服务中心")
    typo_b = make_customer(agent, "北京华通汽车服务中兴")
    homophone_a = make_customer(agent, "东方重工机械配件")
    homophone_b = make_customer(agent, "东芳重工机械配件")
    chinese = make_customer(agent, "长城电梯")
    pinyin = make_customer(agent, "Changcheng Dianti Co., Ltd.")
    latin_a = make_customer(agent, "Acme Trading Company")
    latin_b = make_customer(agent, "ACME Tradng")
    make_customer(agent, "Acme Logistics")
    make_customer(agent, "北京华通汽修")
    found = pairs(session, agent)
    assert found == {
        (typo_a.id, typo_b.id): (REASON_SIMILAR_NAME,),
        (homophone_a.id, homophone_b.id): (REASON_SIMILAR_NAME,),
        (chinese.id, pinyin.id): (REASON_SIMILAR_NAME,),
        (latin_a.id, latin_b.id): (REASON_SIMILAR_NAME,),
    }
    assert others(session, agent, pinyin) == {chinese.id: (REASON_SIMILAR_NAME,)}


def test_renamed_customer_keeps_its_pinyin_key(session, make_user, make_customer):
    agent = make_user("agent")
    a = make_customer(agent, "Yangguang Dianqi")
    b = make_customer(agent, "Something Else")
    assert pairs(session, agent) == {}
    update_customer(session, agent, b, {"name": "阳光电器"}, region="CN")
    session.flush()
    assert b.name_pinyin == "yangguangdianqi"
    assert pairs(session, agent) == {(a.id, b.id): (REASON_SIMILAR_NAME,)}


def test_scores_rank_stronger_evidence_first(session, make_user, make_customer):
    agent = make_user("agent")
    a = make_customer(agent, "Huatong Bus", phones=["13812345678"], tax_id="T-1")
    b = make_customer(agent, "Huatong Bus Ltd", phones=["13812345678"], tax_id="T-1")
    c = make_customer(agent, "Huatong Bus Co")
    result = duplicates_of(session, agent, a)
    assert [d.other_id for d in result] == [b.id, c.id]
    assert result[0] == DuplicateCandidate(a.id, b.id,
                                           (REASON_TAX_ID, REASON_PHONE, REASON_NAME),
                                           result[0].score)
    assert 0 < result[1].score < result[0].score <= 1
    assert len(duplicates_of(session, agent, a, limit=1)) == 1
    for bad in (0, -5, "20", 10**6, None, 2.5):
        with pytest.raises(ValidationError):
            duplicates_of(session, agent, a, limit=bad)


def test_only_customers_in_scope_and_never_merged(session, make_user, make_customer):
    beijing = make_user("agent", department="Service/Beijing")
    shanghai = make_user("agent", department="Service/Shanghai")
    mine = make_customer(beijing, "Zhang San", phones=["13812345678"])
    make_customer(shanghai, "Zhang San", phones=["13812345678"])
    mine_too = make_customer(beijing, "Zhang San")
    assert pairs(session, beijing) == {(mine.id, mine_too.id): (REASON_NAME,)}
    assert len(pairs(session, make_user("admin"))) == 3
    mine_too.merged_into_id = mine.id
    session.flush()
    assert pairs(session, beijing) == {}
    assert duplicates_of(session, beijing, mine) == []
    assert duplicates_of(session, make_user("admin"), mine_too) == []


def test_blocking_never_compares_all_pairs(session, make_user, make_customer, monkeypatch):
    """Many unrelated customers: only pairs sharing a blocking key are ever scored."""
    from callcenter.customers import duplicates

    agent = make_user("agent")
    words = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel",
             "India", "Juliet", "Kilo", "Lima", "Mike", "November", "Oscar", "Papa"]
    for i, word in enumerate(words):
        for j, trade in enumerate(("Trading", "Logistics", "Foods")):
            make_customer(agent, f"{word} {trade} {i}{j}", phones=[f"1381234{i:02d}{j:02d}"])
    twin = make_customer(agent, "Golf Foods 62")
    scored = []
    real = duplicates.name_similarity
    monkeypatch.setattr(duplicates, "name_similarity",
                        lambda *args: scored.append(args) or real(*args))
    result = pairs(session, agent)
    assert list(result.values()) == [(REASON_NAME,)]
    assert twin.id in next(iter(result))
    # 49 customers make 1176 pairs; blocking leaves only those sharing a name prefix.
    assert len(scored) < 60
