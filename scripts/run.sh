#!/usr/bin/env bash
# Start the action server, our web app and Rasa on localhost; stop all on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
RASA_PORT=${RASA_PORT:-5005}
ACTIONS_PORT=${ACTIONS_PORT:-5055}
export TRAENINGSGUIDEN_WEB_PORT=${TRAENINGSGUIDEN_WEB_PORT:-8080}
ENDPOINTS=${ENDPOINTS:-endpoints.yml}
# Rasa's Sanic workers: each loads the model (~1.4 GB) and takes messages from the same port;
# endpoints.yml's SQLite lock store keeps one conversation's messages in order across them
SANIC_WORKERS=${SANIC_WORKERS:-2}
export SANIC_HOST=127.0.0.1
mkdir -p var
python_bin=.venv/bin
source_of_model=$(sed -E 's/.*"source": "([^"]+)".*/\1/' models/spacy/da/traeningsguiden.json)
if [ "$source_of_model" = "fallback" ]; then
  echo "!! FALLBACK: spaCy's built-in Danish is used instead of da_core_news_sm 3.4.0 (see README)" >&2
fi
for port in "$ACTIONS_PORT" "$TRAENINGSGUIDEN_WEB_PORT" "$RASA_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port on 127.0.0.1 is already in use (another make run?); stop it first" >&2
    exit 1
  fi
done
# staff, analyst and admin logins: demo accounts with fresh passwords, printed once, when there are none
"$python_bin/python" -m bot.web.accounts demo
# the secret Rasa sends the action server (endpoints*.yml): a fresh one per run unless set
if [ -z "${TRAENINGSGUIDEN_ACTION_TOKEN:-}" ]; then
  TRAENINGSGUIDEN_ACTION_TOKEN=$("$python_bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))')
fi
export TRAENINGSGUIDEN_ACTION_TOKEN
# the web app calls this Rasa, and Rasa this action server, whatever ports were chosen
export TRAENINGSGUIDEN_RASA_URL=${TRAENINGSGUIDEN_RASA_URL:-http://127.0.0.1:$RASA_PORT}
run_endpoints=var/endpoints.run-$RASA_PORT.yml
sed "s#http://127.0.0.1:5055/webhook#http://127.0.0.1:$ACTIONS_PORT/webhook#" "$ENDPOINTS" >"$run_endpoints"
"$python_bin/python" -m actions.server --actions actions --port "$ACTIONS_PORT" &
actions_pid=$!
"$python_bin/python" -m bot.web &
web_pid=$!
SANIC_WORKERS=$SANIC_WORKERS "$python_bin/rasa" run --model models/current.tar.gz --endpoints "$run_endpoints" \
  --credentials credentials.yml -i 127.0.0.1 --port "$RASA_PORT" &
rasa_pid=$!
trap 'kill $actions_pid $rasa_pid $web_pid 2>/dev/null; wait' INT TERM EXIT
for _ in $(seq 1 300); do
  if curl -fs "http://127.0.0.1:$RASA_PORT/webhooks/rest/" >/dev/null 2>&1; then break; fi
  sleep 1
done
cat <<MSG

Træningsguiden is running on localhost:
  chat:          http://127.0.0.1:$TRAENINGSGUIDEN_WEB_PORT/   (embeddable: /chat?kommune=aarhus, or /embed.js)
  staff:         http://127.0.0.1:$TRAENINGSGUIDEN_WEB_PORT/personale   (log in at /login)
  analysts:      http://127.0.0.1:$TRAENINGSGUIDEN_WEB_PORT/analyse     (log in at /login)
  audit log:     http://127.0.0.1:$TRAENINGSGUIDEN_WEB_PORT/analyse/adgangslog   (role admin)
  logins:        the demo passwords were printed above on the first run;
                 .venv/bin/python -m bot.web.accounts list | passwd <username>
  REST:          POST http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook  {"sender": "...", "message": "hej"}
  action server: http://127.0.0.1:$ACTIONS_PORT/webhook (localhost only; only Rasa has its token)
  drafts:        http://127.0.0.1:$TRAENINGSGUIDEN_WEB_PORT/udkast/<token> (links come from the bot)
Ctrl-C stops everything.
MSG
# if any of the three stops, stop the others: never a half-running bot
wait -n
echo "a server stopped; stopping the others" >&2
exit 1
