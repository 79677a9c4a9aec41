"""The product runs as an installed package: a wheel, not the source tree, started from
a directory that has nothing of the project in it.

The wheel is built the way the Dockerfile's ``builder`` stage builds it, without Docker:
only the files its COPY lines take (less what .dockerignore leaves out, so no .mo file
and no build folder of the checkout) go into a fresh folder, with the checkout's
node_modules standing in for the ``frontend`` stage's ``npm ci``; setup.py compiles the
catalogues and copies the static files and browser libraries into the wheel. The wheel
is installed with ``--no-deps`` into a folder of its own that goes first on PYTHONPATH,
so it shadows the editable install; the dependencies come from the test environment.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest
import requests
from babel.messages.pofile import read_po
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stages() -> dict[str, list[list[str]]]:
    """The Dockerfile's instructions by stage name ("" for an unnamed last stage)."""
    stages: dict[str, list[list[str]]] = {}
    current: list[list[str]] = []
    for line in DOCKERFILE.read_text().replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0].upper() == "FROM":
            name = words[3] if len(words) > 3 and words[2].upper() == "AS" else ""
            current = stages.setdefault(name, [])
        current.append(words)
    return stages


def _docker_ignored(relative: Path) -> bool:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    text = relative.as_posix()
    for pattern in patterns:
        if pattern.startswith("**/"):
            if any(fnmatch.fnmatch(part, pattern[3:]) for part in relative.parts):
                return True
        elif any(fnmatch.fnmatch("/".join(relative.parts[:n]), pattern)
                 for n in range(1, len(relative.parts) + 1)) or text == pattern:
            return True
    return False


def _copy_into_context(source: Path, target: Path) -> None:
    """Docker's COPY of one path of the build context: a folder's contents, a file."""
    relative = source.relative_to(ROOT)
    assert source.exists(), f"the Dockerfile copies {relative}, which does not exist"
    assert not _docker_ignored(relative), f"the Dockerfile copies {relative}: .dockerignored"
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        return
    for path in source.rglob("*"):
        if path.is_file() and not _docker_ignored(path.relative_to(ROOT)):
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.relative_to(source))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel as the Dockerfile's builder stage makes it."""
    workdir = tmp_path_factory.mktemp("builder")
    dist = tmp_path_factory.mktemp("dist")
    builder = _stages()["builder"]
    for words in builder:
        if words[0] != "COPY":
            continue
        *sources, dest = words[1:]
        if sources[0].startswith("--from="):
            assert sources == ["--from=frontend", "/src/node_modules"], sources
            (workdir / dest).symlink_to(ROOT / "node_modules")
            continue
        for source in sources:
            target = workdir / dest
            if dest.endswith("/") or len(sources) > 1:
                target = target / Path(source).name
            _copy_into_context(ROOT / source, target)
    wheel_step = ["RUN", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--wheel-dir", "/dist", "."]
    assert wheel_step in builder
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(dist), "."],
                   check=True, cwd=workdir)
    (built,) = dist.glob("callcenter-*.whl")
    return built


