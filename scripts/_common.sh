# Shared by scripts/start.sh and scripts/test.sh (sourced, not run).
# Installs the project into .venv (from the lock files in requirements/) and the browser
# libraries into node_modules, each only when its inputs changed since the last install,
# so that a second run is quick.

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)" >&2
    return 1
}

# install_python [SET]: the pinned, hashed lock requirements/SET.txt (base when empty;
# test, bench: see scripts/lock.sh) plus requirements/build.txt, then the project itself,
# editable and without dependencies, and its translation catalogues compiled in place.
# Skipped when the same (or a larger) set was installed from the same locks before.
install_python() {
    local set="${1:-}" lock stamp hash have_hash="" have_set=""
    lock="requirements/${set:-base}.txt"
    [ -f "$lock" ] || { echo "error: no lock file $lock" >&2; return 1; }
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating .venv"
        "$(find_python)" -m venv "$VENV"
    fi
    stamp="$VENV/.installed"
    hash=$(cat pyproject.toml setup.py requirements/*.txt | sha256sum | cut -d' ' -f1)
    [ -f "$stamp" ] && read -r have_hash have_set < "$stamp" || true
    if [ "$have_hash" = "$hash" ] && { [ -z "$set" ] || [ "$have_set" = "$set" ]; }; then
        compile_catalogues
        return 0
    fi
    say "installing Python packages ($lock, then the project with --no-deps)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --require-hashes \
        -r "$lock" -r requirements/build.txt
    # No build isolation: setuptools and Babel come from build.txt, pinned like the rest.
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps \
        --no-build-isolation -e .
    echo "$hash $set" > "$stamp"
    compile_catalogues
}

# The source tree's .mo files (git-ignored): a wheel gets them from its build, an
# editable install from here. Only catalogues older than their .po are compiled.
compile_catalogues() {
    "$VENV/bin/python" -m callcenter.i18n
}

# The system libraries the dispatch sheet's PDF needs (WeasyPrint: pango; the Chinese
# text: a CJK font), as apt package names, for those missing (none on a ready machine).
missing_pdf_packages() {
    local pkgs=()
    # grep reads all of it (no -q): a grep that quits at the first match kills the
    # writer with SIGPIPE, and under pipefail the check then fails although the package
    # is there (seen: the quick start ran apt-get on a machine that had every package)
    ldconfig -p 2>/dev/null | grep 'libpango-1.0.so' >/dev/null || pkgs+=(libpango-1.0-0)
    ldconfig -p 2>/dev/null | grep 'libpangoft2-1.0.so' >/dev/null || pkgs+=(libpangoft2-1.0-0)
    fc-list 2>/dev/null | grep 'Noto Sans CJK' >/dev/null || pkgs+=(fonts-noto-cjk)
    echo "${pkgs[@]}"
}

# npm ci when package-lock.json changed since the last install.
install_node() {
    local stamp="$ROOT/node_modules/.installed" want
    if ! command -v npm >/dev/null 2>&1; then
        echo "error: npm is needed for the browser libraries (apt-get install nodejs npm)" >&2
        return 1
    fi
    want=$(sha256sum package-lock.json | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    say "installing browser libraries (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
}
