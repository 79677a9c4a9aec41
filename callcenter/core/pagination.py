"""One page of a SELECT and the count of all of it: the API, the pages and the call log
all page the same way (LIMIT/OFFSET in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

DEFAULT_PER_PAGE = 25
#: Most rows a caller may ask for at once; larger requests get this many.
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def fetch_page(session: Session, stmt: Select, *, page: int, per_page: int = DEFAULT_PER_PAGE,
               clamp: bool = False) -> Page:
    """Rows of page ``page`` (from 1) of ``stmt`` (already scoped and ordered).

    ``per_page`` is capped at MAX_PER_PAGE. ``clamp`` moves a page number past the end
    to the last page (the web pages' links); without it such a page is simply empty
    (the API, which says which page was asked for).
    """
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page = max(1, page)
    if clamp:
        page = min(page, max(1, -(-total // per_page)))
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, total, page, per_page)


# --- their description in the OpenAPI document ---------------------------------------

def page_schema(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page", "pages", "next", "prev"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "pages": {"type": "integer", "minimum": 1},
            "next": {"type": ["string", "null"], "description": "URL of the next page."},
            "prev": {"type": ["string", "null"], "description": "URL of the previous page."},
        },
    }


def list_schema(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array",
                                 "items": {"$ref": f"#/components/schemas/{item}"}}},
    }
