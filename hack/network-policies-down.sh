#!/usr/bin/env bash
# Stops the NetworkPolicy enforcer and removes what it adds to the machine: its nftables table
# $NETWORK_POLICIES_TABLE, with every chain, set and rule in it (on SIGTERM it removes the
# table itself; this also covers an enforcer that was killed). The conntrack label it puts on
# connections it saw vanishes with them. Idempotent.
source "$(dirname "$0")/lib.sh"
stop_daemon "$NETWORK_POLICIES_DIR/enforcer.pid" kube-network-policies
# The table belongs to the machine's one node: leave it to the environment that owns the node.
owner="$(cat "$NODE_OWNER_FILE" 2>/dev/null || true)"
if [[ -z "$owner" || "$owner" == "$TESTENV_DIR" ]] && nft list table inet "$NETWORK_POLICIES_TABLE" >/dev/null 2>&1; then
  nft delete table inet "$NETWORK_POLICIES_TABLE"
fi
