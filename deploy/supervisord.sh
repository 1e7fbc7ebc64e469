#!/bin/sh
# Run Træningsguiden under supervisord (deploy/supervisord.conf) in the foreground, for a
# machine without systemd. The environment comes from /etc/traeningsguiden/env (or the file
# named by TRAENINGSGUIDEN_ENV_FILE); the values supervisord.conf needs get their defaults here.
#   deploy/supervisord.sh                                    # as the traeningsguiden user
#   .venv/bin/supervisorctl -c deploy/supervisord.conf status   # with the same environment
set -eu
home=$(cd "$(dirname "$0")/.." && pwd)
env_file=${TRAENINGSGUIDEN_ENV_FILE:-/etc/traeningsguiden/env}
if [ ! -r "$env_file" ]; then
  echo "cannot read $env_file (see .env.example)" >&2
  exit 1
fi
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
: "${ACTIONS_PORT:=5055}" "${RASA_PORT:=5005}" "${ENDPOINTS:=endpoints.yml}" "${SANIC_WORKERS:=2}"
: "${TRAENINGSGUIDEN_LOG_DIR:=$home/var/log}" "${TRAENINGSGUIDEN_CONSUMER:=false}"
export ACTIONS_PORT RASA_PORT ENDPOINTS SANIC_WORKERS TRAENINGSGUIDEN_LOG_DIR TRAENINGSGUIDEN_CONSUMER
mkdir -p "$TRAENINGSGUIDEN_LOG_DIR" "$home/var"
exec "$home/.venv/bin/supervisord" -n -c "$home/deploy/supervisord.conf"
