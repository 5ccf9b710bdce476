#!/usr/bin/env bash
# Installs Debian's docker.io when missing and starts dockerd when nothing answers on the
# socket. Prints the DOCKER_HOST to use. Idempotent.
source "$(dirname "$0")/lib.sh"
dir="$TESTENV_DIR/docker"; mkdir -p "$dir"
socket="${LUNORA_DOCKER_SOCKET:-/var/run/docker.sock}"
export DOCKER_HOST="unix://$socket"
command -v dockerd >/dev/null || apt_install "$dir/apt.log" docker.io
if docker info >/dev/null 2>&1; then
  log "docker engine already answering on $socket"
else
  log "starting dockerd (log: $dir/dockerd.log)"
  start_daemon "$dir/dockerd.pid" "$dir/dockerd.log" dockerd --host "$DOCKER_HOST" \
    --pidfile "$dir/dockerd.self.pid" --exec-root "$dir/exec" --log-level warn
  wait_until 60 dockerd docker info || { tail -30 "$dir/dockerd.log" >&2; exit 1; }
fi
echo "$DOCKER_HOST"
