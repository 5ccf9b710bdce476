#!/usr/bin/env bash
# Starts the test node $NODE_NAME: a containerd of its own (socket, root and state under
# $NODE_DIR; never /run/containerd/containerd.sock, which dockerd 20.10 adopts), the CNI
# bridge $NODE_BRIDGE (its MAC address pinned) whose address $NODE_IP is also the node's address,
# and a kubelet.
# Loads the locally built pause image and the base image into containerd first, since
# nothing can be pulled from outside; images in the test registry are pulled from it over
# plain HTTP with each Pod's imagePullSecrets. One node per machine (see $NODE_OWNER_FILE).
# Idempotent: a running node started against the running API server's data, and Ready there,
# is kept (only its containerd restarts when its config has changed).
source "$(dirname "$0")/lib.sh"
mkdir -p "$NODE_DIR"
sock="$NODE_DIR/containerd.sock"
kubectl="$("$HACK_DIR/fetch-kube-tools.py" "$TOOLS_DIR")/kubectl"
node_ready() {
  [[ "$("$kubectl" --kubeconfig "$PKI_DIR/admin.kubeconfig" get node "$NODE_NAME" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
kubelet_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"; }
containerd_up() { pid_alive "$NODE_DIR/containerd.pid" || return 2; ctr --address "$sock" --timeout 2s version; }
start_containerd() {
  log "starting containerd on $sock"
  start_daemon "$NODE_DIR/containerd.pid" "$NODE_DIR/containerd.log" containerd --config "$NODE_DIR/containerd.toml" --log-level warn
  wait_until 30 containerd containerd_up || { tail -20 "$NODE_DIR/containerd.log" >&2; exit 1; }
}
# The test registry, pulled from over plain HTTP like a kind user's local registry; the
# credentials come from each Pod's imagePullSecrets, as on any cluster.
registry_hosts="$NODE_DIR/certs.d/127.0.0.1:$REGISTRY_PORT/hosts.toml"
registry_hosts_toml() {
  cat <<TOML
server = "http://127.0.0.1:$REGISTRY_PORT"
[host."http://127.0.0.1:$REGISTRY_PORT"]
  capabilities = ["pull", "resolve"]
TOML
}
# restrict_oom_score_adj: these machines lack CAP_SYS_RESOURCE, and runc cannot lower a
# container's oom_score_adj below containerd's, so every sandbox would fail to start.
containerd_toml() {
  cat <<TOML
version = 2
root = "$NODE_DIR/containerd-root"
state = "$NODE_DIR/containerd-state"
[grpc]
  address = "$sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$pause_image"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$NODE_DIR/certs.d"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      Root = "$NODE_DIR/containerd-state/runc"
      SystemdCgroup = false
TOML
}
# The bridge keeps one MAC address. Left to the kernel (NET_ADDR_RANDOM), a bridge takes the
# lowest MAC of its ports and so changes whenever a Pod's veth with a lower one joins or the
# lowest one leaves; a Pod that cached the old one for the node's address ($NODE_IP) then has its
# frames to the node dropped (the bridge passes up only frames to its own address) until its
# ARP entry expires: up to ~40 s without any connection to the node. Setting the address, even
# to the one it has, pins it (NET_ADDR_SET) without changing it.
pin_bridge_address() {
  [[ "$(cat "/sys/class/net/$NODE_BRIDGE/addr_assign_type")" == 3 ]] && return 0
  ip link set "$NODE_BRIDGE" address "$(cat "/sys/class/net/$NODE_BRIDGE/address")"
  log "pinned the MAC address of bridge $NODE_BRIDGE ($(cat "/sys/class/net/$NODE_BRIDGE/address"))"
}
write_containerd_config() {
  mkdir -p "$(dirname "$registry_hosts")"
  registry_hosts_toml > "$registry_hosts"
  containerd_toml > "$NODE_DIR/containerd.toml"
}

if [[ "$(cat "$NODE_DIR/cluster.id" 2>/dev/null)" == "$(cluster_id)" ]] \
    && pid_alive "$NODE_DIR/containerd.pid" && pid_alive "$NODE_DIR/kubelet.pid" \
    && kubelet_healthy >/dev/null 2>&1 && node_ready; then
  pause_image="$("$HACK_DIR/pause-image.sh")"
  if [[ "$(containerd_toml)" != "$(cat "$NODE_DIR/containerd.toml")" \
      || "$(registry_hosts_toml)" != "$(cat "$registry_hosts" 2>/dev/null)" ]]; then
    # A node started by an older version of this script: only containerd restarts, to read
    # the new config. Running Pods keep running (their shims are not containerd's children)
    # and the kubelet reconnects.
    log "containerd's config changed: restarting containerd of node $NODE_NAME"
    write_containerd_config
    stop_daemon "$NODE_DIR/containerd.pid" containerd
    start_containerd
  fi
  pin_bridge_address  # a node started before the address was pinned
  log "node $NODE_NAME already running"; exit 0
fi

owner="$(cat "$NODE_OWNER_FILE" 2>/dev/null || true)"
if [[ -n "$owner" && "$owner" != "$TESTENV_DIR" ]]; then
  if pid_alive "$owner/kube-node/kubelet.pid" || pid_alive "$owner/kube-node/containerd.pid"; then
    log "the test node of $owner is running and a machine holds only one (it owns the bridge" \
      "$NODE_BRIDGE and the kubepods cgroups); stop it with: LUNORA_TESTENV_DIR=$owner make testenv-down"
    exit 1
  fi
  log "cleaning up the stopped node of $owner"
  LUNORA_TESTENV_DIR="$owner" "$HACK_DIR/kube-node-down.sh"
fi
"$HACK_DIR/kube-node-down.sh"  # whatever an earlier run of this environment left
mkdir -p "$(dirname "$NODE_OWNER_FILE")"
echo "$TESTENV_DIR" > "$NODE_OWNER_FILE"
[[ -f "$NODE_SAVED_SYSCTLS" ]] || sysctl "${NODE_SYSCTLS[@]}" > "$NODE_SAVED_SYSCTLS"

missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
if (( ${#missing[@]} )); then apt_install "$NODE_DIR/apt.log" "${missing[@]}"; fi
kube_dir="$("$HACK_DIR/build-kube.sh")"
"$HACK_DIR/pki.sh"
pause_image="$("$HACK_DIR/pause-image.sh")"
base_image="$("$HACK_DIR/base-image.sh")"

log "creating bridge $NODE_BRIDGE ($NODE_IP)"
ip link add "$NODE_BRIDGE" type bridge
ip addr add "$NODE_IP/${NODE_POD_CIDR#*/}" dev "$NODE_BRIDGE"
pin_bridge_address
ip link set "$NODE_BRIDGE" up
mkdir -p "$NODE_DIR/cni/net.d"
# No ipMasq: Pods have nowhere to go outside the machine. firewall: dockerd sets the
# FORWARD policy to DROP and bridged traffic passes iptables (br_netfilter), so without
# its per-Pod ACCEPT rules Pods could not reach each other.
cat > "$NODE_DIR/cni/net.d/10-lunora-node.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "lunora-node",
  "plugins": [
    {
      "type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$NODE_DIR/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall"}
  ]
}
JSON

write_containerd_config
start_containerd
CONTAINERD_ADDRESS="$sock" "$HACK_DIR/load-image.sh" "$pause_image" "$base_image"

# failCgroupV1: these machines run cgroup v1, which the kubelet refuses since 1.35 unless told.
# Eviction thresholds are loose and image GC is off: the machine's disk is shared, and an
# evicted Pod or a collected image would fail tests for reasons outside them.
write_kubeconfig "$NODE_DIR/kubelet.kubeconfig" kubelet
cat > "$NODE_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI_DIR/kubelet-serving.crt
tlsPrivateKeyFile: $PKI_DIR/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI_DIR/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
makeIPTablesUtilChains: false
podLogsDir: $NODE_DIR/pod-logs
volumePluginDir: $NODE_DIR/kubelet/volume-plugins
clusterDomain: cluster.local
evictionHard: {memory.available: 1Mi, nodefs.available: 1%, nodefs.inodesFree: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
YAML
cluster_id > "$NODE_DIR/cluster.id"
log "starting kubelet as node $NODE_NAME ($NODE_IP:$KUBELET_PORT)"
start_daemon "$NODE_DIR/kubelet.pid" "$NODE_DIR/kubelet.log" "$kube_dir/kubelet" \
  --config "$NODE_DIR/kubelet.yaml" --kubeconfig "$NODE_DIR/kubelet.kubeconfig" \
  --root-dir "$NODE_DIR/kubelet" --cert-dir "$NODE_DIR/kubelet/pki" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v 1
kubelet_up() { pid_alive "$NODE_DIR/kubelet.pid" || return 2; kubelet_healthy && node_ready; }
wait_until 90 "node $NODE_NAME Ready" kubelet_up || { grep -E '^[EF][0-9]{4}' "$NODE_DIR/kubelet.log" | tail -5 >&2; exit 1; }
log "node $NODE_NAME ready"
