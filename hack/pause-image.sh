#!/usr/bin/env bash
# Builds the node's pause (Pod sandbox) image from hack/pause/main.go, since nothing can be
# pulled: a static binary in an otherwise empty image, lunora-test/pause:<source hash>, in
# the local Docker engine. Prints the image reference. Idempotent.
source "$(dirname "$0")/lib.sh"
src="$HACK_DIR/pause/main.go"
sha="$(sha256sum "$src")"
image="lunora-test/pause:${sha:0:12}"
if docker image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
log "building $image"
mkdir "$work/rootfs"
cp "$src" "$work/main.go"
(
  cd "$work"
  export GOFLAGS= GOTOOLCHAIN=local CGO_ENABLED=0
  go mod init lunora.local/pause >/dev/null 2>&1
  go build -trimpath -ldflags "-s -w" -o rootfs/pause .
)
tar -C "$work/rootfs" -c . | docker import -c 'ENTRYPOINT ["/pause"]' - "$image" >/dev/null
echo "$image"
