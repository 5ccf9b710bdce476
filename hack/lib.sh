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

# apt_install <log file> <package...>: installs Debian packages, updating the index only
# when the first attempt fails.
apt_install() {
  local log_file="$1"; shift
  log "installing Debian packages: $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$log_file" 2>&1; then
    apt-get update -qq >>"$log_file" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$log_file" 2>&1 || { tail -20 "$log_file" >&2; exit 1; }
  fi
}

# write_kubeconfig <file> <client cert name in $PKI_DIR>: a kubeconfig for the test API server.
write_kubeconfig() {
  local file="$1" user="$2"
  cat > "$file" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: lunora-test
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI_DIR/ca.crt
users:
- name: $user
  user:
    client-certificate: $PKI_DIR/$user.crt
    client-key: $PKI_DIR/$user.key
contexts:
- name: lunora-test
  context: {cluster: lunora-test, user: $user}
current-context: lunora-test
KUBECONFIG
}

# Ports of the test environment, all on 127.0.0.1.
ETCD_CLIENT_PORT="${LUNORA_ETCD_PORT:-12379}"
ETCD_PEER_PORT="${LUNORA_ETCD_PEER_PORT:-12380}"
APISERVER_PORT="${LUNORA_APISERVER_PORT:-16443}"
REGISTRY_PORT="${LUNORA_REGISTRY_PORT:-15000}"
CONTROLLER_MANAGER_PORT="${LUNORA_CONTROLLER_MANAGER_PORT:-10257}"
SCHEDULER_PORT="${LUNORA_SCHEDULER_PORT:-10259}"
KUBELET_PORT="${LUNORA_KUBELET_PORT:-10250}"
KUBELET_HEALTHZ_PORT="${LUNORA_KUBELET_HEALTHZ_PORT:-10248}"
NETWORK_POLICIES_METRICS_PORT="${LUNORA_NETWORK_POLICIES_METRICS_PORT:-19080}"
# The Docker engine over TCP, only on the node's bridge address (hack/bridge-forward-up.sh).
DOCKER_TCP_PORT="${LUNORA_DOCKER_TCP_PORT:-12375}"

# The node (containerd + CNI + kubelet). One per machine: it owns the bridge, the kubepods
# cgroups, the CNI iptables chains and its /var/log/containers links; NODE_OWNER_FILE names
# the environment whose node that is. The bridge's address is the node's address, so the
# kubelet listens on no outside interface.
NODE_NAME=lunora-node
NODE_BRIDGE=lunora0
NODE_POD_CIDR=10.244.0.0/24
NODE_IP=10.244.0.1
NODE_DIR="$TESTENV_DIR/kube-node"
NODE_OWNER_FILE=/run/lunora-operator/kube-node.owner
# The kernel settings the kubelet changes machine-wide, as they were before it started.
NODE_SAVED_SYSCTLS=/run/lunora-operator/kube-node.sysctl
NODE_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# The NetworkPolicy enforcer (hack/network-policies-up.sh): its nftables table (a name the
# enforcer fixes) and the netfilter queue it reads packets from.
NETWORK_POLICIES_DIR="$TESTENV_DIR/network-policies"
NETWORK_POLICIES_TABLE=kube-network-policies
NETWORK_POLICIES_QUEUE=98
# Certificates, keys and kubeconfigs of every component (hack/pki.sh).
PKI_DIR="$TESTENV_DIR/apiserver"
# Changes each time the API server starts on fresh etcd data: components started before
# (whose service-account tokens and Node object are gone with the data) must restart.
CLUSTER_ID_FILE="$PKI_DIR/cluster.id"
cluster_id() { cat "$CLUSTER_ID_FILE" 2>/dev/null || true; }

# Starts "$@" in its own session (so stop can kill the whole group), logging to $log_file
# and recording the pid in $pid_file. Descriptors above stderr are closed first: a daemon
# started under `flock /tmp/lunora-heavy.lock` must not keep holding the lock.
start_daemon() {
  local pid_file="$1" log_file="$2"; shift 2
  (
    for fd in /proc/self/fd/*; do
      fd="${fd##*/}"; if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "$@" >>"$log_file" 2>&1 < /dev/null
  ) &
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
