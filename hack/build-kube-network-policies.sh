#!/usr/bin/env bash
# Builds the NetworkPolicy enforcer sigs.k8s.io/kube-network-policies
# $KUBE_NETWORK_POLICIES_VERSION (its standard command) from the Go module proxy, with
# hack/kube-network-policies/*.patch applied, and caches it in $TOOLS_DIR keyed by the
# version and the patches. Prints the binary's path.
#
# The patches, applied in name order:
# - nfqueue-xt-target: this machine's kernel has no nft_queue (CONFIG_NFT_QUEUE unset), so
#   nftables' queue expression is refused; queue through the x_tables NFQUEUE target
#   (nft_compat) instead, the same queue and bypass flag.
# - sync-keeps-base-chains: each sync (on every change of a selected Pod or of a policy)
#   deleted and re-created the table, which unregisters its base chains' netfilter hooks, and
#   the kernel drops every packet then waiting in an nfqueue for a verdict: the first packet
#   of a new connection of any selected Pod. Keep the table, its chains and sets, and swap
#   their rules and elements in the same single transaction instead (docs/egress.md).
# - with-no-ct-glue-accept-replies: the enforcer records an accepted connection as a conntrack
#   label set with its queue verdict, which a kernel without CONFIG_NETFILTER_NETLINK_GLUE_CT
#   (this machine's) ignores, so every reply was judged as new: a selected Pod's answer to a
#   connection made to it counted as its egress and was dropped. Accept reply-direction packets
#   before the queue, as a stateful NetworkPolicy implementation does (docs/egress.md).
source "$(dirname "$0")/lib.sh"
patches=("$HACK_DIR"/kube-network-policies/*.patch)
key="$(cat "${patches[@]}" | sha256sum)"
out="$TOOLS_DIR/kube-network-policies-$KUBE_NETWORK_POLICIES_VERSION-${key:0:12}"
[[ -x "$out" ]] && { echo "$out"; exit 0; }
command -v patch >/dev/null || apt_install "$TOOLS_DIR/apt-patch.log" patch
work="$(mktemp -d)"; trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
log "building kube-network-policies $KUBE_NETWORK_POLICIES_VERSION"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
module="sigs.k8s.io/kube-network-policies@$KUBE_NETWORK_POLICIES_VERSION"
source_dir="$(cd "$work" && go mod download -json "$module" | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
cp -r "$source_dir" "$work/src"
chmod -R u+w "$work/src"
for patch in "${patches[@]}"; do patch -s -p1 -d "$work/src" < "$patch"; done
(
  cd "$work/src"
  go build -trimpath -ldflags "-s -w" -o "$out.tmp" ./cmd/kube-network-policies/standard
)
mv "$out.tmp" "$out"
echo "$out"
