#!/usr/bin/env bash
# Builds the operator image from the repository's Dockerfile on the Debian-made Python base
# (hack/python-base-image.sh; nothing can be pulled here) with Debian's engine and its classic
# builder, pushes it to the test registry and prints the pushed reference with its digest.
#   hack/image.sh [--source DIR] [--revision REV] REPOSITORY:TAG
# --source builds another tree's package (e.g. an older commit's `git archive`) with this
# Dockerfile. The dependencies come from a wheelhouse downloaded from PyPI on the host (the
# build containers would not trust this machine's egress CA), cached by the hash of the
# dependency list. Prints the image's size to stderr. DOCKER_HOST picks the engine.
source "$(dirname "$0")/lib.sh"
source_dir="$REPO_ROOT"; revision=""
while (( $# )); do
  case "$1" in
    --source) source_dir="$(cd "$2" && pwd)"; shift 2 ;;
    --revision) revision="$2"; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
(( $# == 1 )) || { echo "usage: $0 [--source DIR] [--revision REV] REPOSITORY:TAG" >&2; exit 2; }
ref="$1"
pip="$REPO_ROOT/.venv/bin/pip"
[[ -x "$pip" ]] || { log "run make setup first (.venv/bin/pip is needed to fetch the wheels)"; exit 1; }
base="$("$HACK_DIR/python-base-image.sh")"

# The dependency list of the tree being built, and the setuptools its build backend pins.
requirements="$("$REPO_ROOT/.venv/bin/python" - "$source_dir/pyproject.toml" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))
print("\n".join([*project["project"]["dependencies"], *project["build-system"]["requires"]]))
PY
)"
wheelhouse="$TOOLS_DIR/wheelhouse-$(printf '%s\n' "$requirements" | sha256sum | cut -c1-16)"
if [[ ! -f "$wheelhouse/.complete" ]]; then
  log "downloading the image's wheels into $wheelhouse"
  mkdir -p "$wheelhouse"
  printf '%s\n' "$requirements" > "$wheelhouse/requirements.txt"
  # Binary wheels only: the image has no compilers. Also pip and wheel are not needed: the
  # base's venv brings pip, and setuptools builds the wheel.
  "$pip" download --quiet --only-binary=:all: --dest "$wheelhouse" --requirement "$wheelhouse/requirements.txt" >&2
  touch "$wheelhouse/.complete"
fi

context="$(mktemp -d)"; trap 'rm -rf "$context"' EXIT
cp "$REPO_ROOT/Dockerfile" "$REPO_ROOT/.dockerignore" "$source_dir/pyproject.toml" "$source_dir/README.md" "$context/"
cp -r "$source_dir/operator" "$context/operator"
mkdir "$context/wheelhouse"
cp -l "$wheelhouse"/*.whl "$context/wheelhouse/" 2>/dev/null || cp "$wheelhouse"/*.whl "$context/wheelhouse/"
version="$("$REPO_ROOT/.venv/bin/python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$source_dir/pyproject.toml")"
if [[ -z "$revision" ]]; then
  revision="$(git -C "$source_dir" rev-parse HEAD 2>/dev/null || echo unknown)"
  [[ -n "$(git -C "$source_dir" status --porcelain -- pyproject.toml README.md operator Dockerfile 2>/dev/null)" ]] \
    && revision="$revision-dirty"
fi
source_url="$(git -C "$REPO_ROOT" config --get remote.origin.url 2>/dev/null || true)"

log "building $ref on $base"
started=$SECONDS
DOCKER_BUILDKIT=0 docker build --quiet --tag "$ref" \
  --build-arg BASE_IMAGE="$base" --build-arg PIP_NO_INDEX=1 \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source_url" \
  "$context" >/dev/null 2>"$context/build.log" || { cat "$context/build.log" >&2; exit 1; }
build_seconds=$((SECONDS - started))

# Its own Docker client config: the machine's ~/.docker stays untouched.
export DOCKER_CONFIG="$TESTENV_DIR/docker-client"
mkdir -p "$DOCKER_CONFIG"
IFS=: read -r registry_user registry_password < "$TESTENV_DIR/registry/credentials"
registry="${ref%%/*}"
printf '%s' "$registry_password" | docker login --username "$registry_user" --password-stdin "$registry" >/dev/null 2>&1 \
  || { log "cannot log in to $registry"; exit 1; }
docker push --quiet "$ref" >/dev/null
digest="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$ref" | grep -m1 "^${ref%:*}@" | cut -d@ -f2)"
size="$(docker image inspect --format '{{.Size}}' "$ref")"
compressed="$("$REPO_ROOT/.venv/bin/python" - "$registry" "${ref%:*}" "$digest" "$registry_user" "$registry_password" <<'PY'
import base64, json, sys, urllib.request
registry, repository, digest, user, password = sys.argv[1:]
name = repository.split("/", 1)[1]
request = urllib.request.Request(
    f"http://{registry}/v2/{name}/manifests/{digest}",
    headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json",
             "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()})
manifest = json.load(urllib.request.urlopen(request))
print(sum(layer["size"] for layer in manifest["layers"]) + manifest["config"]["size"])
PY
)"
log "$ref: $((size / 1000000)) MB in the engine, $((compressed / 1000000)) MB compressed in the registry; built in ${build_seconds}s"
echo "$ref@$digest"
