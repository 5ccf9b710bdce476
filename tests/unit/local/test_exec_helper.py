"""The exec helper in an instance Pod: copied in by an init container from its own image into a
volume the instance container mounts read-only, only when the router has a helper image; a helper
image the node cannot run fails the start with the kubelet's words, naming the helper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lunora_operator.local import exec_helper
from lunora_operator.local.errors import Unavailable
from lunora_operator.local.pod_spec import PodSettings, instance_pod
from lunora_operator.local.pod_state import pod_state
from tests.unit.local.fakes import FakeKube, Script, config, fleet_with

STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HELPER = "127.0.0.1:15000/lunora/exec-helper:1"


def test_a_pod_gets_the_helper_only_when_the_router_has_a_helper_image() -> None:
    plain = instance_pod(config(), "a", 1, STARTED)
    helped = instance_pod(config(), "a", 1, STARTED, settings=PodSettings(exec_helper_image=HELPER))

    assert "initContainers" not in plain["spec"]
    assert "volumes" not in plain["spec"]
    init = helped["spec"]["initContainers"][0]
    assert init["image"] == HELPER
    assert init["command"] == ["/lunora-exec", "install", "/.lunora/exec"]
    assert init["securityContext"]["runAsNonRoot"] is True
    assert helped["spec"]["volumes"] == [{"name": "lunora-exec", "emptyDir": {"sizeLimit": "16Mi"}}]
    assert helped["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "lunora-exec", "mountPath": "/.lunora", "readOnly": True}
    ]
    assert exec_helper.RUN_COMMAND == ("/.lunora/exec", "run")


def test_the_pod_state_says_whether_the_helper_is_there() -> None:
    helped = instance_pod(config(), "a", 1, STARTED, settings=PodSettings(exec_helper_image=HELPER))
    plain = instance_pod(config(), "a", 1, STARTED)

    assert pod_state(helped).exec_helper  # type: ignore[union-attr]
    assert not pod_state(plain).exec_helper  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("init_state", "fatal"),
    [
        ({"waiting": {"reason": "ErrImagePull", "message": "not found"}}, "ErrImagePull: not found"),
        ({"waiting": {"reason": "PodInitializing"}}, None),
        ({"terminated": {"exitCode": 1, "message": "read-only"}}, "exited with code 1: read-only"),
        ({"terminated": {"exitCode": 0}}, None),
    ],
)
def test_a_helper_that_cannot_run_is_fatal(init_state: dict[str, object], fatal: str | None) -> None:
    pod = instance_pod(config(), "a", 1, STARTED, settings=PodSettings(exec_helper_image=HELPER))
    pod["metadata"]["uid"] = "u"
    pod["status"] = {
        "phase": "Pending",
        "initContainerStatuses": [{"name": "lunora-exec", "state": init_state}],
        "containerStatuses": [{"state": {"waiting": {"reason": "PodInitializing"}}}],
    }

    assert pod_state(pod).fatal == fatal  # type: ignore[union-attr]


@pytest.mark.looptime
async def test_a_helper_image_the_node_cannot_pull_fails_the_start_naming_the_helper() -> None:
    kube = FakeKube(Script(helper_waiting=("ErrImagePull", "pull access denied")))
    fleet = fleet_with(kube, pod_settings=PodSettings(exec_helper_image=HELPER))

    with pytest.raises(Unavailable) as caught:
        await fleet.instance("web", "a").open()

    assert caught.value.answer.text == (
        f'Failed to start container: the exec helper image "{HELPER}" cannot be run: '
        "ErrImagePull: pull access denied"
    )
    assert kube.live_pods() == [], "the Pod that cannot start is removed"
