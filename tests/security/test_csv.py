"""Issue 9, defect 12: CSV.

Exports: a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a
formula to Excel and friends; every export writes its cells through one kernel function
(``callcenter.core.exports.spreadsheet_cell``) that puts a single quote in front. The only
export today is the import's error report (``callcenter import ... --errors-out``); a
guard below fails when someone adds a CSV or Excel writer that bypasses the function.

Import: a row with a NUL byte is an error of that row (counted, reported with its line),
not the rejection of the whole file.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

import callcenter
import tickets
from callcenter.core.errors import Problem
from callcenter.core.exports import FORMULA_STARTS, SafeCsvWriter, spreadsheet_cell
from callcenter.core.messages import describer
from callcenter.customers.models import Customer
from callcenter.imports.cli import write_errors_csv
from callcenter.imports.importer import ImportFileError, import_csv

DANGEROUS = ["=1+2", "=HYPERLINK(\"http://evil.example\",\"click\")", "+86 cmd", "-2+3",
             "@SUM(A1:A9)", "\t=1+2", "\r=1+2", "-", "+", "="]
HARMLESS = ["北京华通", "13812345678", "name@example.com", " =not first", "", "a=b", "'=x"]


@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_cells_get_a_leading_quote(value):
    assert spreadsheet_cell(value) == "'" + value


@pytest.mark.parametrize("value", HARMLESS + [None, 12, -5, 1.5])
def test_other_cells_are_left_alone(value):
    assert spreadsheet_cell(value) == value


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_safe_writer_escapes_every_cell():
    out = io.StringIO()
    SafeCsvWriter(out).writerows([DANGEROUS, HARMLESS])
    rows = _cells(out.getvalue())
    assert rows[0] == ["'" + v for v in DANGEROUS]
    assert rows[1] == HARMLESS


def test_the_import_error_report_never_starts_a_cell_with_a_formula(session, make_user,
                                                                    tmp_path):
    admin = make_user("admin")
    # Cells the importer does not take for formulas, whose error message starts with them.
    source = ("external_id,name,phones\n"
              "C1,Plus,+999 1234\n"
              "C2,Minus,-12345\n")
    result = import_csv(session, admin, "customers", io.BytesIO(source.encode()),
                        region="CN")
    assert result.errors_total == 2
    # And errors whose words begin with anything at all (an id, a value, a field name).
    for n, start in enumerate(FORMULA_STARTS):
        result.add_error(10 + n, start + "field", Problem("import.not_date",
                                                         {"value": start + "cmd|' /C calc'!A0"}))
    path = tmp_path / "errors.csv"
    write_errors_csv(result, path, describer(None))
    rows = _cells(path.read_text(encoding="utf-8-sig"))
    assert rows[0] == ["line", "field", "message", "code"]
    assert len(rows) == 1 + 2 + len(FORMULA_STARTS)
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), row
    assert rows[1][2].startswith("'+999 1234") and rows[2][2].startswith("'-12345")


#: Ways to write a spreadsheet file: none may appear outside callcenter/core/exports.py.
_WRITERS = re.compile(r"csv\.writer\(|csv\.DictWriter\(|openpyxl|xlsxwriter|xlwt|"
                      r"to_csv\(|to_excel\(|text/csv")


def test_every_export_goes_through_the_kernel_function():
    offenders = []
    for package in (callcenter, tickets):
        for path in Path(package.__file__).parent.rglob("*.py"):
            if path.name == "exports.py" and path.parent.name == "core":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _WRITERS.search(line) and not line.lstrip().startswith("#"):
                    offenders.append(f"{path}:{number}: {line.strip()}")
    assert offenders == [], "\n".join(offenders)


# --- NUL bytes in an import -------------------------------------------------------------

def test_a_nul_byte_fails_its_row_not_the_file(session, make_user):
    admin = make_user("admin")
    data = (b"external_id,name,notes\n"
            b"N1,Good One,fine\n"
            b"N2,Bad\x00Name,x\n"
            b"N3,Good Two,no\x00tes\n"
            b"N4,Good Three,ok\n")
    result = import_csv(session, admin, "customers", io.BytesIO(data), region="CN")
    assert (result.rows_read, result.created, result.skipped) == (4, 2, 2)
    assert result.errors_total == 2
    assert [(e.line, e.field, e.code) for e in result.errors] == \
        [(3, "name", "nul_char"), (4, "notes", "nul_char")]
    names = set(session.scalars(select(Customer.name)))
    assert {"Good One", "Good Three"} <= names and not any("\x00" in n for n in names)


def test_a_binary_file_is_still_refused_whole(session, make_user):
    admin = make_user("admin")
    with pytest.raises(ImportFileError, match="binary"):
        import_csv(session, admin, "customers",
                   io.BytesIO(b"external_id,name\x00\x00\n\x00\x01\x02"), region="CN")
    with pytest.raises(ImportFileError, match="binary"):
        import_csv(session, admin, "customers",
                   io.BytesIO(b"external_id,name\n" + b"\x00\x10" * 400), region="CN")
