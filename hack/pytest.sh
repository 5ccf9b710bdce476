#!/usr/bin/env bash
# Runs pytest from .venv. Exit code 5 (no tests collected) counts as a failure.
cd "$(dirname "$0")/.." || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if (( rc == 5 )); then echo "pytest collected no tests: failing" >&2; exit 1; fi
exit $rc
