"""Local mode's watches join the registry only when the operator runs local mode, and once."""

from __future__ import annotations

import kopf

from lunora_operator.handlers import local


def test_registered_once_with_label_filters() -> None:
    registry = kopf.OperatorRegistry()
    local.register(registry)
    local.register(registry)

    indexers = registry._indexing.get_all_handlers()
    watchers = registry._watching.get_all_handlers()
    assert [h.id for h in indexers] == ["instance_pod_index"]
    assert sorted(h.id for h in watchers) == ["instance_pod_event", "router_event"]
    assert all(h.labels == {"lunora.sh/role": "instance"} for h in indexers)
