#!/usr/bin/env bash
# Contract test of the public API (issue 12): schemathesis against a real server.
#
# A fresh PostgreSQL database with the demo data, a token for the demo superuser, gunicorn on a free
# loopback port, then `schemathesis run` over every operation of /api/schema/ with all checks, a
# fixed seed and a budget that ends in ~5 minutes on 2 cores. Prints the summary; any failure fails.
#
# The server runs with DEBUG off, the way production does (a 500 is the plain production page, not a
# debug page, and settings such as ALLOWED_HOSTS are the real ones). TLS would end at a proxy in
# production: BEHIND_TLS_PROXY=on and every request carries `X-Forwarded-Proto: https`, so the
# HTTPS redirect, Secure cookies and HSTS of the deploy check stay on and no request is redirected.
#
# Env: PG_URL (server, default postgres://postgres@127.0.0.1:5432), ST_DB (database name, default
# schemathesis_ci, dropped and created), ST_MAX_EXAMPLES (default 50), ST_SEED (default 20261201).
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
ST_DB=${ST_DB:-schemathesis_ci}
PY=.venv/bin/python
# Schemathesis keeps replayable failures of earlier runs in .schemathesis/; judge this run alone.
rm -rf .schemathesis

psql "$PG_URL/postgres" -q -c "drop database if exists $ST_DB with (force)" -c "create database $ST_DB"

PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL="$PG_URL/$ST_DB"
export DEBUG=false BEHIND_TLS_PROXY=true ALLOWED_HOSTS=127.0.0.1
export SITE_URL="https://127.0.0.1:$PORT"
export SECRET_KEY="$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')"
export CELERY_BROKER_URL=""  # tasks run eagerly: the run needs no worker
export LOG_LEVEL=ERROR

$PY manage.py migrate -v0
$PY manage.py seed_demo --force -v0 >/dev/null
$PY manage.py collectstatic --noinput -v0
TOKEN=$($PY manage.py shell -c "
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
user = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by('pk').first()
print(Token.objects.get_or_create(user=user)[0].key)" | tail -1)

.venv/bin/gunicorn postmortems.config.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 \
  --timeout 60 --log-level warning &
GUNICORN=$!
trap 'kill "$GUNICORN" 2>/dev/null || true; wait "$GUNICORN" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null -H 'X-Forwarded-Proto: https' "http://127.0.0.1:$PORT/healthz" && break
  sleep 0.2
done

# --checks all, except:
# - ignored_auth: the token goes in a global header (-H) on every request, including the ones this
#   check sends "without" auth, so it cannot tell an API that ignores auth from this run's setup
#   (sign-in is covered by tests/ instead: every /api/ URL answers 401/403 without a session or token).
# Everything else applies, including the stateful phase (links between operations: create an
# incident, then read, update and add to it).
.venv/bin/schemathesis --config-file .ci/schemathesis.toml run "http://127.0.0.1:$PORT/api/schema/" \
  --url "http://127.0.0.1:$PORT" \
  -H "Authorization: Token $TOKEN" \
  -H "X-Forwarded-Proto: https" \
  --checks all \
  --exclude-checks ignored_auth \
  --phases examples,coverage,fuzzing,stateful \
  --seed "${ST_SEED:-20261201}" \
  --max-examples "${ST_MAX_EXAMPLES:-50}" \
  --workers 2 \
  --request-timeout 30 \
  --generation-database none \
  --no-color "$@"
