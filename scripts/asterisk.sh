#!/usr/bin/env bash
# Builds and installs the real Asterisk 22.10.1 that the live_pbx tests run
# (tests/faults/pbx.py), from the release source kept on the machines
# (../shared/asterisk/src, see ../shared/docs/asterisk-build.md). Nothing is downloaded
# except the Debian build dependencies that are missing.
#   ./scripts/asterisk.sh            build + install unless `asterisk -V` is already 22.10.1
# Environment: ASTERISK_SRC (the tarball), ASTERISK_BUILD_DIR (default
# /var/tmp/asterisk-build, outside the repo), ASTERISK_JOBS (make -j, default 2).
# Exit code: 0 when Asterisk 22.10.1 is installed at the end, non-zero (with a loud
# message) when it could not be built: no source, wrong checksum, no compiler, a failed
# step. The caller decides what that means (scripts/test.sh carries on; the live_pbx
# tests then fail when CI is set).
set -euo pipefail

VERSION=22.10.1
SHA256=21203c1352060a5a7577844d7b5ca1e833593c531ddab4c1bd2107d39176618c
HERE=$(cd "$(dirname "$0")/.." && pwd)
SRC=${ASTERISK_SRC:-$HERE/../shared/asterisk/src/asterisk-$VERSION.tar.gz}
[ -f "$SRC" ] || SRC=/work/shared/asterisk/src/asterisk-$VERSION.tar.gz
BUILD=${ASTERISK_BUILD_DIR:-/var/tmp/asterisk-build}
JOBS=${ASTERISK_JOBS:-2}
LOG="$BUILD/build.log"
DEPS=(build-essential libedit-dev libjansson-dev libxml2-dev uuid-dev libsqlite3-dev
      libssl-dev libncurses-dev pkg-config)

say() { printf '\033[1m==> asterisk: %s\033[0m\n' "$*"; }
loud() {
    {
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        echo "!!! scripts/asterisk.sh: NO REAL ASTERISK $VERSION: $*"
        echo "!!! the live_pbx tests will skip (or FAIL when CI is set)"
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    } >&2
    exit 1
}
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

installed_version() { asterisk -V 2>/dev/null || true; }

if [ "$(installed_version)" = "Asterisk $VERSION" ]; then
    say "Asterisk $VERSION already installed ($(command -v asterisk)); nothing to do"
    exit 0
fi

[ -f "$SRC" ] || loud "source tarball not found ($SRC)"
have=$(sha256sum "$SRC" | cut -d' ' -f1)
[ "$have" = "$SHA256" ] || loud "checksum mismatch for $SRC: $have, expected $SHA256"

# --- build dependencies: only the missing ones, so a ready machine skips apt ---
missing=()
for pkg in "${DEPS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        say "installing build dependencies: ${missing[*]}"
        as_root apt-get update -q >/dev/null \
            && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                --no-install-recommends "${missing[@]}" >/dev/null \
            || loud "apt-get could not install ${missing[*]}"
    else
        loud "missing build dependencies ${missing[*]} and no apt-get"
    fi
fi
command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1 \
    || loud "no C compiler / make (install build-essential)"

# --- unpack, configure, menuselect, make, install ---
mkdir -p "$BUILD"
: > "$LOG"
tree="$BUILD/asterisk-$VERSION"
rm -rf "$tree"
mkdir -p "$tree"
start=$(date +%s)
step() {
    local what=$1; shift
    say "$what (log: $LOG)"
    echo "### $what: $*" >> "$LOG"
    if ! ( cd "$tree" && "$@" ) >> "$LOG" 2>&1; then
        tail -n 25 "$LOG" >&2
        loud "step '$what' failed; full log in $LOG"
    fi
}
tar -xzf "$SRC" -C "$tree" --strip-components=1 2>>"$LOG" \
    || { rm -rf "$tree"; mkdir -p "$tree"; tar -xzf "$SRC" -C "$tree" 2>>"$LOG"; } \
    || loud "could not unpack $SRC"
# A `git archive` may or may not have a top-level directory: find the tree.
if [ ! -x "$tree/configure" ]; then
    inner=$(find "$tree" -maxdepth 2 -name configure -type f | head -1)
    [ -n "$inner" ] || loud "no configure script in $SRC"
    tree=$(dirname "$inner")
fi
step configure ./configure --without-pjproject-bundled --without-jansson-bundled \
    --without-libjwt-bundled
step menuselect make menuselect.makeopts
step "menuselect (no sound downloads)" menuselect/menuselect \
    --disable-category MENUSELECT_CORE_SOUNDS --disable-category MENUSELECT_MOH \
    --disable-category MENUSELECT_EXTRA_SOUNDS menuselect.makeopts
step "make -j$JOBS" make -j"$JOBS"
step "make install" as_root make install
as_root ldconfig

got=$(installed_version)
[ "$got" = "Asterisk $VERSION" ] || loud "installed, but \`asterisk -V\` says '$got'"
prefix=$(dirname "$(dirname "$(command -v asterisk)")")
say "built and installed $got in $(( $(date +%s) - start )) s: $(command -v asterisk)," \
    "modules in $prefix/lib/asterisk/modules; log $LOG"
