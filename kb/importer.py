"""Importing knowledge-base entries from a JSON file (``callcenter kb import FILE.json``)
and exporting them (JSON, or a folder of Markdown files with front matter).

The JSON file is a list of objects: ``key`` (kept as the entry's ``external_id``),
``kind`` (``article`` or ``defect``), ``lang``, ``title``, ``body``, ``product_model``
(one model, or ``models``: a list), ``category`` (a path, "服务/空调"), and for defects
``symptom``, ``cause``, ``solution`` and ``defect_code`` (a code of the taxonomy);
optionally ``tags`` and ``status`` (default ``published``). Importing the same keys
again updates those entries (only what changed, as a new version) instead of adding them
twice. An object that is not valid is reported
with its position and skipped; the others are imported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from callcenter.core.errors import AppError
from callcenter.core.messages import error_message
from callcenter.users.models import User
from kb import items
from kb.categories import ensure_path, path_of
from kb.models import DefectCode, KbCategory, KbItem

MAX_FILE_BYTES = 200 * 1024 * 1024
FIELDS = ("title", "body", "symptom", "cause", "solution", "kind", "lang", "tags")


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.errors)


def read_json(path: Path) -> list[Any]:
    """The file's list of objects; ValueError with a clear message otherwise."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not JSON in UTF-8: {exc}") from None
    if not isinstance(data, list):
        raise ValueError(f"{path} must hold a list of objects")
    return data


def _data(session: Session, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    if "_error" in raw:
        raise ValueError(str(raw["_error"]))
    key = raw.get("key")
    if not isinstance(key, str) or not key.strip():
        raise ValueError("no key")
    data = {f: raw[f] for f in FIELDS if raw.get(f) is not None}
    data["external_id"] = key.strip()
    models = raw.get("models")
    if models is None and raw.get("product_model"):
        models = [raw["product_model"]]
    if models is not None:
        data["models"] = models
    code = raw.get("defect_code")
    if code is not None:
        found = session.scalar(select(DefectCode.id).where(DefectCode.code == str(code)))
        if found is None:
            raise ValueError(f"unknown defect code {str(code)[:40]!r}")
        data["defect_code_id"] = found
    category = raw.get("category")
    if isinstance(category, str) and category.strip():
        english = raw.get("category_en")
        names_en = tuple(english.replace("／", "/").split("/")) \
            if isinstance(english, str) else ()
        data["category_id"] = ensure_path(session, category, names_en=names_en).id
    elif category is not None:
        raise ValueError("category must be a path such as 服务/空调")
    return data


def import_items(session: Session, actor: User, rows: list[Any], *,
                 progress: Callable[[int], None] | None = None,
                 commit_every: int = 200) -> ImportResult:
    """Creates or updates one entry per object; ``progress(n)`` after every object.
    Each object is its own savepoint: a bad one is skipped, the rest are kept. Commits
    every ``commit_every`` objects (a long import holds no lock for its whole length)."""
    result = ImportResult()
    for position, raw in enumerate(rows, start=1):
        try:
            with session.begin_nested():
                data = _data(session, raw)
                status = raw.get("status", "published")
                existing = session.scalar(select(KbItem).where(
                    KbItem.external_id == data["external_id"]))
                if existing is None:
                    items.create_item(session, actor, {**data, "status": status})
                    result.created += 1
                else:
                    before = existing.version
                    items.update_item(session, actor, existing, data, version=None)
                    items.set_status(session, actor, existing, status, version=None)
                    if existing.version != before:
                        result.updated += 1
                    else:
                        result.unchanged += 1
        except (AppError, ValueError) as exc:
            message = error_message(exc) if isinstance(exc, AppError) else str(exc)
            result.errors.append((position, message))
        if progress is not None:
            progress(1)
        if position % commit_every == 0:
            session.commit()
    return result


def export_rows(session: Session) -> Iterator[dict[str, Any]]:
    """Every entry as an import object (what ``import_items`` reads back)."""
    categories = {c.id: c for c in session.scalars(select(KbCategory))}
    codes = dict(session.execute(select(DefectCode.id, DefectCode.code)).all())
    for item in session.scalars(select(KbItem).order_by(KbItem.id)):
        row = {"key": item.external_id or f"kb-{item.id}", "kind": item.kind.value,
               "lang": item.lang, "title": item.title, "body": item.body,
               "status": item.status.value,
               "models": items.models_of(session, item.id),
               "tags": items.tags_of(session, item.id),
               "category": path_of(session, categories.get(item.category_id))}
        english = path_of(session, categories.get(item.category_id), english=True)
        if english != row["category"]:
            row["category_en"] = english
        if item.kind.value == "defect":
            row.update(symptom=item.symptom, cause=item.cause, solution=item.solution)
            if item.defect_code_id:
                row["defect_code"] = codes.get(item.defect_code_id)
        yield row


# --- a folder of Markdown files with front matter --------------------------------------

#: Front-matter fields; the rest of the file is the body.
FRONT = ("key", "kind", "lang", "title", "status", "models", "tags", "category",
         "category_en", "defect_code", "symptom", "cause", "solution")


def read_markdown_folder(folder: Path) -> list[Any]:
    """Import objects from ``folder``'s ``*.md`` files (by name): YAML front matter between
    ``---`` lines, then the Markdown body. A file that cannot be read becomes an object
    the import reports and skips (``{"_error": ...}``)."""
    import yaml

    rows: list[Any] = []
    for path in sorted(folder.glob("*.md")):
        try:
            text = path.read_text(encoding="utf-8-sig")
            if not text.startswith("---\n"):
                raise ValueError("no front matter (the file must start with ---)")
            head, sep, body = text[4:].partition("\n---\n")
            if not sep:
                raise ValueError("the front matter is not closed by ---")
            meta = yaml.safe_load(head) or {}
            if not isinstance(meta, dict):
                raise ValueError("the front matter is not a mapping")
            rows.append({**{k: meta[k] for k in FRONT if k in meta},
                         "key": meta.get("key") or path.stem, "body": body.strip("\n")})
        except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
            rows.append({"_error": f"{path.name}: {exc}"})
    return rows


def write_markdown_folder(session: Session, folder: Path) -> int:
    """Every entry as ``<key>.md`` in ``folder`` (what ``read_markdown_folder`` reads)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for row in export_rows(session):
        body = row.pop("body", "")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in row["key"])[:120]
        head = yaml.safe_dump(row, allow_unicode=True, sort_keys=False)
        (folder / f"{safe}.md").write_text(f"---\n{head}---\n{body}\n", encoding="utf-8")
        count += 1
    return count
