#!/usr/bin/env bash
# `make dev`: local mode on the test cluster's node. The operator (building examples/local/hello
# from its files and pushing it to the test registry) and the app's router both run on the host;
# instances are Pods on the node, started by requests. Prints the curl lines to call it, then
# waits; Ctrl-C stops the operator and the router (the resources and Pods stay: kubectl delete ns
# to clean up).
#
#   LUNORA_DEV_NAMESPACE  namespace of the example (lunora-dev)
#   LUNORA_DEV_PORT       where the router listens on 127.0.0.1 (18080)
#   LUNORA_DEV_DETACH     1: leave both running in the background and return after printing
source "$(dirname "$0")/lib.sh"
source "$TESTENV_DIR/env"
namespace="${LUNORA_DEV_NAMESPACE:-lunora-dev}"
port="${LUNORA_DEV_PORT:-18080}"
run_dir="$TESTENV_DIR/dev-$namespace"
examples="$REPO_ROOT/examples/local"
mkdir -p "$run_dir"
kubectl() { "$LUNORA_TEST_KUBECTL" --kubeconfig "$LUNORA_TEST_KUBECONFIG" "$@"; }
operator="$REPO_ROOT/.venv/bin/lunora-operator"
app=hello

kubectl apply --server-side --force-conflicts -f "$REPO_ROOT/crds" -f "$REPO_ROOT/crds/kopf" >/dev/null
kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace" >/dev/null
# The example's Dockerfile builds FROM a locally imported base image under a stable name.
docker tag "$LUNORA_TEST_BASE_IMAGE" lunora-test/busybox:example
# The pull Secret: the operator pushes with it, the node pulls with it. Made with shell builtins
# and read by kubectl from stdin, so the password is on no command line and in no output.
auth="$(printf '%s:%s' "$LUNORA_TEST_REGISTRY_USER" "$LUNORA_TEST_REGISTRY_PASSWORD" | base64 -w0)"
config="$(printf '{"auths":{"%s":{"auth":"%s"}}}' "$LUNORA_TEST_REGISTRY" "$auth" | base64 -w0)"
printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: local-registry}\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: %s}\n' \
  "$config" | kubectl -n "$namespace" apply -f - >/dev/null
unset auth config
sed -e "s#registry: 127.0.0.1:15000#registry: $LUNORA_TEST_REGISTRY#" "$examples/app.yaml" \
  | kubectl apply -n "$namespace" -f - >/dev/null

pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
if [[ "${LUNORA_DEV_DETACH:-0}" != 1 ]]; then trap stop EXIT; fi

DOCKER_HOST="$LUNORA_TEST_DOCKER_HOST" "$operator" run --namespace "$namespace" \
  --kubeconfig "$LUNORA_TEST_KUBECONFIG" --log-format plain --external-router --build-root "$examples" \
  > "$run_dir/operator.log" 2>&1 &
pids+=($!)
echo "$!" > "$run_dir/operator.pid"
"$operator" router --namespace "$namespace" --app "$app" --listen "127.0.0.1:$port" \
  --kubeconfig "$LUNORA_TEST_KUBECONFIG" --access-log > "$run_dir/router.log" 2>&1 &
pids+=($!)
echo "$!" > "$run_dir/router.pid"

log "waiting for LunoraContainer $app to be built, pushed and Ready (operator log: $run_dir/operator.log)"
if ! kubectl -n "$namespace" wait --for=condition=Ready "lunoracontainer/$app" --timeout=300s >/dev/null; then
  kubectl -n "$namespace" get lunoracontainer "$app" -o jsonpath='{.status.conditions}' >&2; echo >&2
  tail -20 "$run_dir/operator.log" >&2
  exit 1
fi
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/_api/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "http://127.0.0.1:$port/_api/healthz" >/dev/null || { tail -20 "$run_dir/router.log" >&2; exit 1; }

router="http://127.0.0.1:$port"
cat <<CALLS

Local mode runs: LunoraApp $app in namespace $namespace, its router on $router.
Call it (the first request for an id starts its Pod and is held until ports 8080 and 8081
listen and /ready answers 200, about 5 s):
  curl -s $router/$app/alice/cgi-bin/hello
  curl -s $router/$app/alice/cgi-bin/hello          # the same instance again
  curl -s $router/$app/bob/cgi-bin/hello            # another id, another Pod
  curl -s -H 'cf-container-target-port: 8081' $router/$app/alice/   # its second port
  curl -s $router/$app/any/cgi-bin/hello            # one of the pool
  curl -s $router/_api/instances                    # every instance and its state
  curl -s -X POST $router/_api/containers/$app/instances/alice/stop   # SIGTERM; …/state then says it stopped
Watch it:
  source $TESTENV_DIR/env
  \$LUNORA_TEST_KUBECTL --kubeconfig \$LUNORA_TEST_KUBECONFIG -n $namespace get pods -l lunora.sh/app=$app -w
  \$LUNORA_TEST_KUBECTL --kubeconfig \$LUNORA_TEST_KUBECONFIG -n $namespace get lunoracontainer $app -o jsonpath='{.status.instances}'
Logs: $run_dir/operator.log, $run_dir/router.log
CALLS
if [[ "${LUNORA_DEV_DETACH:-0}" == 1 ]]; then
  echo "Detached: kill \$(cat $run_dir/operator.pid) \$(cat $run_dir/router.pid) stops them."
  exit 0
fi
echo "Ctrl-C stops the operator and the router."
wait -n "${pids[@]}"
