from __future__ import annotations

from typing import Any

from lunora_operator.local.pod_state import pod_state


def pod(status: dict[str, Any], **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "web-abc-r2",
            "uid": "u1",
            "labels": {"lunora.sh/instance": "abc", "lunora.sh/run": "2", "lunora.sh/container": "web"},
            "annotations": {
                "lunora.sh/instance-id": "a",
                "lunora.sh/run-started-at": "2026-01-01T00:00:00.000+00:00",
            },
            **meta,
        },
        "status": status,
    }


def test_a_running_pod() -> None:
    state = pod_state(
        pod({"phase": "Running", "podIP": "10.244.0.9", "containerStatuses": [{"state": {"running": {}}}]})
    )

    assert state is not None
    assert (state.run, state.instance_id, state.ip, state.running, state.live) == (
        2,
        "a",
        "10.244.0.9",
        True,
        True,
    )
    assert state.started_at is not None


def test_an_ended_pod_carries_its_exit_code() -> None:
    state = pod_state(
        pod({"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"exitCode": 3}}}]})
    )

    assert state is not None
    assert (state.exit_code, state.finished, state.live) == (3, True, False)


def test_a_pod_being_deleted_no_longer_counts() -> None:
    state = pod_state(pod({"phase": "Running"}, deletionTimestamp="2026-01-01T00:00:00Z"))
    assert state is not None
    assert not state.live


def test_waiting_reasons_that_cannot_resolve_themselves_are_fatal() -> None:
    config_error = pod_state(
        pod(
            {
                "containerStatuses": [
                    {
                        "state": {
                            "waiting": {
                                "reason": "CreateContainerConfigError",
                                "message": 'secret "x" not found',
                            }
                        }
                    }
                ]
            }
        )
    )
    creating = pod_state(
        pod({"containerStatuses": [{"state": {"waiting": {"reason": "ContainerCreating"}}}]})
    )

    assert config_error is not None
    assert config_error.fatal == 'CreateContainerConfigError: secret "x" not found'
    assert creating is not None
    assert creating.fatal is None


def test_pods_without_instance_labels_are_not_instances() -> None:
    assert pod_state({"metadata": {"name": "other"}}) is None
