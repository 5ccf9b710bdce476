#!/usr/bin/env bash
# Builds kube-apiserver $KUBE_VERSION from the Go module proxy into the tools cache.
# k8s.io/kubernetes replaces its staging modules with ./staging paths, which do not
# exist in the proxied module, so a wrapper module pins each to its published v0.X.Y.
source "$(dirname "$0")/lib.sh"
out="$TOOLS_DIR/kube-apiserver-$KUBE_VERSION"
[[ -x "$out" ]] && { echo "$out"; exit 0; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
staging_version="v0.${KUBE_VERSION#v1.}"
log "building kube-apiserver $KUBE_VERSION (staging $staging_version); first time takes several minutes"
curl -fsSL "https://proxy.golang.org/k8s.io/kubernetes/@v/$KUBE_VERSION.mod" -o "$work/kubernetes.mod"
go_version="$(awk '/^go /{print $2; exit}' "$work/kubernetes.mod")"
{
  echo "module lunora.local/kube-apiserver-build"
  echo
  echo "go $go_version"
  echo
  echo "require k8s.io/kubernetes $KUBE_VERSION"
  echo
  echo "replace ("
  awk '/^\tk8s\.io\/[^ ]+ v0\.0\.0$/{print $1}' "$work/kubernetes.mod" | while read -r mod; do
    printf '\t%s => %s %s\n' "$mod" "$mod" "$staging_version"
  done
  echo ")"
} > "$work/go.mod"
cat > "$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
(
  cd "$work"
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
  go mod tidy -e >/dev/null 2>&1 || true
  go get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver
)
mv "$out.tmp" "$out"
echo "$out"
