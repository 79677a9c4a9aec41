"""Translations: the .po files are the source; .mo files are built from them.

The app never compiles: a wheel carries the .mo files (``setup.py`` compiles them into
the build), and a source tree gets them from ``scripts/_common.sh``, which runs
``python -m callcenter.i18n`` (run it yourself after editing a .po file).

Babel only, no package imports: ``setup.py`` loads this file by path at build time.
"""

from __future__ import annotations

from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def mo_name(po_relative: Path) -> Path:
    """Where gettext will look for the compiled catalogue of ``<locale>/LC_MESSAGES/x.po``,
    relative to the translations folder.

    Catalogues live in folders named as people write locales (``zh_CN``), but Babel
    names that locale ``zh_Hans_CN`` and gettext searches ``zh_Hans_CN`` then ``zh``:
    the .mo goes into the folder of Babel's name, so the lookup finds it.
    """
    locale, messages, po_file = po_relative.parts
    babel_name = str(Locale.parse(locale))
    return Path(babel_name, messages, Path(po_file).with_suffix(".mo").name)


def compile_catalogues(source: Path, target: Path | None = None) -> list[Path]:
    """Compile ``source/<locale>/LC_MESSAGES/*.po`` into ``target`` (default: ``source``),
    skipping a .mo newer than its .po. Returns the .mo files written."""
    target = source if target is None else target
    written = []
    for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo_path = target / mo_name(po_path.relative_to(source))
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo_path)
        written.append(mo_path)
    return written


def stale_catalogues(source: Path) -> list[Path]:
    """The .po files whose .mo is missing or older (a fresh clone has no .mo files)."""
    stale = []
    for po_path in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo_path = source / mo_name(po_path.relative_to(source))
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            stale.append(po_path)
    return stale


if __name__ == "__main__":
    # python -m callcenter.i18n: compile the source tree's catalogues in place.
    folder = Path(__file__).resolve().parent / "translations"
    for path in compile_catalogues(folder):
        print(f"compiled {path.relative_to(folder)}")
