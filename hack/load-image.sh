#!/usr/bin/env bash
# Loads images from the local Docker engine into the test node's containerd (namespace
# k8s.io), as `kind load docker-image` does: Pods then run them without a registry (a
# tagged image's default imagePullPolicy, IfNotPresent, finds it; `name:tag` is stored as
# `docker.io/name:tag`, which is what the kubelet asks for).
#   hack/load-image.sh IMAGE...
# DOCKER_HOST picks the engine; CONTAINERD_ADDRESS the node's socket (default: this
# environment's, $TESTENV_DIR/kube-node/containerd.sock; LUNORA_TEST_CONTAINERD_SOCKET in the env file).
source "$(dirname "$0")/lib.sh"
(( $# )) || { echo "usage: $0 IMAGE..." >&2; exit 2; }
address="${CONTAINERD_ADDRESS:-$NODE_DIR/containerd.sock}"
[[ -S "$address" ]] || { log "no containerd socket at $address: start the node with make testenv-up"; exit 1; }
docker save "$@" | ctr --address "$address" --namespace k8s.io images import - >&2
log "loaded into the node: $*"
