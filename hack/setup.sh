#!/usr/bin/env bash
# Creates .venv with the package (editable) and its pinned dev dependencies. Idempotent:
# reinstalls only when pyproject.toml changed since the last run.
source "$(dirname "$0")/lib.sh"
venv="$REPO_ROOT/.venv"
stamp="$venv/.pyproject.sha256"
want="$(sha256sum "$REPO_ROOT/pyproject.toml" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then exit 0; fi
log "creating $venv"
python3.11 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip==25.3
"$venv/bin/pip" install --quiet -e "$REPO_ROOT[dev]"
echo "$want" > "$stamp"
