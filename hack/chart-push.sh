#!/usr/bin/env bash
# Packages the chart (`helm package`) and pushes it to the test registry as an OCI artifact
# (`helm push … oci://<registry>/charts --plain-http`, logged in with the registry's
# credentials). Prints the chart's reference and version, separated by a space.
#   hack/chart-push.sh [--chart DIR] [--version VERSION]
# --chart pushes another tree's chart (an older commit's), --version overrides its version.
# Helm's state lives under $TESTENV_DIR/helm, never in the user's own Helm directories.
source "$(dirname "$0")/lib.sh"
chart="$REPO_ROOT/charts/lunora-operator"; version=""
while (( $# )); do
  case "$1" in
    --chart) chart="$(cd "$2" && pwd)"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    *) echo "usage: $0 [--chart DIR] [--version VERSION]" >&2; exit 2 ;;
  esac
done
helm="$("$HACK_DIR/fetch-kube-tools.py" "$TOOLS_DIR")/helm"
export HELM_CACHE_HOME="$TESTENV_DIR/helm/cache" HELM_CONFIG_HOME="$TESTENV_DIR/helm/config" HELM_DATA_HOME="$TESTENV_DIR/helm/data"
registry="127.0.0.1:$REGISTRY_PORT"
IFS=: read -r registry_user registry_password < "$TESTENV_DIR/registry/credentials"
printf '%s' "$registry_password" | "$helm" registry login "$registry" --plain-http \
  --username "$registry_user" --password-stdin >/dev/null 2>&1 || { log "cannot log in to $registry"; exit 1; }
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
"$helm" package "$chart" --destination "$out" ${version:+--version "$version"} >/dev/null
package="$(ls "$out"/*.tgz)"
"$helm" push "$package" "oci://$registry/charts" --plain-http >"$out/push.log" 2>&1 || { cat "$out/push.log" >&2; exit 1; }
name="$(basename "$package" .tgz)"
chart_name="$("$helm" show chart "$package" | sed -n 's/^name: //p')"
chart_version="${name#"$chart_name"-}"
log "pushed oci://$registry/charts/$chart_name:$chart_version"
echo "oci://$registry/charts/$chart_name $chart_version"
