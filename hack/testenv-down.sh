#!/usr/bin/env bash
# Stops everything testenv-up started — the NetworkPolicy enforcer and its nftables table, the
# bridge forwarders, the node (and all it leaves on the machine, see kube-node-down.sh),
# kube-scheduler, kube-controller-manager, kube-apiserver, etcd, the
# registry, and dockerd when this environment started it — and removes the etcd data.
# Built tools and logs stay.
source "$(dirname "$0")/lib.sh"
stop_daemon "$TESTENV_DIR/controllers/kube-controller-manager.pid" kube-controller-manager
stop_daemon "$TESTENV_DIR/controllers/kube-scheduler.pid" kube-scheduler
"$HACK_DIR/network-policies-down.sh"
"$HACK_DIR/bridge-forward-down.sh"
"$HACK_DIR/kube-node-down.sh"
stop_daemon "$PKI_DIR/kube-apiserver.pid" kube-apiserver
stop_daemon "$PKI_DIR/etcd.pid" etcd
rm -rf "$PKI_DIR/etcd-data"
stop_daemon "$TESTENV_DIR/registry/registry.pid" registry
if [[ -f "$TESTENV_DIR/docker/dockerd.pid" ]]; then
  # Containers left by tests would keep containerd-shim processes alive.
  DOCKER_HOST="unix://${LUNORA_DOCKER_SOCKET:-/var/run/docker.sock}" \
    docker ps -aq --filter label=lunora.sh/test 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
  stop_daemon "$TESTENV_DIR/docker/dockerd.pid" dockerd
fi
rm -f "$TESTENV_DIR/env"
log "test environment stopped"
