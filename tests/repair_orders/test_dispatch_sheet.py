"""The dispatch sheet: the page in both languages, its scope, and the PDF made from the
same template with WeasyPrint: the Chinese text is in it (pdftotext) and the font
embedded is a CJK one (pdffonts), so it renders rather than showing empty boxes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sheet_support import CUSTOMER, seed_order
from webtools import login, text


@pytest.fixture
def seeded(app, session, make_user):
    lead = make_user("supervisor", username="lead", department="Service")
    tech = make_user("technician", username="wang", department="Service/Stations",
                     scope="own")
    make_user("technician", username="zhao", department="Other", scope="own")
    ids = seed_order(session, lead, tech, settings=app.config["SETTINGS"])
    session.flush()
    return ids


def test_the_sheet_shows_what_the_technician_needs_in_english_and_chinese(client, seeded):
    assert login(client, "wang").status_code == 302
    page = text(client.get(f"/repairs/{seeded['order']}/dispatch-sheet?lang=en"))
    for expected in ("Dispatch sheet", f"RO-{seeded['order']:06d}", CUSTOMER, "朝阳区建国路88号",
                     "138 1234 5678", "张伟", "139 0000 1111", "HT6120 城市客车",
                     "LZYTBGCL5K1000001", "Standard warranty", "压缩机有异响",
                     "压缩机皮带磨损", "北京朝阳维修站", "What to bring", "AC-BLT-02",
                     "AC-CMP-01", "Multimeter", "Technician"):
        assert expected in page, expected
    # The issued belt is listed once (issued), not again among the parts that fit.
    assert page.count("AC-BLT-02") == 1
    zh = text(client.get(f"/repairs/{seeded['order']}/dispatch-sheet?lang=zh_CN"))
    for expected in ("派工单", "客户", "故障描述", "携带物品", "是"):
        assert expected in zh, expected


def test_an_order_outside_the_scope_has_no_sheet(client, seeded):
    assert login(client, "zhao").status_code == 302
    assert client.get(f"/repairs/{seeded['order']}/dispatch-sheet").status_code == 404
    assert client.get(f"/repairs/{seeded['order']}/dispatch-sheet.pdf").status_code == 404
    assert client.get("/repairs/999999/dispatch-sheet").status_code == 404


def test_an_agent_of_another_department_does_not_see_it(client, seeded, make_user):
    make_user("agent", username="ann", department="Sales", scope="department")
    assert login(client, "ann").status_code == 302
    assert client.get(f"/repairs/{seeded['order']}/dispatch-sheet").status_code == 404


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_pdf_has_the_chinese_text_in_an_embedded_cjk_font(client, seeded, tmp_path, lang):
    assert login(client, "lead").status_code == 302
    response = client.get(f"/repairs/{seeded['order']}/dispatch-sheet.pdf?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(response.data)
    words = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout
    assert CUSTOMER in words
    assert "空调压缩机" in words and "LZYTBGCL5K1000001" in words
    assert ("派工单" if lang == "zh_CN" else "Dispatch sheet") in words
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    assert all(" yes " in line for line in cjk), fonts  # embedded (subset)
    pages = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                           check=True).stdout
    assert "595.276 x 841.89" in pages or "595.28 x 841.89" in pages  # A4 in points
    if shots := os.environ.get("REPAIR_SHOTS"):  # the page as an image, to look at
        Path(shots).mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf),
                        str(Path(shots) / f"dispatch-sheet-pdf-{lang}")], check=True)
