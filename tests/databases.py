"""Where the tests' databases come from (shared by tests/conftest.py and the suites in
subfolders, whose own conftest.py would shadow ``import conftest``)."""

from __future__ import annotations

import os

#: Admin connection used to create and drop the per-run test databases.
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")
