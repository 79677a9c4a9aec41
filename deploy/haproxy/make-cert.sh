#!/bin/sh
# The compose service tls-init: a self-signed certificate for HAProxy at first start.
# Usage: make-cert.sh DIR. Does nothing when DIR already holds a .pem (made before, or
# the site's own certificate through TLS_CERT_DIR). Otherwise writes DIR/site.pem: an
# EC P-256 key and a certificate for TLS_HOSTNAME (default localhost), valid 825 days,
# in the one-file form HAProxy's `crt` reads. Browsers warn about a self-signed
# certificate: replace it with a real one for production (README "Production").
# tests/test_proxy_tls.py runs this script.
set -eu

DIR="${1:-/certs}"
HOST="${TLS_HOSTNAME:-localhost}"
HAPROXY_UID="${HAPROXY_UID:-99}"   # the haproxy image runs as haproxy (uid/gid 99)

for existing in "$DIR"/*.pem; do
    if [ -e "$existing" ]; then
        echo "tls-init: $existing exists; keeping it"
        exit 0
    fi
done
if ! command -v openssl >/dev/null 2>&1; then
    apk add --no-cache openssl >/dev/null   # alpine: the CLI is not in the base image
fi
case "$HOST" in
    *[!A-Za-z0-9.-]*) SAN="IP:$HOST" ;;
    *[!0-9.]*) SAN="DNS:$HOST" ;;
    *) SAN="IP:$HOST" ;;
esac
umask 077
TMP="$(mktemp -d)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
    -days 825 -subj "/CN=$HOST" -addext "subjectAltName=$SAN" \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
cat "$TMP/key.pem" "$TMP/cert.pem" > "$DIR/site.pem.tmp"
rm -rf "$TMP"
chmod 640 "$DIR/site.pem.tmp"
chown "$HAPROXY_UID:$HAPROXY_UID" "$DIR/site.pem.tmp" 2>/dev/null || true
mv "$DIR/site.pem.tmp" "$DIR/site.pem"
echo "tls-init: wrote a self-signed certificate for $HOST to $DIR/site.pem"
