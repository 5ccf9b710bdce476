# Shared settings for hack/ scripts. Source it; do not execute.
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=versions.env
source "$HACK_DIR/versions.env"
LUNORA_CACHE="${LUNORA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lunora-operator}"
TOOLS_DIR="$LUNORA_CACHE/tools"
# Runtime state (pids, certs, data) of a running test environment.
TESTENV_DIR="${LUNORA_TESTENV_DIR:-$LUNORA_CACHE/testenv}"
mkdir -p "$TOOLS_DIR" "$TESTENV_DIR"
log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

# Ports of the test environment, all on 127.0.0.1.
ETCD_CLIENT_PORT="${LUNORA_ETCD_PORT:-12379}"
ETCD_PEER_PORT="${LUNORA_ETCD_PEER_PORT:-12380}"
APISERVER_PORT="${LUNORA_APISERVER_PORT:-16443}"
REGISTRY_PORT="${LUNORA_REGISTRY_PORT:-15000}"

# Starts "$@" in its own session (so stop can kill the whole group), logging to $log_file
# and recording the pid in $pid_file.
start_daemon() {
  local pid_file="$1" log_file="$2"; shift 2
  setsid "$@" >>"$log_file" 2>&1 < /dev/null &
  echo $! > "$pid_file"
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the process group recorded in a pid file: SIGTERM, then SIGKILL after a grace period.
stop_daemon() {
  local pid_file="$1" name="$2" pid
  [[ -f "$pid_file" ]] || return 0
  pid="$(cat "$pid_file")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

# wait_until <seconds> <description> <command...>: polls every 0.2 s; gives up at once
# when the command returns 2 (the process being waited for has died).
wait_until() {
  local timeout="$1" what="$2"; shift 2
  local deadline=$((SECONDS + timeout)) rc
  while true; do
    rc=0; "$@" >/dev/null 2>&1 || rc=$?
    (( rc == 0 )) && return 0
    (( rc == 2 )) && { log "$what is not running"; return 1; }
    if (( SECONDS >= deadline )); then log "timed out after ${timeout}s waiting for $what"; return 1; fi
    sleep 0.2
  done
}
