#!/usr/bin/env bash
# Starts etcd and kube-apiserver on 127.0.0.1 with the Node and RBAC authorizers,
# service-account token signing and admission, client certificates for the kubelet
# (logs, exec), and an admin kubeconfig at $PKI_DIR/admin.kubeconfig. Idempotent.
source "$(dirname "$0")/lib.sh"
dir="$PKI_DIR"; mkdir -p "$dir"
kubeconfig="$dir/admin.kubeconfig"
ready() { curl -fsS --max-time 2 --cacert "$dir/ca.crt" --cert "$dir/admin.crt" --key "$dir/admin.key" \
  "https://127.0.0.1:$APISERVER_PORT/readyz" ; }
apiserver_bin="$("$HACK_DIR/build-kube.sh")/kube-apiserver"
etcd_bin="$("$HACK_DIR/build-etcd.sh")"
"$HACK_DIR/pki.sh"
# Node authorizer: the kubelet acts as system:node:<name>. The kubelet is dialled at the
# node's InternalIP (there is no DNS for the node name) with a client certificate, checked
# against the CA that signed the kubelet's serving certificate.
apiserver_args=(
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT"
  --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT"
  --tls-cert-file "$dir/serving.crt" --tls-private-key-file "$dir/serving.key"
  --client-ca-file "$dir/ca.crt"
  --service-account-issuer https://kubernetes.default.svc
  --service-account-key-file "$dir/sa.pub" --service-account-signing-key-file "$dir/sa.key"
  --service-cluster-ip-range 10.96.0.0/24 --endpoint-reconciler-type none
  --authorization-mode Node,RBAC --allow-privileged=true
  --kubelet-client-certificate "$dir/apiserver-kubelet-client.crt"
  --kubelet-client-key "$dir/apiserver-kubelet-client.key"
  --kubelet-certificate-authority "$dir/ca.crt"
  --kubelet-preferred-address-types InternalIP,Hostname
  --profiling=false --v 1
)
# A running API server is kept only when it was started from the same binary and flags.
command_line="$apiserver_bin ${apiserver_args[*]}"
if pid_alive "$dir/kube-apiserver.pid" && ready >/dev/null 2>&1 \
    && [[ "$(cat "$dir/kube-apiserver.cmdline" 2>/dev/null)" == "$command_line" ]]; then
  log "kube-apiserver already running on 127.0.0.1:$APISERVER_PORT"; echo "$kubeconfig"; exit 0
fi

stop_daemon "$dir/kube-apiserver.pid" kube-apiserver
stop_daemon "$dir/etcd.pid" etcd
rm -rf "$dir/etcd-data"
head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$CLUSTER_ID_FILE"
log "starting etcd on 127.0.0.1:$ETCD_CLIENT_PORT"
start_daemon "$dir/etcd.pid" "$dir/etcd.log" "$etcd_bin" \
  --name lunora-test --data-dir "$dir/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "lunora-test=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync --quota-backend-bytes 4294967296 --log-level warn
etcd_up() { pid_alive "$dir/etcd.pid" || return 2; curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"; }
wait_until 30 etcd etcd_up || { tail -5 "$dir/etcd.log" >&2; exit 1; }

log "starting kube-apiserver on 127.0.0.1:$APISERVER_PORT"
start_daemon "$dir/kube-apiserver.pid" "$dir/kube-apiserver.log" "$apiserver_bin" "${apiserver_args[@]}"
echo "$command_line" > "$dir/kube-apiserver.cmdline"
apiserver_up() { pid_alive "$dir/kube-apiserver.pid" || { log "kube-apiserver exited"; return 2; }; ready; }
wait_until 90 kube-apiserver apiserver_up || { grep -E '^[EF][0-9]{4}' "$dir/kube-apiserver.log" | tail -5 >&2; exit 1; }

write_kubeconfig "$kubeconfig" admin
log "kube-apiserver ready; KUBECONFIG=$kubeconfig"
echo "$kubeconfig"
