#!/usr/bin/env bash
# Fails when a process of the test environment survived testenv-down, or when its node
# left something on the machine: mounts or state under its directory, and, unless another
# environment's node owns them now, the bridge, kubepods cgroups, CNI iptables chains,
# /var/log/containers links, changed kernel settings or the NetworkPolicy enforcer's nftables table.
source "$(dirname "$0")/lib.sh"
problems=()
# Every process the environment starts names a file under its directory in its command line.
left="$(pgrep -a -f "$TESTENV_DIR/" || true)"
[[ -n "$left" ]] && problems+=("processes left behind:"$'\n'"$left")
mounts="$(awk -v dir="$NODE_DIR" '$5 == dir || index($5, dir "/") == 1 {print $5}' /proc/self/mountinfo)"
[[ -n "$mounts" ]] && problems+=("mounts left under $NODE_DIR:"$'\n'"$mounts")
for state in containerd-root containerd-state kubelet cni; do
  [[ -e "$NODE_DIR/$state" ]] && problems+=("node state left: $NODE_DIR/$state")
done
owner="$(cat "$NODE_OWNER_FILE" 2>/dev/null || true)"
if [[ -z "$owner" || "$owner" == "$TESTENV_DIR" ]]; then
  [[ -n "$owner" ]] && problems+=("$NODE_OWNER_FILE still names this environment")
  [[ -f "$NODE_SAVED_SYSCTLS" ]] && problems+=("kernel settings changed by the kubelet not restored ($NODE_SAVED_SYSCTLS)")
  ip link show "$NODE_BRIDGE" >/dev/null 2>&1 && problems+=("bridge $NODE_BRIDGE left")
  cgroups="$(ls -d /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods 2>/dev/null || true)"
  [[ -n "$cgroups" ]] && problems+=("kubepods cgroups left:"$'\n'"$cgroups")
  chains="$( (iptables -t nat -S; iptables -t filter -S) 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-/ {print $2}')"
  [[ -n "$chains" ]] && problems+=("CNI iptables chains left: $chains")
  nft list table inet "$NETWORK_POLICIES_TABLE" >/dev/null 2>&1 \
    && problems+=("nftables table inet $NETWORK_POLICIES_TABLE of the NetworkPolicy enforcer left")
  links="$(find /var/log/containers -maxdepth 1 -type l -lname "$NODE_DIR/*" 2>/dev/null || true)"
  [[ -n "$links" ]] && problems+=("/var/log/containers links into $NODE_DIR left")
fi
if (( ${#problems[@]} )); then
  for problem in "${problems[@]}"; do log "$problem"; done
  exit 1
fi
log "no test-environment process or node leftover"
