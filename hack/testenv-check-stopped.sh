#!/usr/bin/env bash
# Fails when a process of the test environment survived testenv-down.
source "$(dirname "$0")/lib.sh"
left="$(pgrep -a -f "$TOOLS_DIR/|docker-registry serve $TESTENV_DIR|$TESTENV_DIR/docker/exec" || true)"
if [[ -n "$left" ]]; then log "processes left behind:"; echo "$left" >&2; exit 1; fi
log "no test-environment process left"
