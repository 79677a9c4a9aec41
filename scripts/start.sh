#!/usr/bin/env bash
# Quick start: install, migrate, load the demo data and run the whole product in the
# foreground on http://127.0.0.1:5000 (PORT=8000 ./scripts/start.sh for another port).
# Ctrl-C stops everything. Data lives in ./instance (SQLite, embedded Redis) unless
# DATABASE_URL / REDIS_URL say otherwise.
set -euo pipefail
source "$(dirname "$0")/_common.sh"

install_python ""
install_node
export PATH="$VENV/bin:$PATH"

say "migrating the database"
callcenter db upgrade
say "loading the demo data"
callcenter demo
say "starting the product on http://127.0.0.1:${PORT:-5000} (Ctrl-C stops it)"
exec callcenter run --host 127.0.0.1 --port "${PORT:-5000}" --show-demo-logins
