"""Whether a router Deployment serves, and what the kubelet says of its Pod: pure decisions over
the objects as the API server holds them."""

from __future__ import annotations

from typing import Any

import pytest

from lunora_operator.reconcile.local_router import deployment_unready, pod_problem


def deployment(generation: int = 2, **status: Any) -> dict[str, Any]:
    full = {
        "observedGeneration": 2,
        "replicas": 1,
        "updatedReplicas": 1,
        "availableReplicas": 1,
        **status,
    }
    return {"metadata": {"generation": generation}, "spec": {"replicas": 1}, "status": full}


def test_a_deployment_running_its_template_on_an_available_replica_serves() -> None:
    assert deployment_unready(deployment()) is None


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"metadata": {"generation": 1}, "spec": {}}, "the Deployment controller has not acted"),
        (deployment(observedGeneration=1), "the Deployment controller has not acted"),
        (deployment(updatedReplicas=0), "0 of 1 replica(s) run the latest template"),
        (deployment(replicas=2), "1 replica(s) of an earlier template still stopping"),
        (deployment(availableReplicas=0), "0 of 1 replica(s) ready (readiness: GET /_api/healthz)"),
    ],
    ids=["no-status", "older-generation", "not-updated", "old-replica", "not-available"],
)
def test_what_a_deployment_waits_for(body: dict[str, Any], why: str) -> None:
    said = deployment_unready(body)
    assert said is not None
    assert said.startswith(why), said


def pod(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "demo-router-x"}, "status": status}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (pod(), None),
        (pod(containerStatuses=[{"state": {"waiting": {"reason": "ContainerCreating"}}}]), None),
        (
            pod(
                conditions=[{"type": "PodScheduled", "status": "False", "message": "0/1 nodes are available"}]
            ),
            "not scheduled: 0/1 nodes are available",
        ),
        (
            pod(
                containerStatuses=[{"state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}}]
            ),
            "ErrImagePull: not found",
        ),
        (pod(containerStatuses=[{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]), "CrashLoopBackOff"),
        (
            pod(
                containerStatuses=[
                    {"state": {}, "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}
                ]
            ),
            "exited with code 2 (Error)",
        ),
    ],
    ids=["nothing-known", "creating", "unschedulable", "pull", "crash-loop", "exited"],
)
def test_what_the_kubelet_says_of_a_router_pod(body: dict[str, Any], said: str | None) -> None:
    assert pod_problem(body) == said
