"""Markdown to safe HTML for articles: markdown-it-py renders (CommonMark with tables,
raw HTML in the source switched off), nh3 (the Rust ammonia sanitiser) then keeps only
the tags and attributes below, and links get ``rel="noopener noreferrer nofollow"``. An
article written by an editor, or imported from a file, can hold no script, style,
event handler or ``javascript:`` link."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}) \
    .enable("table").enable("strikethrough")

TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code",
        "pre", "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr",
        "th", "td"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"},
              "ol": {"start"}, "th": {"align"}, "td": {"align"}}


def render(markdown: str) -> str:
    html = _md.render(markdown or "")
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")
