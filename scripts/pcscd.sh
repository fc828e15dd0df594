#!/usr/bin/env bash
# Start, stop or check the PC/SC daemon for tests and the demo (no systemd on the kiosk test machines).
#   scripts/pcscd.sh start   start pcscd unless one is running; wait until its socket answers
#   scripts/pcscd.sh stop    stop the pcscd this script started (never another one)
#   scripts/pcscd.sh status  say whether pcscd runs and who started it
# pcscd runs as a plain background command so $! is pcscd itself (PLATFORM.md: `cd x && pcscd &`
# would background a subshell and orphan the daemon). Log and pid file live in var/.
set -euo pipefail
cd "$(dirname "$0")/.."

VAR=var
PIDFILE=$VAR/pcscd.pid
LOG=$VAR/pcscd.log
SOCKET=/run/pcscd/pcscd.comm
WAIT_S=5

our_pid() {
  # The pid we recorded, if that process is still a pcscd (a reused pid must not be killed).
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid=$(tr -dc '0-9' < "$PIDFILE")
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = pcscd ] || return 1
  echo "$pid"
}

any_pcscd() { pgrep -x pcscd >/dev/null 2>&1; }

wait_ready() {
  local pid=$1 deadline=$((SECONDS + WAIT_S))
  while [ ! -S "$SOCKET" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "pcscd.sh: pcscd exited during start-up; last lines of $LOG:" >&2
      tail -n 20 "$LOG" >&2 || true
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "pcscd.sh: $SOCKET did not appear within ${WAIT_S} s; last lines of $LOG:" >&2
      tail -n 20 "$LOG" >&2 || true
      return 1
    fi
    sleep 0.05
  done
}

start() {
  if pid=$(our_pid); then
    echo "pcscd.sh: pcscd already running (pid $pid, started by this script)"
    return 0
  fi
  if any_pcscd; then
    echo "pcscd.sh: a pcscd not started by this script is running (pid $(pgrep -x pcscd | head -n1)); leaving it alone"
    return 0
  fi
  command -v pcscd >/dev/null || { echo "pcscd.sh: pcscd is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
  mkdir -p "$VAR"
  rm -f "$PIDFILE"
  pcscd --foreground > "$LOG" 2>&1 &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  if ! wait_ready "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    exit 1
  fi
  echo "pcscd.sh: pcscd started (pid $pid, log $LOG)"
}

stop() {
  local pid
  if ! pid=$(our_pid); then
    rm -f "$PIDFILE"
    if any_pcscd; then
      echo "pcscd.sh: the running pcscd was not started by this script; leaving it alone"
    else
      echo "pcscd.sh: pcscd is not running"
    fi
    return 0
  fi
  kill -TERM "$pid"
  # Not our child (another invocation started it), so `wait` cannot be used: poll.
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "pcscd.sh: pcscd (pid $pid) did not stop within 5 s" >&2
    exit 1
  fi
  rm -f "$PIDFILE"
  echo "pcscd.sh: pcscd stopped (pid $pid)"
}

status() {
  if pid=$(our_pid); then
    echo "pcscd.sh: running (pid $pid, started by this script)"
  elif any_pcscd; then
    echo "pcscd.sh: running (pid $(pgrep -x pcscd | head -n1), not started by this script)"
  else
    echo "pcscd.sh: not running"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
