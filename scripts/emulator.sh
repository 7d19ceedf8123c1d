#!/usr/bin/env bash
# Local AWS emulator (moto server) for tests and the demo.
#
#   scripts/emulator.sh up       start in the background; no-op if ours is already up and healthy
#   scripts/emulator.sh down     stop it (by PID file); no error if it is not running
#   scripts/emulator.sh status   exit 0 if ours is running and healthy
#   scripts/emulator.sh logs     print the tail of the log
#
# Env: EMULATOR_PORT (default 5055), EMULATOR_DIR (default .emulator),
#      EMULATOR_WAIT (seconds to wait for readiness, default 30), VENV (default .venv).
#      MOTO_IAM_LOAD_MANAGED_POLICIES (default true: AWS-managed IAM policies such as
#      AdministratorAccess exist, as in a real account; the IAM tests attach them).
set -euo pipefail

export MOTO_IAM_LOAD_MANAGED_POLICIES="${MOTO_IAM_LOAD_MANAGED_POLICIES:-true}"

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PORT="${EMULATOR_PORT:-5055}"
DIR="${EMULATOR_DIR:-.emulator}"
WAIT="${EMULATOR_WAIT:-30}"
VENV="${VENV:-.venv}"
PIDFILE="$DIR/moto.pid"
LOG="$DIR/moto.log"
URL="http://127.0.0.1:$PORT"

log() { echo "emulator: $*" >&2; }

pid_of_ours() {
  # Prints the PID from the PID file if that process is alive and is a moto server.
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q moto_server || return 1
  echo "$pid"
}

healthy() {
  curl -fsS -o /dev/null --max-time 2 "$URL/moto-api/" 2>/dev/null
}

port_in_use() {
  # Anything answering on the port (HTTP or not)?
  curl -s -o /dev/null --max-time 1 "$URL/" 2>/dev/null
  local rc=$?
  # 7 = connection refused; anything else means something is listening.
  [[ $rc -ne 7 ]]
}

logs() {
  if [[ -f "$LOG" ]]; then
    echo "----- last 40 lines of $LOG -----" >&2
    tail -n 40 "$LOG" >&2
    echo "---------------------------------" >&2
  fi
}

up() {
  if pid="$(pid_of_ours)"; then
    if healthy; then
      log "already running (pid $pid) on $URL"
      return 0
    fi
    log "pid $pid is alive but $URL is not healthy; restarting"
    down
  fi
  rm -f "$PIDFILE"
  if [[ ! -x "$VENV/bin/moto_server" ]]; then
    log "$VENV/bin/moto_server not found: run 'make setup' first"
    return 1
  fi
  if port_in_use; then
    log "port $PORT is already in use by another process; stop it or set EMULATOR_PORT"
    return 1
  fi
  mkdir -p "$DIR"
  : >"$LOG"
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" </dev/null >>"$LOG" 2>&1 &
  echo $! >"$PIDFILE"
  local pid deadline
  pid="$(cat "$PIDFILE")"
  deadline=$((SECONDS + WAIT))
  until healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "moto server (pid $pid) exited during startup"
      rm -f "$PIDFILE"
      logs
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "moto server not ready on $URL after ${WAIT}s; stopping it"
      logs
      down
      return 1
    fi
    sleep 0.2
  done
  log "up (pid $pid) on $URL, log $LOG"
}

down() {
  local pid
  if ! pid="$(pid_of_ours)"; then
    rm -f "$PIDFILE"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not stop after SIGTERM; sending SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  log "stopped (pid $pid)"
}

status() {
  local pid
  if pid="$(pid_of_ours)" && healthy; then
    log "running (pid $pid) on $URL"
    return 0
  fi
  log "not running"
  return 1
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  logs) logs ;;
  *)
    echo "usage: $0 up|down|status|logs" >&2
    exit 2
    ;;
esac
