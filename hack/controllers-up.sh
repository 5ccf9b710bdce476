#!/usr/bin/env bash
# Starts kube-controller-manager (service-account tokens and each namespace's `default`
# ServiceAccount, namespace deletion, garbage collection, Deployments and ReplicaSets, …)
# and kube-scheduler against the test API server, each with its own client certificate
# and health endpoint on 127.0.0.1. Idempotent: healthy ones started against the running
# API server's data are kept.
source "$(dirname "$0")/lib.sh"
dir="$TESTENV_DIR/controllers"; mkdir -p "$dir"
healthy() { curl -fsk --max-time 2 "https://127.0.0.1:$1/healthz"; }
if [[ "$(cat "$dir/cluster.id" 2>/dev/null)" == "$(cluster_id)" ]] \
    && pid_alive "$dir/kube-controller-manager.pid" && healthy "$CONTROLLER_MANAGER_PORT" >/dev/null 2>&1 \
    && pid_alive "$dir/kube-scheduler.pid" && healthy "$SCHEDULER_PORT" >/dev/null 2>&1; then
  log "kube-controller-manager and kube-scheduler already running"; exit 0
fi
kube_dir="$("$HACK_DIR/build-kube.sh")"
"$HACK_DIR/pki.sh"
stop_daemon "$dir/kube-controller-manager.pid" kube-controller-manager
stop_daemon "$dir/kube-scheduler.pid" kube-scheduler
write_kubeconfig "$dir/controller-manager.kubeconfig" controller-manager
write_kubeconfig "$dir/scheduler.kubeconfig" scheduler

cluster_id > "$dir/cluster.id"
log "starting kube-controller-manager (health on 127.0.0.1:$CONTROLLER_MANAGER_PORT)"
# Each controller runs as its own service account, as in kubeadm clusters, so RBAC
# decides what it may do. The root CA goes into every namespace's kube-root-ca.crt.
start_daemon "$dir/kube-controller-manager.pid" "$dir/kube-controller-manager.log" \
  "$kube_dir/kube-controller-manager" \
  --kubeconfig "$dir/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" --cert-dir "$dir/controller-manager-serving" \
  --use-service-account-credentials \
  --service-account-private-key-file "$PKI_DIR/sa.key" --root-ca-file "$PKI_DIR/ca.crt" \
  --leader-elect=false --profiling=false --v 1
log "starting kube-scheduler (health on 127.0.0.1:$SCHEDULER_PORT)"
start_daemon "$dir/kube-scheduler.pid" "$dir/kube-scheduler.log" "$kube_dir/kube-scheduler" \
  --kubeconfig "$dir/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --cert-dir "$dir/scheduler-serving" \
  --leader-elect=false --profiling=false --v 1
for component in kube-controller-manager:$CONTROLLER_MANAGER_PORT kube-scheduler:$SCHEDULER_PORT; do
  name="${component%%:*}" port="${component##*:}"
  up() { pid_alive "$dir/$name.pid" || return 2; healthy "$port"; }
  wait_until 60 "$name" up || { grep -E '^[EF][0-9]{4}' "$dir/$name.log" | tail -5 >&2; exit 1; }
done
# Pods are refused until their namespace's `default` ServiceAccount exists.
kubectl="$("$HACK_DIR/fetch-kube-tools.py" "$TOOLS_DIR")/kubectl"
default_account() { "$kubectl" --kubeconfig "$PKI_DIR/admin.kubeconfig" get serviceaccount default --namespace default; }
wait_until 30 "the default ServiceAccount" default_account || { tail -5 "$dir/kube-controller-manager.log" >&2; exit 1; }
log "kube-controller-manager and kube-scheduler ready"
