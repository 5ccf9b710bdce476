#!/usr/bin/env bash
# Starts Debian's docker-registry (Distribution 2.8) on 127.0.0.1 with htpasswd (bcrypt)
# basic auth. Credentials are in $TESTENV_DIR/registry/credentials as user:password. Idempotent.
source "$(dirname "$0")/lib.sh"
dir="$TESTENV_DIR/registry"; mkdir -p "$dir"
up() { [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$REGISTRY_PORT/v2/")" == 401 ]]; }
if pid_alive "$dir/registry.pid" && up; then
  log "registry already running on 127.0.0.1:$REGISTRY_PORT"; exit 0
fi
missing=()
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v htpasswd >/dev/null || missing+=(apache2-utils)
if (( ${#missing[@]} )); then apt_install "$dir/apt.log" "${missing[@]}"; fi
if [[ ! -f "$dir/credentials" ]]; then
  umask 077
  echo "lunora:$(head -c 18 /dev/urandom | base64 | tr -d '/+=')" > "$dir/credentials"
fi
IFS=: read -r user password < "$dir/credentials"
htpasswd -Bbn "$user" "$password" > "$dir/htpasswd" 2>/dev/null
cat > "$dir/config.yml" <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
  secret: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
auth:
  htpasswd:
    realm: lunora-test-registry
    path: $dir/htpasswd
CONFIG
stop_daemon "$dir/registry.pid" registry
log "starting registry on 127.0.0.1:$REGISTRY_PORT"
start_daemon "$dir/registry.pid" "$dir/registry.log" docker-registry serve "$dir/config.yml"
wait_until 30 registry up || { tail -20 "$dir/registry.log" >&2; exit 1; }
