#!/usr/bin/env bash
# Set up twinbridge on a fresh machine: a virtualenv with the package and its
# test tools, and a Redis on 127.0.0.1:6379 (installed and started if none answers).
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
say() { printf '[bootstrap] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

redis_answers() {
  # PING over bash's /dev/tcp, so that no Redis client is needed to find out.
  timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379 && printf "PING\r\n" >&3 && head -c 5 <&3' 2>/dev/null \
    | grep -q PONG
}

if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($PYTHON --version 2>&1)"
  "$PYTHON" -m venv .venv
fi
if ! .venv/bin/python -c 'import bridge, workers, aiogram, discord, celery, pytest' >/dev/null 2>&1 \
   || [ pyproject.toml -nt .venv/.twinbridge-installed ] \
   || [ requirements-dev.lock -nt .venv/.twinbridge-installed ]; then
  # Exactly the locked versions, each file checked against its sha256 (scripts/lock.sh
  # writes the lock from pyproject.toml), then the package itself without resolving again.
  say "installing the locked dependencies (requirements-dev.lock) and twinbridge into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
  touch .venv/.twinbridge-installed
fi

if redis_answers; then
  say "Redis answers on 127.0.0.1:6379"
else
  if ! command -v redis-server >/dev/null 2>&1; then
    say "installing redis-server (apt-get)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
  say "starting redis-server on 127.0.0.1:6379"
  mkdir -p /tmp/twinbridge-redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --dir /tmp/twinbridge-redis \
    --save "" --appendonly no --logfile /tmp/twinbridge-redis/redis.log
  for _ in $(seq 1 50); do redis_answers && break; sleep 0.1; done
  redis_answers || { say "Redis did not start; see /tmp/twinbridge-redis/redis.log"; exit 1; }
fi

# The web console's browser tests (tests/browser) drive the system's Chromium through
# Playwright (never a browser download: Debian's package).
if [ ! -x /usr/bin/chromium ]; then
  say "installing chromium (apt-get) for the console's browser tests"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
