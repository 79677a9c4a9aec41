"""Where the app finds its static files, browser libraries and translation catalogues.

Two locations exist because the same code runs two ways:

* **installed from a wheel**: the build (``setup.py``) put everything inside the package:
  ``callcenter/_assets/static/`` (a copy of the top-level ``static/``),
  ``callcenter/_assets/node_modules/`` (only the files in ``VENDOR_FILES``) and the
  compiled ``.mo`` files beside the ``.po`` files in ``callcenter/translations/``;
* **from the source tree** (editable install, tests, development): ``static/`` and
  ``node_modules/`` sit next to the package, as the house layout has them, and
  ``scripts/_common.sh`` runs ``npm ci`` and compiles the catalogues in place
  (``python -m callcenter.i18n``).

The presence of ``callcenter/_assets/`` decides which; nothing else looks at paths.

Standard library only: ``setup.py`` loads this file by path before the package is
installed, to copy the same ``VENDOR_FILES`` into the wheel that the app serves.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: The folder the build fills inside the package (git-ignored in the source tree).
BUILT_ASSETS = "_assets"
#: ``.po`` sources; their ``.mo`` files are compiled beside them (see ``callcenter.i18n``).
TRANSLATIONS = PACKAGE / "translations"

#: Browser libraries the app serves at ``/vendor/<name>``: name -> path under
#: node_modules. Nothing else from node_modules is served or shipped.
VENDOR_FILES = {
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "socket.io.min.js.map": "socket.io-client/dist/socket.io.min.js.map",
    # The wallboard's charts (Chart.js's whole UMD build: its ES modules import a bare
    # package name, which a browser resolves only through an import map, and our CSP
    # allows no inline script to declare one; docs/wallboard.md has the weights).
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    "chart.umd.min.js.map": "chart.js/dist/chart.umd.min.js.map",
}


def is_source_tree() -> bool:
    """True when running from the source tree, False when installed from a wheel."""
    return not (PACKAGE / BUILT_ASSETS).is_dir()


def assets_root() -> Path:
    """The folder holding ``static/`` and ``node_modules/``."""
    return PACKAGE.parent if is_source_tree() else PACKAGE / BUILT_ASSETS


def static_dir() -> Path:
    return assets_root() / "static"


def vendor_file(name: str) -> Path | None:
    """The file served at ``/vendor/<name>``; None for a name not in ``VENDOR_FILES``."""
    relative = VENDOR_FILES.get(name)
    return None if relative is None else assets_root() / "node_modules" / relative
