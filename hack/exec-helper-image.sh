#!/usr/bin/env bash
# Builds the exec helper's image (exec-helper/: one static Go binary on `scratch`, nothing to
# pull), pushes it and prints the pushed reference with its digest, for
# `lunora-operator router --exec-helper-image`.
#   hack/exec-helper-image.sh REPOSITORY            # tagged by the helper source's hash
#   hack/exec-helper-image.sh REPOSITORY:TAG
# Pushing to the test registry logs in with its credentials (own Docker client config, the
# machine's ~/.docker stays untouched); any other registry uses your own `docker login`.
# DOCKER_HOST picks the engine. Needs Go (the version in exec-helper/go.mod or newer).
source "$(dirname "$0")/lib.sh"
(( $# == 1 )) || { echo "usage: $0 REPOSITORY[:TAG]" >&2; exit 2; }
source_dir="$REPO_ROOT/exec-helper"
ref="$1"
if [[ "${ref##*/}" != *:* ]]; then
  tag="$(cat "$source_dir/main.go" "$source_dir/go.mod" "$source_dir/Dockerfile" | sha256sum | cut -c1-12)"
  ref="$ref:$tag"
fi

context="$(mktemp -d)"; trap 'rm -rf "$context"' EXIT
cp "$source_dir/Dockerfile" "$context/"
(cd "$source_dir" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOFLAGS=-mod=mod GOTOOLCHAIN=local \
  go build -trimpath -ldflags="-s -w" -o "$context/lunora-exec" .)
DOCKER_BUILDKIT=0 docker build --quiet --tag "$ref" "$context" >/dev/null

registry="${ref%%/*}"
if [[ -f "$TESTENV_DIR/registry/credentials" && "$registry" == "127.0.0.1:$REGISTRY_PORT" ]]; then
  export DOCKER_CONFIG="$TESTENV_DIR/docker-client"
  mkdir -p "$DOCKER_CONFIG"
  IFS=: read -r registry_user registry_password < "$TESTENV_DIR/registry/credentials"
  printf '%s' "$registry_password" | docker login --username "$registry_user" --password-stdin "$registry" >/dev/null 2>&1 \
    || { log "cannot log in to $registry"; exit 1; }
fi
docker push --quiet "$ref" >/dev/null
digest="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" | grep -m1 "^${ref%:*}@" | cut -d@ -f2)"
log "$ref: $(docker image inspect --format '{{.Size}}' "$ref") bytes"
echo "$ref@$digest"
