"""``callcenter kb ...``: import and export the knowledge base, rebuild its index, load
the demo content. Thin shells over ``kb.importer``, ``kb.index`` and ``kb.demo``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import select


@click.group("kb")
def kb_group() -> None:
    """The knowledge base and defect library."""


@contextmanager
def _session_scope() -> Iterator:
    """One unit of work on an engine of its own, closed afterwards."""
    from callcenter.cli import _settings
    from callcenter.db import make_engine, make_sessionmaker, session_scope
    engine = make_engine(_settings().database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _actor(session, username: str | None):
    if not username:
        return None
    from callcenter.users.models import User
    actor = session.scalar(select(User).where(User.username == username))
    if actor is None or not actor.active:
        raise click.ClickException(f"--as-user: no active user {username!r}")
    return actor


@kb_group.command("import")
@click.argument("file", type=click.Path(exists=True, path_type=Path))
@click.option("--as-user", "username", default=None,
              help="Import as this editor (the history names them). Default: the operator.")
@click.option("--show-errors", default=20, show_default=True)
def import_cmd(file: Path, username: str | None, show_errors: int) -> None:
    """Import FILE.json (a list of {key, kind, lang, title, body, product_model, category,
    symptom, cause, solution}) or a FOLDER of Markdown files with front matter. The same
    keys again update those entries."""
    from kb.importer import import_items, read_json, read_markdown_folder
    try:
        rows = read_markdown_folder(file) if file.is_dir() else read_json(file)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    with _session_scope() as session:
        actor = _actor(session, username)
        with click.progressbar(length=len(rows), label="importing", show_pos=True,
                               file=sys.stderr) as bar:
            result = import_items(session, actor, rows, progress=bar.update)
    click.echo(f"{result.created} created, {result.updated} updated, {result.unchanged} "
               f"unchanged, {len(result.errors)} skipped ({result.total} in the file)")
    for position, message in result.errors[:show_errors]:
        click.echo(f"  item {position}: {message}", err=True)


@kb_group.command("export")
@click.argument("file", type=click.Path(writable=True, path_type=Path))
@click.option("--markdown", is_flag=True,
              help="A folder of Markdown files with front matter instead of one JSON file.")
def export_cmd(file: Path, markdown: bool) -> None:
    """Write every entry to FILE.json (or, with --markdown, to the folder FILE), as
    `kb import` reads it."""
    from kb.importer import export_rows, write_markdown_folder
    with _session_scope() as session:
        if markdown:
            count = write_markdown_folder(session, file)
        else:
            rows = list(export_rows(session))
            file.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
            count = len(rows)
    click.echo(f"{count} entries written to {file}")


@kb_group.command("reindex")
def reindex_cmd() -> None:
    """Cut every entry into words again (after the segmentation changed)."""
    from kb.index import reindex_all
    with _session_scope() as session:
        done = reindex_all(session)
    click.echo(f"{done} entries indexed")
