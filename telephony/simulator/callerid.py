"""Caller IDs: the Originate-style parser Asterisk applies, and a pool of hostile ones.

Asterisk "shrinks" phone-looking numbers (``010-62345678`` -> ``01062345678``) and
passes anything else (``anonymous``, a 23-digit number, UTF-8 names) through as is; no
caller ID at all shows as ``<unknown>`` on AMI (captures, INDEX.md "Caller ID").
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

_PHONE = re.compile(r"^\+?[0-9*#]+$")
_SHRINK = str.maketrans("", "", "-(). ")


@dataclass(frozen=True, slots=True)
class CallerId:
    num: str = ""
    name: str = ""

    @property
    def presentation(self) -> int:
        # 67 = "Number Unavailable" is what an empty caller ID gets (fastagi.log)
        return 67 if not self.num and not self.name else 0

    def as_all(self) -> str:
        """``${CALLERID(all)}``: ``"Name" <num>``."""
        return f'"{self.name}" <{self.num}>'


def shrink_number(num: str) -> str:
    candidate = num.translate(_SHRINK)
    return candidate if _PHONE.match(candidate) else num


def parse_callerid(text: str | None) -> CallerId:
    """Parse an Originate ``CallerID`` header the way ast_callerid_parse does."""
    if not text:
        return CallerId()
    text = text.strip()
    lt = text.rfind("<")
    if lt != -1 and text.endswith(">"):
        num = text[lt + 1:-1].strip()
        name = text[:lt].strip()
        if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
            name = name[1:-1].replace('\\"', '"')
        return CallerId(shrink_number(num), name)
    if _PHONE.match(text.translate(_SHRINK)):
        return CallerId(shrink_number(text), "")
    return CallerId("", text.strip('"'))


# The captured set (02_ringall_10_calls) plus input an attacker controls end to end:
# HTML, SQL, shell metacharacters, terminal escapes, quotes, a very long name.
HOSTILE_CALLERS: tuple[CallerId, ...] = (
    CallerId("13812345678", "Zhang San"),
    CallerId("+8613812345678", ""),
    CallerId("013812345678", ""),
    CallerId("01062345678", "Beijing Office"),
    CallerId("", ""),
    CallerId("anonymous", "Anonymous"),
    CallerId("13900001111", "张三"),
    CallerId("+44207946095812345678901", ""),
    CallerId("15011112222", "Li Si"),
    CallerId("13700000001", 'O"Brien "The Boss"'),
    CallerId("13700000002", "<script>alert('pop')</script>"),
    CallerId("13700000003", "Robert'); DROP TABLE customers;--"),
    CallerId("13700000004", "\x1b[31mRED\x1b[0m\x07 Bell"),
    CallerId("13700000005", "Tab\tand $(reboot) `id` ; | &"),
    CallerId("1800FLOWERS", "Vanity Number"),
    CallerId("13700000006", "Müller-Lüdenscheidt 📞 " + "x" * 60),
    CallerId("unknown", "unknown"),
)

_NAMES = ("Wang Wei", "Li Na", "Liu Yang", "Chen Jing", "Zhao Lei", "Huang Min",
          "Zhou Jie", "Wu Fang", "Xu Qiang", "Sun Li", "王芳", "李娜", "")
_PREFIXES = ("130", "131", "135", "136", "138", "139", "150", "151", "158", "186", "188")


class CallerPool:
    """Draws caller IDs: mostly ordinary mobiles, ``hostile_share`` from the list above."""

    def __init__(self, hostile_share: float = 0.3,
                 extra: tuple[CallerId, ...] = (), distinct_numbers: int = 5000,
                 known: tuple[CallerId, ...] = ()) -> None:
        self.hostile_share = hostile_share
        self.hostile = HOSTILE_CALLERS + tuple(extra)
        self.distinct_numbers = max(1, distinct_numbers)
        #: Callers drawn instead of random mobiles (e.g. the demo customers' numbers).
        self.known = tuple(known)

    def draw(self, rng: random.Random) -> CallerId:
        if rng.random() < self.hostile_share:
            return rng.choice(self.hostile)
        if self.known:
            return rng.choice(self.known)
        index = rng.randrange(self.distinct_numbers)
        prefix = _PREFIXES[index % len(_PREFIXES)]
        num = f"{prefix}{index:08d}"
        name = _NAMES[index % len(_NAMES)]
        # a share of callers dial in with the country code, as real CLIs arrive
        if rng.random() < 0.2:
            num = "+86" + num
        return CallerId(num, name)


def read_callers(path: str) -> tuple[CallerId, ...]:
    """Caller IDs from a file, one per line as Originate takes them (``"Name" <number>``
    or a bare number); blank lines and ``#`` comments are skipped."""
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle]
    return tuple(parse_callerid(line) for line in lines if line and not line.startswith("#"))
