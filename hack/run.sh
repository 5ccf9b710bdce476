#!/usr/bin/env bash
# `make run`: the operator against the test cluster, in the foreground, with the examples applied.
#
# Cloudflare is the built-in fake (`lunora-operator fake-cloudflare`, handing out the test
# registry's credentials) unless CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID are set; then
# the examples' app is pointed at that account (images go to registry.cloudflare.com).
# Ctrl-C stops the operator and the fake; the resources stay (kubectl delete ns to clean up).
#
#   LUNORA_RUN_NAMESPACE  namespace the examples go to and the operator watches (lunora-demo)
#   LUNORA_FAKE_PORT      port of the fake Cloudflare API (18787)
source "$(dirname "$0")/lib.sh"
source "$TESTENV_DIR/env"
namespace="${LUNORA_RUN_NAMESPACE:-lunora-demo}"
fake_port="${LUNORA_FAKE_PORT:-18787}"
run_dir="$TESTENV_DIR/run-$namespace"
mkdir -p "$run_dir"
kubectl() { "$LUNORA_TEST_KUBECTL" --kubeconfig "$LUNORA_TEST_KUBECONFIG" "$@"; }
operator="$REPO_ROOT/.venv/bin/lunora-operator"

kubectl apply --server-side --force-conflicts -f "$REPO_ROOT/crds" -f "$REPO_ROOT/crds/kopf" >/dev/null
kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace" >/dev/null
# The example Dockerfile builds FROM a locally imported base image under a stable name.
docker tag "$LUNORA_TEST_BASE_IMAGE" lunora-test/busybox:example

fake_pid=""
cleanup() {
  [[ -n "$fake_pid" ]] && kill "$fake_pid" 2>/dev/null || true
}
trap cleanup EXIT

examples="$(for f in "$REPO_ROOT"/examples/*.yaml; do cat "$f"; echo "---"; done)"
if [[ -n "${CLOUDFLARE_API_TOKEN:-}" && -n "${CLOUDFLARE_ACCOUNT_ID:-}" ]]; then
  log "using Cloudflare account $CLOUDFLARE_ACCOUNT_ID"
  examples="$(printf '%s\n' "$examples" \
    | sed -e "s#accountId: 0123456789abcdef0123456789abcdef#accountId: $CLOUDFLARE_ACCOUNT_ID#" \
          -e '/apiBaseUrl: /d' -e '/registry: 127.0.0.1/d')"
else
  printf '%s' "$LUNORA_TEST_REGISTRY_PASSWORD" > "$run_dir/registry-password"
  "$operator" fake-cloudflare --port "$fake_port" --registry "$LUNORA_TEST_REGISTRY" \
    --registry-user "$LUNORA_TEST_REGISTRY_USER" --registry-password-file "$run_dir/registry-password" \
    > "$run_dir/fake-cloudflare.log" 2>&1 &
  fake_pid=$!
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$fake_port/__fake__/state" >/dev/null 2>&1 && break; sleep 0.2; done
  examples="$(printf '%s\n' "$examples" \
    | sed -e "s#http://127.0.0.1:18787/client/v4#http://127.0.0.1:$fake_port/client/v4#" \
          -e "s#registry: 127.0.0.1:15000#registry: $LUNORA_TEST_REGISTRY#")"
fi
printf '%s\n' "$examples" | kubectl apply -n "$namespace" -f - >/dev/null
if [[ -z "$fake_pid" ]]; then  # the real token replaces the example's placeholder
  kubectl -n "$namespace" create secret generic cloudflare-api-token \
    --from-literal=token="$CLOUDFLARE_API_TOKEN" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
fi

cat >&2 <<WATCH

The operator runs below (Ctrl-C stops it). In another terminal:
  source $TESTENV_DIR/env
  \$LUNORA_TEST_KUBECTL --kubeconfig \$LUNORA_TEST_KUBECONFIG -n $namespace get lunora -w
  \$LUNORA_TEST_KUBECTL --kubeconfig \$LUNORA_TEST_KUBECONFIG -n $namespace get configmap demo-wrangler -o yaml
WATCH
[[ -n "$fake_pid" ]] && echo "  curl -s http://127.0.0.1:$fake_port/__fake__/state   # the fake Cloudflare's applications, Worker, secrets" >&2
echo >&2
DOCKER_HOST="$LUNORA_TEST_DOCKER_HOST" "$operator" run --namespace "$namespace" \
  --kubeconfig "$LUNORA_TEST_KUBECONFIG" --log-format plain
