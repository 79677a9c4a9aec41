"""Two supervisors on the alert thresholds page in Chromium (zh-CN and en, 1280 and 390
px wide): the one who saves second is told what the other saved, keeps what they typed,
and replaces it with a second save. Screenshots go to ``$WALLBOARD_SHOTS`` (else the
test's folder)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from live_server import browser_login
from page_checks import OVERFLOW
from test_browser_wallboard_chart import PASSWORD, site  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")]

PAGE = "/wallboard/thresholds"
STALE = {"en": "Someone else saved the alerts of 北京热线 meanwhile. They are now: "
               "service level below {sl} %, longest wait over 30 s, abandoned above 4 %.",
         "zh": "北京热线的告警阈值已被他人保存。现在为：服务水平低于 {sl}%，最长等待超过 30 秒，"
               "放弃率高于 4%。"}
SAVED = {"en": "The alerts of 北京热线 are saved.", "zh": "北京热线"}
LABEL = {"en": "Service level below", "zh": "服务水平低于"}
SAVE = {"en": "Save", "zh": "保存"}
THEIRS = {"en": "Saved now (theirs): {value} {unit}", "zh": "当前已保存（他人的）：{value} {unit}"}


def test_the_second_save_is_told_what_the_first_saved(site, browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    folder = Path(os.environ.get("WALLBOARD_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    round_ = 0
    for me, other, lang in (("lead_zh", "lead_en", "zh"), ("lead_en", "lead_zh", "en")):
        for width in (1280, 390):
            round_ += 1
            sl = 80 + round_
            mine, page = browser_login(browser, site.base, me, PASSWORD,
                                       {"width": width, "height": 900})
            theirs, their_page = browser_login(browser, site.base, other, PASSWORD,
                                               {"width": 1280, "height": 900})
            page.goto(site.base + PAGE)
            their_page.goto(site.base + PAGE)
            # They save first, from their form.
            row = their_page.locator("[data-threshold-queue='support']")
            row.locator("input[name='service_level_percent']").fill(str(sl))
            row.locator("input[name='longest_wait_s']").fill("30")
            row.locator("input[name='abandon_rate_percent']").fill("4")
            row.locator("button[value='save']").click()
            their_page.wait_for_url(lambda u: u.endswith(PAGE))
            theirs.close()
            # Then I save mine, from the form I opened before theirs was saved.
            row = page.locator("[data-threshold-queue='support']")
            row.locator("input[name='service_level_percent']").fill("60")
            row.get_by_role("button", name=SAVE[lang], exact=True).click()
            expect(page.get_by_role("alert")).to_contain_text(STALE[lang].format(sl=sl))
            row = page.locator("[data-threshold-queue='support']")
            expect(row.locator("input[name='service_level_percent']")).to_have_value("60")
            # Beside each field, theirs where it differs from mine.
            expect(row.locator("[data-theirs='service_level_percent']")).to_have_text(
                THEIRS[lang].format(value=sl, unit="%"))
            expect(row.locator("[data-theirs='longest_wait_s']")).to_have_text(
                THEIRS[lang].format(value=30, unit={"en": "s", "zh": "秒"}[lang]))
            assert page.evaluate(OVERFLOW) == [], (lang, width)
            page.screenshot(path=folder / f"{lang}-{width}-thresholds-stale.png",
                            full_page=True)
            # Saving again replaces theirs, knowingly.
            row.get_by_role("button", name=SAVE[lang], exact=True).click()
            expect(page.get_by_text(SAVED[lang]).first).to_be_visible()
            row = page.locator("[data-threshold-queue='support']")
            expect(row.get_by_label(LABEL[lang])).to_have_value("60")
            mine.close()
