"""Instance Pods as `status.instances` counts them, and which Pod events wake a container's pass."""

from __future__ import annotations

from typing import Any

from lunora_operator.reconcile.local_instances import InstanceChanges, InstancePod, instances_status


def pod_body(
    *, phase: str = "Running", running: bool = True, deleting: bool = False, exit_code: int | None = None
) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if exit_code is not None:
        state = {"terminated": {"exitCode": exit_code}}
    elif running:
        state = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
    else:
        state = {"waiting": {"reason": "ContainerCreating"}}
    metadata: dict[str, Any] = {
        "name": "web-0123456789abcdef-r1",
        "labels": {
            "lunora.sh/instance": "0123456789abcdef",
            "lunora.sh/container": "web",
            "lunora.sh/run": "1",
        },
        "annotations": {"lunora.sh/instance-id": "a"},
        "ownerReferences": [{"kind": "LunoraContainer", "name": "web", "uid": "uid-web"}],
    }
    if deleting:
        metadata["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    return {"metadata": metadata, "status": {"phase": phase, "containerStatuses": [{"state": state}]}}


def state(**kwargs: Any) -> str:
    pod = InstancePod.from_body(pod_body(**kwargs))
    assert pod is not None
    assert pod.container_uid == "uid-web"
    return pod.state


def test_states_of_a_pod() -> None:
    assert state() == "running"
    assert state(phase="Pending", running=False) == "starting"
    assert state(deleting=True) == "stopping"
    assert state(phase="Failed", exit_code=1) == "stopped"
    assert state(phase="Succeeded", exit_code=0, deleting=True) == "stopped"


def test_a_pod_without_an_owning_container_or_instance_labels_is_not_an_instance() -> None:
    orphan = pod_body()
    orphan["metadata"]["ownerReferences"] = []
    assert InstancePod.from_body(orphan) is None
    unlabelled = pod_body()
    del unlabelled["metadata"]["annotations"]
    assert InstancePod.from_body(unlabelled) is None


def test_counts_with_the_selector_and_the_default_maximum() -> None:
    pods = [InstancePod(f"p{i}", "u", s) for i, s in enumerate(["running", "running", "stopped"])]  # type: ignore[arg-type]
    status = instances_status(pods, None, "demo", "web")
    assert (status.max, status.running, status.starting, status.stopping, status.stopped) == (20, 2, 0, 0, 1)
    assert status.selector == "lunora.sh/app=demo,lunora.sh/container=web,lunora.sh/role=instance"


def test_only_events_that_change_a_count_wake_the_pass() -> None:
    changes = InstanceChanges()
    starting = InstancePod("p", "u", "starting")
    assert changes.changed("ADDED", starting)  # first seen
    assert not changes.changed("MODIFIED", starting)  # scheduled, still starting
    assert changes.changed("MODIFIED", InstancePod("p", "u", "running"))
    assert not changes.changed("MODIFIED", InstancePod("p", "u", "running"))
    assert changes.changed("DELETED", InstancePod("p", "u", "stopping"))
    assert not changes.changed("DELETED", InstancePod("p", "u", "stopping"))