def _pins(lock: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            name, _, version = line.split(" ")[0].partition("==")
            pins[canonicalize_name(name)] = version
    return pins


@pytest.mark.parametrize(("lock", "groups"), [
    ("base.txt", ["dependencies"]), ("test.txt", ["dependencies", "test"]),
    ("bench.txt", ["dependencies", "test", "bench"]), ("build.txt", ["build-system"])])
def test_the_lock_files_pin_what_pyproject_asks_for(lock, groups):
    """A dependency changed in pyproject.toml without ./scripts/lock.sh fails here."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    wanted = [Requirement(text) for group in groups for text in (
        project["dependencies"] if group == "dependencies"
        else pyproject["build-system"]["requires"] if group == "build-system"
        else project["optional-dependencies"][group])]
    pins = _pins(lock)
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements/{lock}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pins[name]}, pyproject.toml asks {requirement}")


def test_the_benchmark_clients_stay_out_of_the_runtime_and_the_tests():
    for lock in ("base.txt", "test.txt"):
        assert not {"pyst2", "aiohttp"} & set(_pins(lock)), lock


def test_the_image_installs_the_lock_and_the_wheel_and_runs_as_a_user():
    runtime = _stages()[""]
    runs = [" ".join(words[1:]) for words in runtime if words[0] == "RUN"]
    lock = next(words[1] for words in runtime
                if words[0] == "COPY" and words[1].startswith("requirements/"))
    assert lock == "requirements/base.txt"
    assert "pip install --require-hashes -r /opt/callcenter/requirements.txt" in runs
    assert ["COPY", "--from=builder", "/dist/", "/opt/callcenter/dist/"] in runtime
    assert any(run.startswith("pip install --no-deps /opt/callcenter/dist/callcenter-")
               for run in runs)
    users = [words[1] for words in runtime if words[0] == "USER"]
    assert users and users[-1] not in ("root", "0")
    # Nothing of the source tree in the image: the wheel carries what the app serves.
    assert not [words for words in runtime if words[0] == "COPY" and "--from" not in words[1]
                and not words[1].startswith("requirements/")]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict[str, str]:
    """The environment of a process that runs the wheel's ``callcenter``."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-compile", "--target", str(target), str(wheel)], check=True)
    instance = tmp_path_factory.mktemp("instance")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("CALLCENTER_", "DATABASE_", "PYTHON", "FLASK_"))}
    env.update(PYTHONPATH=str(target), CALLCENTER_INSTANCE=str(instance),
               DATABASE_URL=f"sqlite:///{instance / 'package.sqlite3'}",
               SECRET_KEY="package-test-secret")
    if os.environ.get("TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    return env


def _callcenter(env: dict[str, str], *args: str) -> list[str]:
    """The console script pip wrote for the wheel, run by this interpreter."""
    script = Path(env["PYTHONPATH"]) / "bin" / "callcenter"
    return [sys.executable, str(script), *args]


def test_the_wheel_carries_templates_static_files_catalogues_and_browser_libraries(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "callcenter/templates/login.html" in names
    assert "callcenter/users/common_passwords.txt" in names  # the password rule's list
    assert "callcenter/_assets/static/css/app.css" in names
    assert "callcenter/_assets/node_modules/socket.io-client/dist/socket.io.min.js" in names
    assert "callcenter/translations/zh_Hans_CN/LC_MESSAGES/messages.mo" in names
    # Only the allow-listed browser files, nothing else of node_modules.
    vendored = {n for n in names if "/node_modules/" in n}
    assert vendored == {"callcenter/_assets/node_modules/socket.io-client/dist/" + f
                        for f in ("socket.io.min.js", "socket.io.min.js.map")} | {
        "callcenter/_assets/node_modules/chart.js/dist/" + f
        for f in ("chart.umd.min.js", "chart.umd.min.js.map")}


def test_the_installed_package_migrates_and_serves_from_any_directory(installed, tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    where = subprocess.run([sys.executable, "-c", "import callcenter; print(callcenter.__file__)"],
                           env=installed, cwd=cwd, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(installed["PYTHONPATH"])

    subprocess.run(_callcenter(installed, "db", "upgrade"), env=installed, cwd=cwd,
                   check=True, timeout=120)
    package_files = _files(Path(installed["PYTHONPATH"]))
    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        _callcenter(installed, "serve", "--host", "127.0.0.1", "--port", str(port)),
        env=installed, cwd=cwd, start_new_session=True,
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        page = _wait_for_login_page(base, server, tmp_path / "serve.log")
        with (ROOT / "callcenter/translations/zh_CN/LC_MESSAGES/messages.po").open("rb") as fh:
            log_in = read_po(fh)["Log in"].string
        assert log_in and log_in != "Log in"
        assert page.status_code == 200
        assert 'lang="zh-CN"' in page.text and log_in in page.text

        css = requests.get(base + "/static/css/app.css", timeout=10)
        assert css.status_code == 200 and css.content == (ROOT / "static/css/app.css").read_bytes()
        library = requests.get(base + "/vendor/socket.io.min.js", timeout=10)
        assert library.status_code == 200 and b"io" in library.content
        assert requests.get(base + "/vendor/socket.io.js", timeout=10).status_code == 404
        charts = requests.get(base + "/vendor/chart.umd.min.js", timeout=10)  # the wallboard's
        assert charts.status_code == 200 and b"Chart.js" in charts.content
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    # The app wrote nothing into the installed package (no catalogues compiled at start).
    assert _files(Path(installed["PYTHONPATH"])) == package_files


def _files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def _wait_for_login_page(base: str, server: subprocess.Popen, log: Path) -> requests.Response:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if server.poll() is not None:
            pytest.fail(f"callcenter serve exited ({server.returncode}): "
                        f"{log.read_text(errors='replace')[-2000:]}")
        try:
            return requests.get(base + "/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"},
                                timeout=5)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_no_two_test_modules_share_a_name():
    """pytest imports test modules by their file name (the folders are no packages): two
    files of one name in different folders stop the whole run at collection."""
    from collections import Counter
    from pathlib import Path

    names = Counter(p.name for p in Path(__file__).parent.rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
