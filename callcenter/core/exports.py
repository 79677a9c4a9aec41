"""Writing data out for spreadsheets (CSV today; an Excel writer uses the same rule).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as
a formula by Excel, LibreOffice and Google Sheets ("CSV injection"): a customer named
``=HYPERLINK("http://evil", "click")`` becomes a live link in whoever opens the export.
Every export writes its cells through ``spreadsheet_cell``, which puts a single quote in
front of such text, the escape the spreadsheets themselves use for "this is text". The
import refuses such cells instead (``callcenter.imports.rows``), so nothing imported
becomes a formula either way.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

#: The media type of a CSV download (RFC 7111), with the charset our files are in.
CSV_MEDIA_TYPE = "text/csv"
#: Excel reads a CSV as UTF-8 (Chinese names) only after this byte-order mark.
EXCEL_UTF8_BOM = "\ufeff"

#: What makes a spreadsheet read a cell as a formula (or hide what follows).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as an exported cell: text starting with a formula character gets a
    leading single quote; numbers, None and other text are returned as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` whose every cell goes through ``spreadsheet_cell``."""

    def __init__(self, fh: IO[str], **fmt: Any):
        self._writer = csv.writer(fh, **fmt)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([spreadsheet_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
