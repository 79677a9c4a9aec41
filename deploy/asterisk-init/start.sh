#!/bin/sh
# Asterisk's start in docker-compose.yml: put the bridge's AMI secret where manager.conf
# includes it from (#include in its [bridge] section), then run the image's own
# entrypoint (andrius/asterisk: /docker-entrypoint.sh, which starts Asterisk as the
# user "asterisk"). The secret comes from AMI_SECRET (.env: `callcenter deploy
# init-env`); no secret is ever in the repository. tests/test_deploy_secrets.py runs
# this script.
set -eu

SECRETS_DIR="${CALLCENTER_SECRETS_DIR:-/run/callcenter}"
NEXT="${ASTERISK_ENTRYPOINT:-/docker-entrypoint.sh}"

if [ -z "${AMI_SECRET:-}" ]; then
    echo "AMI_SECRET is not set: run \`callcenter deploy init-env\` beside docker-compose.yml" >&2
    exit 1
fi
# One word Asterisk reads back exactly: ';' would start a comment, a blank or a line
# break would cut or extend the value.
case "$AMI_SECRET" in
    *[!A-Za-z0-9._~+/=-]*)
        echo "AMI_SECRET: use letters, digits and . _ ~ + / = - only" >&2
        exit 1 ;;
esac
if [ "${#AMI_SECRET}" -lt 16 ]; then
    echo "AMI_SECRET: at least 16 characters" >&2
    exit 1
fi

umask 077
mkdir -p "$SECRETS_DIR"
printf 'secret = %s\n' "$AMI_SECRET" > "$SECRETS_DIR/ami_bridge_secret.conf.tmp"
mv "$SECRETS_DIR/ami_bridge_secret.conf.tmp" "$SECRETS_DIR/ami_bridge_secret.conf"
# Asterisk reads its configuration after dropping to its own user.
if id asterisk >/dev/null 2>&1; then
    chown -R asterisk: "$SECRETS_DIR"
fi
unset AMI_SECRET
exec "$NEXT" "$@"
