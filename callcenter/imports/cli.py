"""`callcenter import KIND FILE`: the command-line shell around ``import_csv``."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import click
from sqlalchemy import select

from callcenter.config import Settings
from callcenter.core.errors import PermissionDenied, Problem
from callcenter.core.exports import SafeCsvWriter
from callcenter.core.messages import describer, error_message
from callcenter.db import session_scope
from callcenter.imports.importer import ImportFileError, ImportResult, import_csv
from callcenter.users.models import User


def run_import_command(settings: Settings, sessionmaker, kind: str, file: Path, *,
                       username: str | None, errors_out: Path | None,
                       show_errors: int) -> ImportResult:
    """Import with a progress bar, print the summary and errors; ClickException if unusable."""
    total = file.stat().st_size
    try:
        with session_scope(sessionmaker) as session, click.progressbar(
                length=max(total, 1), label=f"importing {kind}", show_pos=False,
                show_percent=True, show_eta=True, file=sys.stderr
        ) as bar:
            actor = None
            if username:
                actor = session.scalar(select(User).where(User.username == username))
                if actor is None or not actor.active:
                    raise click.ClickException(f"--as-user: no active user {username!r}")
            done = 0

            def progress(_rows: int, bytes_done: int | None, _total: int | None) -> None:
                nonlocal done
                if bytes_done is not None and bytes_done > done:
                    bar.update(bytes_done - done)
                    done = bytes_done

            result = import_csv(session, actor, kind, file,
                                region=settings.default_phone_region, progress=progress)
    except ImportFileError as exc:
        words = describer(terminal_locale())
        raise click.ClickException(f"{file.name}: {words(exc.problem)}") from exc
    except PermissionDenied as exc:
        raise click.ClickException(f"--as-user: {error_message(exc)}") from exc
    words = describer(terminal_locale())
    _print_summary(result, show_errors, words)
    if errors_out is not None:
        write_errors_csv(result, errors_out, words)
        click.echo(f"all {len(result.errors)} rejected rows written to {errors_out}")
    return result


def terminal_locale() -> str | None:
    """The operator's language as the shell gives it (LC_ALL, LC_MESSAGES, LANG):
    Chinese when it says zh, else None (English)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh_CN" if value.lower().startswith("zh") else None
    return None


def _print_summary(result: ImportResult, show_errors: int,
                   words: Callable[[Problem], str]) -> None:
    rate = result.rows_read / result.seconds if result.seconds else 0
    click.echo(f"{result.rows_read} rows read in {result.seconds:.1f} s ({rate:,.0f} rows/s): "
               f"{result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged, {result.skipped} skipped")
    for notice in result.notices:
        click.echo(f"note: {words(notice)}")
    for error in result.errors[:show_errors]:
        where = f" {error.field}:" if error.field else ""
        click.echo(f"line {error.line}:{where} {words(error.problem)}", err=True)
    hidden = result.errors_total - min(show_errors, len(result.errors))
    if hidden > 0:
        click.echo(f"... and {hidden} more rejected rows (see --errors-out)", err=True)


def write_errors_csv(result: ImportResult, path: Path,
                     words: Callable[[Problem], str]) -> None:
    """Every kept error as line, field, message (worded by ``words``) and its code."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = SafeCsvWriter(fh)  # messages quote cells: no formula gets out
        writer.writerow(["line", "field", "message", "code"])
        writer.writerows((e.line, e.field, words(e.problem), e.code) for e in result.errors)
        if result.errors_total > len(result.errors):
            writer.writerow(["", "", f"{result.errors_total - len(result.errors)} further "
                                     "errors not listed"])
