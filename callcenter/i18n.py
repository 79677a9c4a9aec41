"""Translations: the .po files are the source; .mo files are built from them."""

from __future__ import annotations

from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def mo_path_for(po_path: Path) -> Path:
    """Where gettext will look for the compiled catalogue of ``po_path``.

    Catalogues live in folders named as people write locales (``zh_CN``), but Babel
    names that locale ``zh_Hans_CN`` and gettext searches ``zh_Hans_CN`` then ``zh``:
    the .mo goes into the folder of Babel's name, so the lookup finds it.
    """
    folder = po_path.parent.parent
    babel_name = str(Locale.parse(folder.name))
    return folder.parent / babel_name / "LC_MESSAGES" / po_path.with_suffix(".mo").name


def ensure_compiled(translations: Path) -> None:
    """Compile every messages.po newer than its .mo (a fresh clone has no .mo files)."""
    for po_path in translations.glob("*/LC_MESSAGES/messages.po"):
        mo_path = mo_path_for(po_path)
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo_path)
