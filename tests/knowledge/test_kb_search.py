"""The knowledge base's services and search on both backends: entries found by their
words in Chinese and English, ranked, with marked snippets; English stems and typos;
synonyms; filters; an edit found by its new words at once; drafts hidden; hostile
questions harmless; versions, stale edits and feedback."""

from __future__ import annotations

import pytest

from callcenter.core.errors import PermissionDenied, StaleVersion, ValidationError
from kb import items
from kb.models import ItemKind, ItemStatus, KbCategory
from kb.search import search
from kb.synonyms import save_synonyms


@pytest.fixture
def editor(make_user):
    return make_user("supervisor", scope="all")


@pytest.fixture
def agent(make_user):
    return make_user("agent")


def publish(session, editor, **data):
    return items.create_item(session, editor, {"status": "published", **data})


def titles(hits):
    return [h.item.title for h in hits]


def test_chinese_words_find_the_entry_and_the_snippet_marks_them(session, editor):
    publish(session, editor, title="空调压缩机异响的处理", lang="zh",
            body="压缩机皮带磨损时，开机后会有尖锐的异响。更换皮带并调整张紧度。",
            models=["KX-200 空调机组"])
    publish(session, editor, title="车门气泵故障", lang="zh", body="车门无法关闭，检查气泵。")
    q, hits = search(session, "压缩机有异响怎么办")
    assert titles(hits)[0] == "空调压缩机异响的处理" and len(hits) == 1
    assert "<mark>压缩机</mark>" in hits[0].snippet and "<mark>异响</mark>" in hits[0].snippet
    assert "怎么办" not in q.words  # a word that tells nothing apart


def test_the_title_and_more_words_rank_first(session, editor):
    publish(session, editor, title="Reefer unit not cooling",
            body="Check the refrigerant and the condenser fan.")
    publish(session, editor, title="Condenser cleaning",
            body="A dirty condenser makes the unit cool badly; not cooling at full load.")
    publish(session, editor, title="Door pump", body="The door does not close.")
    _, hits = search(session, "unit not cooling")
    # Any word may match; the entry with one common word ("not") comes last.
    assert titles(hits) == ["Reefer unit not cooling", "Condenser cleaning", "Door pump"]


def test_english_stems_and_typos(session, editor):
    publish(session, editor, title="Compressor noise", body="The compressor makes noises.")
    q, hits = search(session, "noisy compresor")
    assert titles(hits) == ["Compressor noise"]
    # A typo, and a form the stemmer keeps apart ("noisy" → noisi, "noise" → nois).
    assert q.corrected == {"compresor": "compressor", "noisi": "nois"}
    _, hits = search(session, "compressors")   # plural: the same stem
    assert titles(hits) == ["Compressor noise"]


def test_synonyms_editors_keep(session, editor):
    publish(session, editor, title="空调不制冷", body="检查制冷剂压力。")
    assert search(session, "冷气没了")[1] == []
    save_synonyms(session, editor, {"terms": "不制冷, 冷气没了, no cooling"})
    q, hits = search(session, "冷气没了")
    assert titles(hits) == ["空调不制冷"] and "制冷" in q.added


def test_an_edit_is_found_by_its_new_words_at_once(session, editor):
    item = publish(session, editor, title="发电机无法启动", body="检查电瓶电压。")
    assert search(session, "燃油滤清器")[1] == []
    items.update_item(session, editor, item, {"body": "更换燃油滤清器后再启动。"}, version=1)
    assert titles(search(session, "燃油滤清器")[1]) == ["发电机无法启动"]
    assert search(session, "电瓶电压")[1] == []
    assert [v.version for v in items.versions_of(session, item.id)] == [2, 1]


def test_filters_and_what_agents_see(session, editor, agent):
    top = KbCategory(name="服务", path="")
    session.add(top)
    session.flush()
    top.path = f"/{top.id}/"
    sub = KbCategory(name="空调", parent_id=top.id, path="")
    session.add(sub)
    session.flush()
    sub.path = f"{top.path}{sub.id}/"
    defect = publish(session, editor, title="皮带打滑", kind="defect", symptom="皮带打滑异响",
                     cause="张紧轮松动", solution="1. 调整张紧轮\n2. 更换皮带",
                     models=["KX-200 空调机组"], category_id=sub.id)
    publish(session, editor, title="皮带保养", body="皮带每年检查一次。",
            models=["HT6120 城市客车"])
    draft = items.create_item(session, editor, {"title": "皮带草稿", "body": "皮带"})
    assert draft.status == ItemStatus.DRAFT
    assert set(titles(search(session, "皮带")[1])) == {"皮带打滑", "皮带保养"}
    assert titles(search(session, "皮带", kind="defect")[1]) == ["皮带打滑"]
    assert titles(search(session, "皮带", model="HT6120 城市客车")[1]) == ["皮带保养"]
    assert titles(search(session, "皮带", category_id=top.id)[1]) == ["皮带打滑"]
    assert "皮带草稿" in titles(search(session, "皮带", statuses=tuple(ItemStatus))[1])
    assert defect.kind == ItemKind.DEFECT
    with pytest.raises(items.KbItemNotFound):
        items.get_item(session, agent, draft.id)
    assert items.get_item(session, agent, defect.id) is defect
    with pytest.raises(PermissionDenied):
        items.create_item(session, agent, {"title": "x"})


@pytest.mark.parametrize("question", [
    '"', "' OR 1=1 --", "NEAR(a b)", "a AND OR NOT", "*", "title:x", "\\", "-", "压缩机\"",
    "'); DROP TABLE kb_items; --", "x" * 5000, "", "   ", "的了吗"])
def test_hostile_or_empty_questions_are_harmless(session, editor, question):
    publish(session, editor, title="Compressor noise", body="The compressor makes noises.")
    _, hits = search(session, question)
    assert isinstance(hits, list)


def test_a_stale_edit_changes_nothing_and_feedback_counts_once(session, editor, agent):
    item = publish(session, editor, title="Old", body="text")
    items.update_item(session, editor, item, {"title": "New"}, version=1)
    with pytest.raises(StaleVersion):
        items.update_item(session, editor, item, {"title": "Lost"}, version=1)
    assert item.title == "New"
    with pytest.raises(ValidationError):
        items.update_item(session, editor, item, {"title": "  "}, version=2)
    items.give_feedback(session, agent, item, True)
    items.give_feedback(session, agent, item, True)
    assert (item.helpful, item.not_helpful) == (1, 0)
    items.give_feedback(session, agent, item, False)
    assert (item.helpful, item.not_helpful) == (0, 1)
