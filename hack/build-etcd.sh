#!/usr/bin/env bash
# Builds etcd $ETCD_VERSION (the version k8s.io/kubernetes $KUBE_VERSION requires) from the
# Go module proxy; Debian's etcd-server 3.4 is older than the apiserver supports.
source "$(dirname "$0")/lib.sh"
out="$TOOLS_DIR/etcd-$ETCD_VERSION"
[[ -x "$out" ]] && { echo "$out"; exit 0; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
log "building etcd $ETCD_VERSION"
(
  cd "$work"
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
  go mod init lunora.local/etcd-build >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$out.tmp" go.etcd.io/etcd/server/v3
)
mv "$out.tmp" "$out"
echo "$out"
