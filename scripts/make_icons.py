"""Renders the app's PNG icons from static/img/favicon.svg (the technician's PWA needs
192 and 512 pixel PNGs to be installable on Android, and a "maskable" one that fills
the launcher's shape). Run after changing the SVG, then commit the PNGs:

    .venv/bin/python scripts/make_icons.py

Chromium draws them (the same engine that shows the SVG), through Playwright."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

IMG = Path(__file__).resolve().parent.parent / "static" / "img"
CHROMIUM = "/usr/bin/chromium"


def maskable(svg: str) -> str:
    """The glyph on a full square of the circle's colour, inside the 80 % safe zone."""
    fill = re.search(r'<circle[^>]*fill="([^"]+)"', svg).group(1)
    glyph = re.search(r"(<path.*?/>)", svg).group(1)
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
            f'<rect width="32" height="32" fill="{fill}"/>'
            f'<g transform="translate(16 16) scale(0.75) translate(-16 -16)">{glyph}</g></svg>')


def render(page, svg: str, size: int, out: Path) -> None:
    data = base64.b64encode(svg.encode()).decode()
    page.set_viewport_size({"width": size, "height": size})
    page.set_content(f'<body style="margin:0"><img src="data:image/svg+xml;base64,{data}" '
                     f'width="{size}" height="{size}" style="display:block"></body>')
    page.wait_for_function("document.images[0].complete")
    page.screenshot(path=str(out), omit_background=True)
    print(out.relative_to(IMG.parent.parent))


def main() -> None:
    svg = (IMG / "favicon.svg").read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        for size in (192, 512):
            render(page, svg, size, IMG / f"icon-{size}.png")
        render(page, maskable(svg), 512, IMG / "icon-maskable-512.png")
        browser.close()


if __name__ == "__main__":
    main()
