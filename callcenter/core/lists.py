"""Lists in running text, as each language writes them: Chinese separates the items of a
list with the enumeration comma 、 (顿号), English with ", ". For names, queues, models
and reasons on a page; codes and values a user types back stay comma-separated."""

from __future__ import annotations

from collections.abc import Iterable

from flask import has_request_context
from flask_babel import get_locale

ENGLISH_SEPARATOR = ", "
CHINESE_SEPARATOR = "、"


def list_separator() -> str:
    """The separator of the request's language (English outside a request)."""
    if not has_request_context():
        return ENGLISH_SEPARATOR
    locale = get_locale()
    return CHINESE_SEPARATOR if locale is not None and locale.language == "zh" \
        else ENGLISH_SEPARATOR


def join_list(items: Iterable[object]) -> str:
    """``items`` as one run of text: 王芳、李雷 or Wang Fang, Li Lei."""
    return list_separator().join(str(item) for item in items)


def init_app(app) -> None:
    """``|join_list`` and ``list_separator()`` for the templates."""
    app.jinja_env.filters["join_list"] = join_list
    app.jinja_env.globals["list_separator"] = list_separator
