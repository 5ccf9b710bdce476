#!/usr/bin/env bash
# Builds the Kubernetes components of the test environment (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet) at $KUBE_VERSION from the Go module
# proxy into $TOOLS_DIR/kubernetes-$KUBE_VERSION/ and prints that directory.
# k8s.io/kubernetes replaces its staging modules with ./staging paths, which do not
# exist in the proxied module, so a wrapper module pins each to its published v0.X.Y.
# One `go build` builds all four, so their shared packages compile once and in parallel.
# The directory is built next to its final place and renamed into it: complete or absent.
source "$(dirname "$0")/lib.sh"
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet)
out="$TOOLS_DIR/kubernetes-$KUBE_VERSION"
complete() { local c; for c in "${components[@]}"; do [[ -x "$1/$c" ]] || return 1; done; }
complete "$out" && { echo "$out"; exit 0; }
work="$(mktemp -d)"
tmp="$(mktemp -d "$TOOLS_DIR/.kubernetes-$KUBE_VERSION.tmp.XXXXXX")"
trap 'rm -rf "$work" "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
chmod 755 "$tmp"  # mktemp -d makes it 0700
staging_version="v0.${KUBE_VERSION#v1.}"
minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
log "building ${components[*]} $KUBE_VERSION (staging $staging_version); the first build takes 15-30 minutes on 2 cores"
curl -fsSL "https://proxy.golang.org/k8s.io/kubernetes/@v/$KUBE_VERSION.mod" -o "$work/kubernetes.mod"
go_version="$(awk '/^go /{print $2; exit}' "$work/kubernetes.mod")"
{
  echo "module lunora.local/kube-build"
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
{
  printf '//go:build tools\n\npackage tools\n\nimport (\n'
  for c in "${components[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
  printf ')\n'
} > "$work/tools.go"
# Without the stamp every binary reports v0.0.0-master+$Format:%H$.
stamp="k8s.io/component-base/version"
ldflags="-s -w -X $stamp.gitVersion=$KUBE_VERSION -X $stamp.gitMajor=1 -X $stamp.gitMinor=$minor -X $stamp.gitTreeState=clean"
(
  cd "$work"
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
  go mod tidy -e >/dev/null 2>&1 || true
  go get "k8s.io/kubernetes@$KUBE_VERSION"
  go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${components[@]/#/k8s.io/kubernetes/cmd/}"
)
complete "$tmp" || { log "go build did not produce all of ${components[*]}"; exit 1; }
if ! mv -T "$tmp" "$out" 2>/dev/null; then
  # A concurrent run finished first (then $out is complete) or a partial directory is in the way.
  complete "$out" || { rm -rf "$out"; mv -T "$tmp" "$out"; }
fi
echo "$out"
