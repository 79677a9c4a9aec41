#!/usr/bin/env bash
# Installs what the tests need and runs the whole suite: ruff, then pytest against
# SQLite and PostgreSQL, with a real (private, per-run) Redis and headless Chromium, and a
# real Asterisk 22 (built by scripts/asterisk.sh) for the live_pbx tests.
#   ./scripts/test.sh                 everything
#   ./scripts/test.sh tests/test_x.py any pytest arguments narrow the run
# Exit code: pytest's, except that "no tests ran" (5) is a failure too.
set -euo pipefail
source "$(dirname "$0")/_common.sh"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- system packages: only what is missing, so a ready machine skips apt entirely ---
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# Without CJK fonts Chinese text renders as empty boxes in browser screenshots.
[ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto | grep CJK >/dev/null \
    || missing+=(fonts-noto-cjk)
{ command -v pg_isready >/dev/null 2>&1 && ls /etc/postgresql/*/main >/dev/null 2>&1; } \
    || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)  # tests/test_proxy.py runs the deployed proxy config
# The dispatch sheet's PDF (pango, CJK font), and poppler's pdftotext/pdffonts/pdftoppm,
# which tests/repair_orders/test_dispatch_sheet.py reads the PDF with.
read -r -a pdf_missing <<< "$(missing_pdf_packages)"
missing+=("${pdf_missing[@]}")
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
fresh_postgres=no
if [ ${#missing[@]} -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    [[ " ${missing[*]} " == *" postgresql "* ]] && fresh_postgres=yes
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
fi

# --- services (docs: ../shared/docs/services.md) ---
if [ "$fresh_postgres" = yes ]; then
    # A cluster made by the package asks for passwords on TCP; the tests connect as
    # postgres@127.0.0.1 without one, as on the development machines (trust, loopback only).
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | head -1)
    as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main restart \
        || true
fi
if ! pg_isready -h 127.0.0.1 -q; then
    say "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 || { echo "error: PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
# The tests create their databases through the "test" database (tests/conftest.py).
if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
    createdb -h 127.0.0.1 -U postgres test
fi

# Redis: nothing to start. Each pytest run starts a private redis-server of its own on a
# free loopback port and stops it at the end (tests/redis_server.py); only the binary.
command -v redis-server >/dev/null 2>&1 \
    || { echo "error: redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }

# Asterisk: the real one (22.10.1) for the live_pbx tests (tests/faults/test_live_pbx.py),
# built from ../shared/asterisk/src once (~3-6 min on 2 cores), skipped when installed.
# A failed build is reported and the run goes on: those tests then skip loudly, or fail
# when CI is set (and a CI run in which no live_pbx test passed fails: tests/conftest.py).
say "Asterisk 22 for the live_pbx tests (scripts/asterisk.sh)"
if ! "$ROOT/scripts/asterisk.sh"; then
    echo "warning: no real Asterisk; the live_pbx tests will skip, or FAIL when CI is set" >&2
fi

# --- project ---
install_python test
install_node
export PATH="$VENV/bin:$PATH"

say "ruff check"
ruff check .

say "pytest"
set +e
pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
    echo "error: pytest collected no tests; that is a failure, not a pass" >&2
    exit 1
fi
exit "$rc"
