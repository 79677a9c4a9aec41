# Shared by scripts/start.sh and scripts/test.sh (sourced, not run).
# Installs the project into .venv and the browser libraries into node_modules, each
# only when its inputs changed since the last install, so that a second run is quick.

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

# install_python [EXTRAS]: pip install -e ".[EXTRAS]" into .venv, unless the same (or a
# larger) install of the same pyproject.toml was done before.
install_python() {
    local extras="${1:-}" spec="." stamp hash have_hash="" have_extras=""
    [ -n "$extras" ] && spec=".[$extras]"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating .venv"
        "$(find_python)" -m venv "$VENV"
    fi
    stamp="$VENV/.installed"
    hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
    [ -f "$stamp" ] && read -r have_hash have_extras < "$stamp" || true
    if [ "$have_hash" = "$hash" ] && { [ -z "$extras" ] || [ "$have_extras" = "$extras" ]; }; then
        return 0
    fi
    say "installing Python packages (pip install -e '$spec')"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -e "$spec"
    echo "$hash $extras" > "$stamp"
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
