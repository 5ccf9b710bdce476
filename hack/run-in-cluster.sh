#!/usr/bin/env bash
# `make run-in-cluster`: the `make run` flow with the operator in the test cluster, installed as
# users install it. Builds the image (hack/image.sh) and pushes it and the chart
# (hack/chart-push.sh) to the test registry, installs the chart from there (`helm install
# oci://…`, an image pull Secret) into a namespace enforcing the restricted Pod Security
# Standard, starts `lunora-operator fake-cloudflare` on 127.0.0.1 with a TLS front on the node's
# bridge address (the app's apiBaseUrl must be https:// off the loopback), applies examples/
# and waits until they are Ready, then runs the smoke test (`helm test`). The fake runs in the
# foreground: Ctrl-C stops it; the release and the resources stay
# (`helm uninstall lunora-operator -n $LUNORA_RUN_SYSTEM_NAMESPACE` to remove the operator).
#
#   LUNORA_RUN_NAMESPACE         the examples' namespace (lunora-demo-incluster)
#   LUNORA_RUN_SYSTEM_NAMESPACE  the operator's namespace (lunora-system)
#   LUNORA_FAKE_PORT             the fake Cloudflare's port, on 127.0.0.1 and the bridge (18787)
source "$(dirname "$0")/lib.sh"
source "$TESTENV_DIR/env"
demo="${LUNORA_RUN_NAMESPACE:-lunora-demo-incluster}"
system="${LUNORA_RUN_SYSTEM_NAMESPACE:-lunora-system}"
fake_port="${LUNORA_FAKE_PORT:-18787}"
run_dir="$TESTENV_DIR/run-in-cluster"; mkdir -p "$run_dir"
kubectl() { "$LUNORA_TEST_KUBECTL" --kubeconfig "$LUNORA_TEST_KUBECONFIG" "$@"; }
export HELM_CACHE_HOME="$TESTENV_DIR/helm/cache" HELM_CONFIG_HOME="$TESTENV_DIR/helm/config" HELM_DATA_HOME="$TESTENV_DIR/helm/data"
helm() { "$LUNORA_TEST_HELM" --kubeconfig "$LUNORA_TEST_KUBECONFIG" "$@"; }

tag="dev-$(git -C "$REPO_ROOT" rev-parse --short HEAD)"
[[ -z "$(git -C "$REPO_ROOT" status --porcelain)" ]] || tag="$tag-dirty"
image="$("$HACK_DIR/image.sh" "$LUNORA_TEST_REGISTRY/lunora-operator:$tag")"
read -r chart version < <("$HACK_DIR/chart-push.sh")

for namespace in "$system" "$demo"; do
  kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace" >/dev/null
done
kubectl label namespace "$system" --overwrite pod-security.kubernetes.io/enforce=restricted \
  pod-security.kubernetes.io/enforce-version=latest >/dev/null
kubectl -n "$system" create secret docker-registry registry --docker-server="$LUNORA_TEST_REGISTRY" \
  --docker-username="$LUNORA_TEST_REGISTRY_USER" --docker-password="$LUNORA_TEST_REGISTRY_PASSWORD" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
# The example Dockerfile builds FROM a locally imported base image under a stable name.
docker tag "$LUNORA_TEST_BASE_IMAGE" lunora-test/busybox:example

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
printf '%s' "$LUNORA_TEST_REGISTRY_PASSWORD" > "$run_dir/registry-password"
"$REPO_ROOT/.venv/bin/lunora-operator" fake-cloudflare --port "$fake_port" --registry "$LUNORA_TEST_REGISTRY" \
  --registry-user "$LUNORA_TEST_REGISTRY_USER" --registry-password-file "$run_dir/registry-password" \
  > "$run_dir/fake-cloudflare.log" 2>&1 &
pids+=($!)
socat "OPENSSL-LISTEN:$fake_port,bind=$NODE_IP,reuseaddr,fork,cert=$PKI_DIR/serving.crt,key=$PKI_DIR/serving.key,verify=0" \
  "TCP:127.0.0.1:$fake_port" 2> "$run_dir/fake-tls.log" &
pids+=($!)
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$fake_port/__fake__/state" >/dev/null 2>&1 && break; sleep 0.2; done

cat > "$run_dir/values.yaml" <<VALUES
image:
  repository: $LUNORA_TEST_REGISTRY/lunora-operator
  tag: $tag
imagePullSecrets: [{name: registry}]
# Only its own namespace, with a peering of its own: the test cluster is shared, and an operator
# watching every namespace would reconcile other tests' resources (and pause their operators).
watchNamespaces: [$demo]
peering: {name: lunora-operator-run-in-cluster}
docker: {host: "tcp://$NODE_IP:$DOCKER_TCP_PORT"}
logFormat: plain
# No Service networking in the test cluster: the API server is served on the node's bridge.
extraEnv:
- {name: KUBERNETES_SERVICE_HOST, value: "$NODE_IP"}
- {name: KUBERNETES_SERVICE_PORT, value: "$APISERVER_PORT"}
# The fake Cloudflare's TLS front has a certificate of the cluster's CA.
- {name: SSL_CERT_FILE, value: /etc/lunora-test-ca/ca.crt}
extraVolumes:
- {name: test-ca, configMap: {name: kube-root-ca.crt}}
extraVolumeMounts:
- {name: test-ca, mountPath: /etc/lunora-test-ca, readOnly: true}
VALUES
log "installing $chart $version ($image) into $system"
helm upgrade --install lunora-operator "$chart" --version "$version" --plain-http -n "$system" \
  --values "$run_dir/values.yaml" --take-ownership --force-conflicts --wait --timeout 5m >/dev/null
examples="$(for f in "$REPO_ROOT"/examples/*.yaml; do cat "$f"; echo "---"; done)"
printf '%s\n' "$examples" | sed -e "s#http://127.0.0.1:18787/client/v4#https://$NODE_IP:$fake_port/client/v4#" \
  | kubectl apply -n "$demo" -f - >/dev/null
kubectl wait --for=condition=Ready lunoracontainers,lunoraapps --all -n "$demo" --timeout=5m
helm test lunora-operator -n "$system" --logs | sed -n '/POD LOGS/,$p'
cat >&2 <<WATCH

The operator runs in the cluster (namespace $system); the fake Cloudflare below (Ctrl-C stops it).
  source $TESTENV_DIR/env
  \$LUNORA_TEST_KUBECTL --kubeconfig \$LUNORA_TEST_KUBECONFIG -n $demo get lunora -w
  \$LUNORA_TEST_KUBECTL --kubeconfig \$LUNORA_TEST_KUBECONFIG -n $system logs deploy/lunora-operator -f
  curl -s http://127.0.0.1:$fake_port/__fake__/state
WATCH
wait "${pids[0]}"
