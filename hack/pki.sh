#!/usr/bin/env bash
# Issues the test environment's certificates into $PKI_DIR: a CA, the API server's serving
# certificate, one client certificate per component (admin, the API server's kubelet client,
# controller-manager, scheduler, the node), the kubelet's serving certificate (its SANs hold
# the node's address, which the API server dials for logs and exec) and the service-account
# signing key. Idempotent: existing files are kept and only missing ones issued; a new CA
# re-issues everything.
source "$(dirname "$0")/lib.sh"
mkdir -p "$PKI_DIR"
cd "$PKI_DIR"
if [[ ! -f ca.crt || ! -f ca.key ]]; then
  log "creating the test CA in $PKI_DIR"
  rm -f ./*.crt ./*.key ./*.pub ./*.srl
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=lunora-test-ca" \
    -keyout ca.key -out ca.crt 2>/dev/null
fi
# issue <name> <subject> [<subjectAltName>]
issue() {
  local name="$1" subject="$2" san="${3:-}"
  [[ -f "$name.crt" && -f "$name.key" ]] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "$subject" -keyout "$name.key" -out "$name.csr" 2>/dev/null
  local extensions=()
  if [[ -n "$san" ]]; then
    printf 'subjectAltName=%s\n' "$san" > "$name.ext"
    extensions=(-extfile "$name.ext")
  fi
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    "${extensions[@]}" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
# The node's bridge address too: Pods reach the API server there (hack/bridge-forward-up.sh),
# there being no Service networking. A certificate issued before lacks it and is issued again;
# kube-apiserver reloads its serving certificate from the files while it runs.
if [[ -f serving.crt ]] && ! openssl x509 -in serving.crt -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$NODE_IP\b"; then
  log "issuing the API server's serving certificate again, with $NODE_IP"
  issue serving.next "/CN=kube-apiserver" "IP:127.0.0.1,IP:$NODE_IP,DNS:localhost,DNS:kubernetes.default.svc"
  mv serving.next.key serving.key && mv serving.next.crt serving.crt
fi
issue serving "/CN=kube-apiserver" "IP:127.0.0.1,IP:$NODE_IP,DNS:localhost,DNS:kubernetes.default.svc"
issue admin "/O=system:masters/CN=lunora-test-admin"
issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
issue controller-manager "/CN=system:kube-controller-manager"
issue scheduler "/CN=system:kube-scheduler"
issue kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
issue network-policies "/CN=lunora-test-network-policies"
issue kubelet-serving "/CN=$NODE_NAME" "IP:$NODE_IP,DNS:$NODE_NAME"
if [[ ! -f sa.key || ! -f sa.pub ]]; then
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
fi
