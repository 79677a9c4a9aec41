"""One Redis live-state contract: ``callcenter/realtime/live.py`` alone spells the keys,
and the key table of ``telephony/README.md`` is the module's."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from callcenter.realtime import live

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "callcenter" / "realtime" / "live.py"
#: A Redis key of ours as a literal: "cc:" and a name part ("cc:live:...", f"cc:seq:{x}").
KEY_LITERAL = re.compile(r"cc:[A-Za-z_{]")


def key_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each string literal (also f-string parts) spelling a ``cc:`` key.
    Docstrings and comments may name keys; code may not."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant):
            docstrings.add(id(node.body[0].value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and KEY_LITERAL.match(node.value)]


def test_no_module_but_the_contract_spells_a_key():
    sources = sorted([*(ROOT / "callcenter").rglob("*.py"), *(ROOT / "telephony").rglob("*.py")])
    assert len(sources) > 50
    offenders = {str(path.relative_to(ROOT)): found for path in sources
                 if path != CONTRACT and (found := key_literals(path))}
    assert offenders == {}, "use the keys of callcenter.realtime.live"
    assert len(key_literals(CONTRACT)) >= 9  # the check does see keys where they are


def test_the_checker_finds_a_key_in_code(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Docs may say cc:live:queues."""\n'
                      'KEY = "cc:live:queues"\n'
                      'def f(uid):\n    return f"cc:seq:{uid}"\n', encoding="utf-8")
    assert [line for line, _ in key_literals(sample)] == [2, 4]


def test_the_readme_lists_the_contracts_keys():
    readme = (ROOT / "telephony" / "README.md").read_text(encoding="utf-8")
    documented = {re.sub(r"<[a-z_]+>", "{}", key)
                  for key in re.findall(r"^\| `(cc:[^`]+)` \|", readme, re.MULTILINE)}
    keys = {value for name, value in vars(live).items()
            if name.endswith("_KEY") and isinstance(value, str)}
    assert documented == keys
    assert live.result_key("ab/c:d\r\n") == "cc:bridge:result:abcd"
