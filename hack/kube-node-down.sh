#!/usr/bin/env bash
# Stops this environment's test node and removes what it leaves behind: the kubelet, Pod
# containers and their shims, containerd, every mount under $NODE_DIR (the kubelet's root
# bind mount, Pod volumes, container root filesystems, network namespaces) and the node's
# runtime state. When this environment owns the node ($NODE_OWNER_FILE), also the
# machine-wide parts: processes left in the kubepods cgroups and the cgroups themselves,
# the bridge, CNI iptables chains and result cache, /var/log/containers links, and the
# kernel settings the kubelet changed. Logs stay. Idempotent; kube-node-up.sh runs it first.
source "$(dirname "$0")/lib.sh"
sock="$NODE_DIR/containerd.sock"
owner="$(cat "$NODE_OWNER_FILE" 2>/dev/null || true)"
owned=false
[[ -z "$owner" || "$owner" == "$TESTENV_DIR" ]] && owned=true

stop_daemon "$NODE_DIR/kubelet.pid" kubelet
# Pod containers are deleted through containerd while it runs, so their shims exit cleanly.
if pid_alive "$NODE_DIR/containerd.pid"; then
  tasks="$(ctr --address "$sock" --namespace k8s.io --timeout 10s tasks ls -q 2>/dev/null || true)"
  for task in $tasks; do
    ctr --address "$sock" --namespace k8s.io --timeout 20s tasks delete --force "$task" >/dev/null 2>&1 || true
  done
fi
stop_daemon "$NODE_DIR/containerd.pid" containerd

if $owned; then
  # Whatever survived (containerd was already gone): kill it by cgroup (v2, or each v1 hierarchy).
  for _ in $(seq 1 20); do
    pids="$(find /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true)"
    [[ -z "$pids" ]] && break
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
fi
# Shims whose containerd is gone (only this node's: they name its socket).
pkill -KILL -f -- "-address $sock( |$)" 2>/dev/null || true

mounts_under() { awk -v dir="$1" '$5 == dir || index($5, dir "/") == 1 {print $5}' /proc/self/mountinfo | sort -ru; }
for _ in 1 2 3 4 5; do
  mounts="$(mounts_under "$NODE_DIR")"
  [[ -z "$mounts" ]] && break
  while read -r mount_point; do umount "$mount_point" 2>/dev/null || umount -l "$mount_point" 2>/dev/null || true; done <<< "$mounts"
done
if [[ -n "$(mounts_under "$NODE_DIR")" ]]; then
  log "mounts under $NODE_DIR survived unmounting; state left in place:"; mounts_under "$NODE_DIR" >&2; exit 1
fi

if $owned; then
  for cgroup in /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods; do
    if [[ -d "$cgroup" ]]; then find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  done
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  # Chains of the CNI plugins (firewall, portmap): jumps to them first, then the chains.
  # All CNI-* chains go: the node is the machine's only CNI user (Docker does not use CNI).
  for table in nat filter; do
    chains="$(iptables -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^CNI-/ {print $2}')"
    [[ -z "$chains" ]] && continue
    iptables -t "$table" -S | awk '$1 == "-A" && / -j CNI-/' | while read -r rule; do
      eval "iptables -t $table ${rule/-A/-D}" 2>/dev/null || true
    done
    for chain in $chains; do iptables -t "$table" -F "$chain" 2>/dev/null || true; done
    for chain in $chains; do iptables -t "$table" -X "$chain" 2>/dev/null || true; done
  done
  rm -f /var/lib/cni/results/lunora-node-* /var/lib/cni/results/cni-loopback-*
  find /var/log/containers -maxdepth 1 -type l -lname "$NODE_DIR/*" -delete 2>/dev/null || true
  # The kubelet sets vm.overcommit_memory, kernel.panic and kernel.panic_on_oops machine-wide.
  if [[ -f "$NODE_SAVED_SYSCTLS" ]]; then
    sysctl -q -p "$NODE_SAVED_SYSCTLS" >/dev/null && rm -f "$NODE_SAVED_SYSCTLS"
  fi
  rm -f "$NODE_OWNER_FILE"
fi
rm -rf --one-file-system "$NODE_DIR/containerd-root" "$NODE_DIR/containerd-state" "$NODE_DIR/kubelet" \
  "$NODE_DIR/pod-logs" "$NODE_DIR/cni" "$sock" "$sock.ttrpc"
