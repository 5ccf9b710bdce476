#!/usr/bin/env bash
# Brings up the whole test environment — Docker engine, registry, busybox base image,
# etcd + kube-apiserver, kube-controller-manager + kube-scheduler, a node (containerd + CNI
# + kubelet), the API server, registry and Docker engine on the node's bridge address for
# Pods (hack/bridge-forward-up.sh), the NetworkPolicy enforcer, pinned kubectl/helm and Node
# tools (wrangler, tsc) — and writes $TESTENV_DIR/env, a file of shell exports the tests read.
# Idempotent: a second run reuses whatever already answers.
source "$(dirname "$0")/lib.sh"
started=$SECONDS
docker_host="$("$HACK_DIR/docker-up.sh")"
export DOCKER_HOST="$docker_host"
base_image="$("$HACK_DIR/base-image.sh")"
"$HACK_DIR/registry-up.sh"
kube_tools="$("$HACK_DIR/fetch-kube-tools.py" "$TOOLS_DIR")"
node_tools="$("$HACK_DIR/node-setup.sh")"
kubeconfig="$("$HACK_DIR/apiserver-up.sh")"
"$HACK_DIR/controllers-up.sh"
"$HACK_DIR/kube-node-up.sh"
"$HACK_DIR/bridge-forward-up.sh"
"$HACK_DIR/network-policies-up.sh"
IFS=: read -r registry_user registry_password < "$TESTENV_DIR/registry/credentials"
umask 077
cat > "$TESTENV_DIR/env" <<ENV
export LUNORA_TEST_KUBECONFIG=$kubeconfig
export LUNORA_TEST_KUBECTL=$kube_tools/kubectl
export LUNORA_TEST_HELM=$kube_tools/helm
export LUNORA_TEST_NODE_TOOLS=$node_tools
export LUNORA_TEST_DOCKER_HOST=$docker_host
export LUNORA_TEST_BASE_IMAGE=$base_image
export LUNORA_TEST_REGISTRY=127.0.0.1:$REGISTRY_PORT
export LUNORA_TEST_REGISTRY_USER=$registry_user
export LUNORA_TEST_REGISTRY_PASSWORD=$registry_password
export LUNORA_TEST_KUBE_NODE_NAME=$NODE_NAME
export LUNORA_TEST_KUBE_NODE_IP=$NODE_IP
export LUNORA_TEST_APISERVER_PORT=$APISERVER_PORT
export LUNORA_TEST_DOCKER_TCP=tcp://$NODE_IP:$DOCKER_TCP_PORT
export LUNORA_TEST_CONTAINERD_SOCKET=$NODE_DIR/containerd.sock
export LUNORA_TEST_LOAD_IMAGE=$HACK_DIR/load-image.sh
ENV
log "test environment ready in $((SECONDS - started))s; settings in $TESTENV_DIR/env"
