"""HTML to PDF with WeasyPrint, for the dispatch sheet (and any printable page).

The page is rendered from the same template as the screen; WeasyPrint reads the
stylesheets it links from the static folder on disk (never over HTTP: a worker asking
its own server could wait on itself) and fetches nothing else, so no text of a record
can make the server request a URL. Fonts come from fontconfig: the stylesheet names
Noto Sans CJK SC first (``fonts-noto-cjk``), which is embedded (subset) in the PDF.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves ``<base>/static/...`` from ``static_dir``; refuses every other URL."""

        def __init__(self, base_url: str, static_dir: Path) -> None:
            super().__init__(allowed_protocols=())
            self._prefix = base_url.rstrip("/") + "/static/"
            self._root = static_dir.resolve()

        def fetch(self, url, headers=None):
            if not url.startswith(self._prefix):
                raise ValueError(f"not fetched: {url}")
            relative = unquote(urlsplit(url[len(self._prefix):]).path)
            path = (self._root / relative).resolve()
            if not path.is_relative_to(self._root) or not path.is_file():
                raise ValueError(f"not a static file: {url}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body=path.read_bytes(),
                                      headers={"Content-Type": kind})

    return StaticOnlyFetcher


def html_to_pdf(html: str, *, base_url: str, static_dir: Path) -> bytes:
    """The PDF of ``html`` whose relative and ``base_url``-absolute links point into
    ``static_dir`` (``url_for('static', ...)``)."""
    from weasyprint import HTML  # imported on use: it loads pango when first imported

    fetcher = _fetcher_class()(base_url, static_dir)
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()
