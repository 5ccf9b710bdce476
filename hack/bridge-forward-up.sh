#!/usr/bin/env bash
# Serves the API server, the registry and the Docker engine on the node's bridge address
# $NODE_IP as well, for Pods: the test cluster has no Service networking (no kube-proxy, so
# kubernetes.default.svc leads nowhere), and host networking is what the restricted Pod
# Security Standard forbids. One socat per port, bound to $NODE_IP only (never 0.0.0.0), so
# nothing outside the machine reaches them. The Docker engine is served without TLS: any Pod
# of the test node can use it, which is what image builds by the operator in the cluster need
# here and what a real cluster must never do. Needs the bridge (after kube-node-up.sh).
# Idempotent: a forwarder that answers through the bridge is kept.
source "$(dirname "$0")/lib.sh"
dir="$TESTENV_DIR/bridge-forward"; mkdir -p "$dir"
ip -4 addr show dev "$NODE_BRIDGE" 2>/dev/null | grep -q "inet $NODE_IP/" \
  || { log "the bridge $NODE_BRIDGE with $NODE_IP does not exist: start the node first (hack/kube-node-up.sh)"; exit 1; }
command -v socat >/dev/null || apt_install "$dir/apt.log" socat
socket="${LUNORA_DOCKER_SOCKET:-/var/run/docker.sock}"
# name port target check-command
answers() {
  case "$1" in
    apiserver) [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$PKI_DIR/ca.crt" "https://$NODE_IP:$APISERVER_PORT/readyz")" =~ ^(200|401|403)$ ]] ;;
    apiserver-443) [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert "$PKI_DIR/ca.crt" "https://$NODE_IP/readyz")" =~ ^(200|401|403)$ ]] ;;
    registry) [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$NODE_IP:$REGISTRY_PORT/v2/")" == 401 ]] ;;
    docker) [[ "$(curl -s --max-time 2 "http://$NODE_IP:$DOCKER_TCP_PORT/_ping")" == OK ]] ;;
  esac
}
forward() {
  local name="$1" port="$2" target="$3"
  if pid_alive "$dir/$name.pid" && answers "$name"; then return 0; fi
  stop_daemon "$dir/$name.pid" "$name forwarder"
  log "serving $name on $NODE_IP:$port"
  start_daemon "$dir/$name.pid" "$dir/$name.log" socat -lf "$dir/$name.log" \
    "TCP-LISTEN:$port,bind=$NODE_IP,reuseaddr,fork" "$target"
  up() { pid_alive "$dir/$name.pid" || return 2; answers "$name"; }
  wait_until 90 "$name on $NODE_IP:$port" up || { tail -5 "$dir/$name.log" >&2; exit 1; }
}
forward apiserver "$APISERVER_PORT" "TCP:127.0.0.1:$APISERVER_PORT"
# Also on 443, where a client that names https://kubernetes.default.svc (given a hosts entry for
# it, there being no cluster DNS) connects: kopf's own service-account login does.
forward apiserver-443 443 "TCP:127.0.0.1:$APISERVER_PORT"
forward registry "$REGISTRY_PORT" "TCP:127.0.0.1:$REGISTRY_PORT"
forward docker "$DOCKER_TCP_PORT" "UNIX-CONNECT:$socket"
