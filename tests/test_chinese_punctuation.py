"""Chinese text is written with Chinese punctuation: the catalogue's translations use
，。：；？！（） next to Chinese words, and lists in running text are joined with 、 in
Chinese and ", " in English (callcenter.core.lists), in templates, in messages with list
parameters, and on the command line's describer."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from callcenter.core.errors import Problem
from callcenter.core.messages import describer, render

PO = Path(__file__).resolve().parent.parent / "callcenter" / "translations" / "zh_CN" / \
    "LC_MESSAGES" / "messages.po"
CJK = r"[\u3400-\u9fff]"
#: ASCII punctuation touching a Chinese character, outside quotes (“;” names a key).
ASCII_NEXT_TO_CHINESE = re.compile(
    rf"{CJK}\s*[,;?!]|[,;]\s*{CJK}|{CJK}\s*\((?!\w*\)s)|(?<!%)\([^)]*{CJK}[^)]*\)")


def test_the_catalogues_chinese_uses_chinese_punctuation():
    with PO.open("rb") as handle:
        catalogue = read_po(handle)
    bad = []
    for message in catalogue:
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in texts:
            unquoted = re.sub(r"“[^”]*”", "", text or "")
            if ASCII_NEXT_TO_CHINESE.search(unquoted):
                bad.append(text)
    assert bad == []


def test_lists_are_joined_as_each_language_writes_them(app):
    template = app.jinja_env.from_string("{{ names|join_list }}")
    for language, expected in (("zh_CN", "王芳、李雷、Emma Zhou"),
                               ("en", "王芳, 李雷, Emma Zhou")):
        with app.test_request_context(headers={"Accept-Language": language.replace("_", "-")}):
            from flask_babel import refresh
            refresh()
            assert template.render(names=["王芳", "李雷", "Emma Zhou"]) == expected
            joined = render("choice", {"choices": ["a", "b"]})
            assert ("a、b" if language == "zh_CN" else "a, b") in joined, joined
    assert "a、b" in describer("zh_CN")(Problem("choice", {"choices": ["a", "b"]}))
    assert "a, b" in describer(None)(Problem("choice", {"choices": ["a", "b"]}))
