"""The NetworkPolicy enforcer of the test environment (kube-network-policies, as
hack/build-kube-network-policies.sh patches it) re-syncs its nftables table without deleting its
base chains. Deleting a base chain unregisters its netfilter hook, and the kernel then drops every
packet waiting in the enforcer's queue for a verdict: the first packet of a selected Pod's new
connection, which the Pod sees as a connection that times out (see docs/egress.md)."""

from __future__ import annotations

from tests.e2e.egress.conftest import Instances, Rules, enforcer_table


def test_a_resync_replaces_the_rules_and_keeps_the_table_chains_and_sets(instances: Instances) -> None:
    before = enforcer_table()
    instances.apply_policy()
    # start() returns once the enforcer diverts the new Pod: it has re-synced its table since.
    instances.start("web", Rules(enable_internet=False))
    after = enforcer_table()

    assert after.containers == before.containers  # the table's handle is new when it is re-created
    assert after.rules.isdisjoint(before.rules), "the enforcer did not rewrite its rules"
