#!/usr/bin/env bash
# Starts the NetworkPolicy enforcer, kube-network-policies, for the test node: a host process
# (as kind's DaemonSet runs it on each node), talking only to the test API server on 127.0.0.1
# as the user lunora-test-network-policies with the enforcer's own RBAC. It puts the first
# packet of each connection from or to a Pod that a NetworkPolicy selects through netfilter
# queue $NETWORK_POLICIES_QUEUE and drops what the policies forbid; its nftables table
# ($NETWORK_POLICIES_TABLE) queues only packets whose address is such a Pod's, so traffic of
# other Pods, Docker and the machine is accepted unexamined. It fails closed
# (--fail-open=false): while it is down, those Pods' new connections are dropped, never let
# through unchecked. Idempotent: a running enforcer started from the binary this checkout
# builds (version and patches), against the running API server's data, answering on its
# metrics port, is kept; one started from another build is replaced.
source "$(dirname "$0")/lib.sh"
dir="$NETWORK_POLICIES_DIR"; mkdir -p "$dir"
command -v nft >/dev/null || apt_install "$dir/apt.log" nftables
binary="$("$HACK_DIR/build-kube-network-policies.sh")"
metrics() { curl -fsS --max-time 2 "http://127.0.0.1:$NETWORK_POLICIES_METRICS_PORT/metrics"; }
table() { nft list table inet "$NETWORK_POLICIES_TABLE"; }
if [[ "$(cat "$dir/cluster.id" 2>/dev/null)" == "$(cluster_id)" ]] && pid_alive "$dir/enforcer.pid" \
    && [[ "$(readlink "/proc/$(cat "$dir/enforcer.pid")/exe")" == "$binary" ]] \
    && metrics >/dev/null 2>&1 && table >/dev/null 2>&1; then
  log "kube-network-policies already running"; exit 0
fi
kubectl="$("$HACK_DIR/fetch-kube-tools.py" "$TOOLS_DIR")/kubectl"
"$HACK_DIR/pki.sh"
"$HACK_DIR/network-policies-down.sh"
write_kubeconfig "$dir/enforcer.kubeconfig" network-policies
# The enforcer's RBAC, as its install manifest grants it.
"$kubectl" --kubeconfig "$PKI_DIR/admin.kubeconfig" apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: lunora-test-network-policies}
rules:
- {apiGroups: [""], resources: [pods, namespaces], verbs: [list, watch]}
- {apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: lunora-test-network-policies}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: lunora-test-network-policies}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: lunora-test-network-policies}
YAML
cluster_id > "$dir/cluster.id"
log "starting kube-network-policies for node $NODE_NAME (queue $NETWORK_POLICIES_QUEUE, metrics on 127.0.0.1:$NETWORK_POLICIES_METRICS_PORT)"
started=$SECONDS
start_daemon "$dir/enforcer.pid" "$dir/enforcer.log" "$binary" \
  --kubeconfig "$dir/enforcer.kubeconfig" --hostname-override "$NODE_NAME" \
  --metrics-bind-address "127.0.0.1:$NETWORK_POLICIES_METRICS_PORT" \
  --nfqueue-id "$NETWORK_POLICIES_QUEUE" --fail-open=false --disable-nri --v 1
up() { pid_alive "$dir/enforcer.pid" || return 2; metrics && table; }
wait_until 60 kube-network-policies up || { grep -E '^[EF][0-9]{4}' "$dir/enforcer.log" | tail -5 >&2; exit 1; }
log "kube-network-policies ready in $((SECONDS - started))s"
