#!/usr/bin/env bash
# Starts etcd and kube-apiserver on 127.0.0.1 with RBAC, service-account token signing
# and an admin kubeconfig at $TESTENV_DIR/apiserver/admin.kubeconfig. Idempotent.
source "$(dirname "$0")/lib.sh"
dir="$TESTENV_DIR/apiserver"; mkdir -p "$dir"
kubeconfig="$dir/admin.kubeconfig"
ready() { curl -fsS --max-time 2 --cacert "$dir/ca.crt" --cert "$dir/admin.crt" --key "$dir/admin.key" \
  "https://127.0.0.1:$APISERVER_PORT/readyz" ; }
if pid_alive "$dir/kube-apiserver.pid" && ready >/dev/null 2>&1; then
  log "kube-apiserver already running on 127.0.0.1:$APISERVER_PORT"; echo "$kubeconfig"; exit 0
fi
apiserver_bin="$("$HACK_DIR/build-kube-apiserver.sh")"
etcd_bin="$("$HACK_DIR/build-etcd.sh")"

# Certificates: generated once per environment directory and reused.
if [[ ! -f "$dir/admin.crt" ]]; then
  log "generating certificates in $dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=lunora-test-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout serving.key -out serving.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' > serving.ext
    openssl x509 -req -in serving.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile serving.ext -out serving.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=lunora-test-admin" \
      -keyout admin.key -out admin.csr 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out admin.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr serving.ext
  )
fi

stop_daemon "$dir/kube-apiserver.pid" kube-apiserver
stop_daemon "$dir/etcd.pid" etcd
rm -rf "$dir/etcd-data"
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
# No controller-manager runs here, so nothing creates the per-namespace `default`
# ServiceAccount; the ServiceAccount admission plugin would reject every Pod for it.
start_daemon "$dir/kube-apiserver.pid" "$dir/kube-apiserver.log" "$apiserver_bin" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
  --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --tls-cert-file "$dir/serving.crt" --tls-private-key-file "$dir/serving.key" \
  --client-ca-file "$dir/ca.crt" \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$dir/sa.pub" --service-account-signing-key-file "$dir/sa.key" \
  --service-cluster-ip-range 10.96.0.0/24 --endpoint-reconciler-type none \
  --authorization-mode RBAC --allow-privileged=true \
  --disable-admission-plugins ServiceAccount \
  --profiling=false --v 1
apiserver_up() { pid_alive "$dir/kube-apiserver.pid" || { log "kube-apiserver exited"; return 2; }; ready; }
wait_until 90 kube-apiserver apiserver_up || { grep -E '^[EF][0-9]{4}' "$dir/kube-apiserver.log" | tail -5 >&2; exit 1; }

cat > "$kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: lunora-test
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $dir/ca.crt
users:
- name: lunora-test-admin
  user:
    client-certificate: $dir/admin.crt
    client-key: $dir/admin.key
contexts:
- name: lunora-test
  context: {cluster: lunora-test, user: lunora-test-admin}
current-context: lunora-test
KUBECONFIG
log "kube-apiserver ready; KUBECONFIG=$kubeconfig"
echo "$kubeconfig"
