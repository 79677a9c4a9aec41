"""The build hook that makes a wheel self-contained (metadata is in pyproject.toml).

``build_py`` also writes, into the build (never into the source tree's package):

* ``callcenter/translations/<locale>/LC_MESSAGES/messages.mo``: the catalogues, compiled
  with Babel, so the installed app has nothing to compile;
* ``callcenter/_assets/static/``: a copy of the top-level ``static/``;
* ``callcenter/_assets/node_modules/...``: the browser libraries the app serves
  (``callcenter.assets.VENDOR_FILES`` only); ``npm ci`` runs first when they are missing.

``callcenter/assets.py`` is where the app looks for them. Editable installs skip all this
(``scripts/_common.sh`` compiles the catalogues and runs ``npm ci`` in the source tree).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _load(name: str) -> ModuleType:
    """A module of the package loaded by path: the package is not installed yet, and
    these two need only the standard library and Babel."""
    spec = importlib.util.spec_from_file_location(f"_build_{name}", HERE / "callcenter" /
                                                  f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _install_browser_libraries(vendor_files: dict[str, str]) -> None:
    if all((HERE / "node_modules" / relative).is_file() for relative in vendor_files.values()):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("building callcenter needs npm for the browser libraries "
                         "(package-lock.json), or a node_modules made by `npm ci`")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S603
                   cwd=HERE, check=True)


class BuildPyWithAssets(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        assets = _load("assets")
        i18n = _load("i18n")
        package = Path(self.build_lib) / "callcenter"
        i18n.compile_catalogues(HERE / "callcenter" / "translations", package / "translations")
        built = package / assets.BUILT_ASSETS
        shutil.rmtree(built, ignore_errors=True)
        shutil.copytree(HERE / "static", built / "static")
        _install_browser_libraries(assets.VENDOR_FILES)
        for relative in assets.VENDOR_FILES.values():
            target = built / "node_modules" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(HERE / "node_modules" / relative, target)


setup(cmdclass={"build_py": BuildPyWithAssets})
