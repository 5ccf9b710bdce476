#!/usr/bin/env bash
# Stops the forwarders hack/bridge-forward-up.sh started.
source "$(dirname "$0")/lib.sh"
for name in apiserver apiserver-443 registry docker; do
  stop_daemon "$TESTENV_DIR/bridge-forward/$name.pid" "$name forwarder"
done
