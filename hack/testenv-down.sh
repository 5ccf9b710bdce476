#!/usr/bin/env bash
# Stops everything testenv-up started (kube-apiserver, etcd, registry, and dockerd when
# this environment started it) and removes the etcd data. Built tools stay cached.
source "$(dirname "$0")/lib.sh"
stop_daemon "$TESTENV_DIR/apiserver/kube-apiserver.pid" kube-apiserver
stop_daemon "$TESTENV_DIR/apiserver/etcd.pid" etcd
rm -rf "$TESTENV_DIR/apiserver/etcd-data"
stop_daemon "$TESTENV_DIR/registry/registry.pid" registry
if [[ -f "$TESTENV_DIR/docker/dockerd.pid" ]]; then
  # Containers left by tests would keep containerd-shim processes alive.
  DOCKER_HOST="unix://${LUNORA_DOCKER_SOCKET:-/var/run/docker.sock}" \
    docker ps -aq --filter label=lunora.sh/test 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
  stop_daemon "$TESTENV_DIR/docker/dockerd.pid" dockerd
fi
rm -f "$TESTENV_DIR/env"
log "test environment stopped"
