"""`callcenter kb import FILE.json`: keys kept as external ids, the same keys again
update instead of duplicating, bad objects reported by position and skipped, progress
printed; `kb export` writes what `kb import` reads back."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callcenter.cli import main
from callcenter.db import make_engine, make_sessionmaker, session_scope
from callcenter.users.services import create_user
from kb.categories import path_of
from kb.models import KbCategory, KbItem, KbItemVersion
from kb.search import search

ITEMS = [
    {"key": "AC-001", "kind": "article", "lang": "zh", "title": "空调压缩机异响",
     "body": "压缩机皮带磨损。", "product_model": "KX-200 空调机组", "category": "服务/空调"},
    {"key": "AC-D01", "kind": "defect", "lang": "en", "title": "Belt slipping",
     "body": "", "product_model": "KX-200 空调机组", "category": "服务/空调/皮带",
     "symptom": "Squeal at start", "cause": "Loose tensioner", "solution": "1. Tighten"},
]


@pytest.fixture
def cli_env(backend, fresh_database, redis_url, tmp_path, monkeypatch):
    url = fresh_database.create(backend)
    for name, value in {"DATABASE_URL": url, "REDIS_URL": redis_url,
                        "CALLCENTER_INSTANCE": str(tmp_path / "instance"),
                        "SECRET_KEY": "test-secret-key-0123456789"}.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "instance").mkdir()
    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as session:
        create_user(session, username="editor", password="correct horse battery",
                    role="supervisor", scope="all")
    yield engine
    engine.dispose()


def _run(*args):
    result = CliRunner().invoke(main, ["kb", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_import_twice_updates_and_export_round_trips(cli_env, tmp_path):
    source = tmp_path / "kb.json"
    source.write_text(json.dumps(ITEMS, ensure_ascii=False), encoding="utf-8")
    out = _run("import", str(source), "--as-user", "editor")
    assert "2 created, 0 updated, 0 unchanged, 0 skipped (2 in the file)" in out
    changed = [dict(ITEMS[0], body="压缩机皮带磨损，需更换。"), ITEMS[1],
               {"key": "", "title": "no key"}, "not an object",
               {"key": "X-1", "title": "", "body": "empty title"}]
    source.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    out = _run("import", str(source))
    assert "0 created, 1 updated, 1 unchanged, 3 skipped (5 in the file)" in out
    assert "item 3: no key" in out and "item 4: not an object" in out
    with Session(cli_env) as session:
        assert session.scalar(select(func.count()).select_from(KbItem)) == 2
        article = session.scalar(select(KbItem).where(KbItem.external_id == "AC-001"))
        assert article.version == 2 and "需更换" in article.body
        assert session.scalar(select(func.count()).select_from(KbItemVersion)
                              .where(KbItemVersion.item_id == article.id)) == 2
        defect = session.scalar(select(KbItem).where(KbItem.external_id == "AC-D01"))
        assert path_of(session, session.get(KbCategory, defect.category_id)) == "服务/空调/皮带"
        assert [h.item.external_id for h in search(session, "需更换")[1]] == ["AC-001"]
    exported = tmp_path / "out.json"
    assert "2 entries written" in _run("export", str(exported))
    rows = json.loads(exported.read_text(encoding="utf-8"))
    assert {r["key"] for r in rows} == {"AC-001", "AC-D01"}
    assert "0 created, 0 updated, 2 unchanged" in _run("import", str(exported))


@pytest.mark.parametrize("content", ["{not json", '{"a": 1}', "\xff\xfe"])
def test_an_unusable_file_is_refused_in_words(cli_env, tmp_path, content):
    source = tmp_path / "bad.json"
    source.write_bytes(content.encode("latin-1"))
    result = CliRunner().invoke(main, ["kb", "import", str(source)])
    assert result.exit_code != 0 and "bad.json" in result.output


def test_a_folder_of_markdown_files_round_trips(cli_env, tmp_path):
    folder = tmp_path / "md"
    folder.mkdir()
    (folder / "AC-001.md").write_text(
        "---\nkind: article\nlang: zh\ntitle: 空调压缩机异响\nmodels: [KX-200 空调机组]\n"
        "category: 服务/空调\n---\n压缩机**皮带**磨损。\n", encoding="utf-8")
    (folder / "broken.md").write_text("no front matter here", encoding="utf-8")
    (folder / "bad-yaml.md").write_text("---\ntitle: [unclosed\n---\nx\n", encoding="utf-8")
    out = _run("import", str(folder))
    assert "1 created" in out and "2 skipped" in out and "broken.md" in out
    exported = tmp_path / "out"
    assert "1 entries written" in _run("export", "--markdown", str(exported))
    text_ = (exported / "AC-001.md").read_text(encoding="utf-8")
    assert text_.startswith("---\nkey: AC-001\n") and "压缩机**皮带**磨损。" in text_
    assert "0 created, 0 updated, 1 unchanged" in _run("import", str(exported))
