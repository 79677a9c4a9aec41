"""Where the recorded Asterisk traffic is: one answer for every test and benchmark.

The recording of a real Asterisk 22.10.1 lives in the repository, under
``tests/data/asterisk/captures`` (provenance: ``tests/data/asterisk/README.md``), so a
clone alone runs the suite. ``ASTERISK_CAPTURES`` points at another folder holding the
same scenarios (``00_protocol``, ``01_single_answered``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IN_REPO = ROOT / "tests" / "data" / "asterisk" / "captures"


def find_captures() -> Path:
    configured = os.environ.get("ASTERISK_CAPTURES")
    folder = Path(configured) if configured else IN_REPO
    if not (folder / "01_single_answered").is_dir():
        raise RuntimeError(f"no Asterisk captures in {folder}: ASTERISK_CAPTURES must name the "
                           "folder holding 00_protocol, 01_single_answered, ...")
    return folder


CAPTURES = find_captures()
