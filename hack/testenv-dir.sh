#!/usr/bin/env bash
# Prints the directory of this test environment ($LUNORA_TESTENV_DIR, else
# $LUNORA_CACHE/testenv, else ~/.cache/lunora-operator/testenv); its `env` file holds the
# settings tests read. hack/lib.sh is the one place that rule is written.
source "$(dirname "$0")/lib.sh"
echo "$TESTENV_DIR"
