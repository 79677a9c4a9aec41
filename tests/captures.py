"""Where the recorded Asterisk traffic is: one answer for every test.

``ASTERISK_CAPTURES`` if set; otherwise ``shared/asterisk/captures`` beside the
checkout (``../shared`` from the repository root, as on the development machines) or
beside any folder above it, so that a clone made elsewhere still finds them.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def find_captures() -> Path:
    configured = os.environ.get("ASTERISK_CAPTURES")
    if configured:
        return Path(configured)
    for folder in ROOT.parents:
        candidate = folder / "shared" / "asterisk" / "captures"
        if candidate.is_dir():
            return candidate
    fallback = Path("/work/shared/asterisk/captures")  # the workplace's shared folder
    if fallback.is_dir():
        return fallback
    raise RuntimeError("the Asterisk captures were not found: set ASTERISK_CAPTURES to the "
                       "folder holding 00_protocol, 01_single_answered, ...")


CAPTURES = find_captures()
