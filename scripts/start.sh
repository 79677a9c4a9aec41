#!/usr/bin/env bash
# Quick start: install, migrate, load the demo data and run the whole product in the
# foreground on http://127.0.0.1:5000 (PORT=8000 ./scripts/start.sh for another port).
# Ctrl-C stops everything. Data lives in ./instance (SQLite, embedded Redis) unless
# DATABASE_URL / REDIS_URL say otherwise.
set -euo pipefail
source "$(dirname "$0")/_common.sh"

read -r -a pdf_missing <<< "$(missing_pdf_packages)"
if [ ${#pdf_missing[@]} -gt 0 ]; then
    say "installing system packages for the dispatch sheet's PDF: ${pdf_missing[*]}"
    as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${pdf_missing[@]}"
fi
install_python ""
install_node
export PATH="$VENV/bin:$PATH"

say "migrating the database"
callcenter db upgrade
say "loading the demo data"
callcenter demo --no-logins   # run prints them once the web answers
say "starting the product on http://127.0.0.1:${PORT:-5000} (Ctrl-C stops it)"
exec callcenter run --host 127.0.0.1 --port "${PORT:-5000}" --show-demo-logins
