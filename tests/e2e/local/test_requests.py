"""Requests through the router reach real Pods on the node: ids stick to their Pod, `any`/`pool`
spread over the pool, every required port is waited for, and when no instance can serve the
caller gets the platform's status and text."""

from __future__ import annotations

from collections.abc import Callable

from lunora_operator.local import texts
from tests.e2e.local.conftest import Router, container_manifest, live_pods, timed
from tests.support.kube import KubeClients
from tests.support.operator import Resources

pytest_plugins = ["tests.support.operator_fixtures"]


def test_an_id_always_reaches_the_same_pod_and_another_id_another(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(container_manifest("web", instance_image))
    front = router()

    first = [front.get("/web/video-42/cgi-bin/whoami").text for _ in range(5)]
    other = front.get("/web/video-43/cgi-bin/whoami").text

    assert len(set(first)) == 1
    assert other != first[0]
    assert len(live_pods(kube, namespace, "web")) == 2
    env = front.get("/web/video-42/cgi-bin/env").text
    assert "CLOUDFLARE_DURABLE_OBJECT_ID=" in env
    assert "CLOUDFLARE_DEPLOYMENT_ID=" in env


def test_any_and_pool_spread_over_the_pool_instances(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(container_manifest("web", instance_image, maxInstances=3))
    front = router()

    hosts = {front.get(f"/web/{kind}/cgi-bin/whoami").text for kind in ["any", "pool"] * 15}
    pods = live_pods(kube, namespace, "web")

    assert len(hosts) >= 2, "30 random picks among 3 instances hit more than one"
    assert len(pods) <= 3
    assert {h.strip() for h in hosts} <= set(pods)


def test_every_required_port_listens_before_a_request_is_proxied(
    resources: Resources, router: Callable[..., Router], instance_image: str
) -> None:
    resources.apply(
        container_manifest(
            "two-ports",
            instance_image,
            requiredPorts=[8080, 9090],
            env={"PORTS": "8080", "LATE_PORTS": "9090", "LATE_AFTER": "3"},
        )
    )
    front = router()

    with timed() as elapsed:
        first = front.get("/two-ports/a/")
    late = front.get("/two-ports/a/", headers={"cf-container-target-port": "9090"})

    assert first.status_code == 200
    assert elapsed() >= 3, "held until 9090, which listens only after 3 s, did"
    assert late.status_code == 200


def test_a_crashing_image_gets_the_exit_code_text(
    resources: Resources, router: Callable[..., Router], instance_image: str
) -> None:
    resources.apply(container_manifest("crash", instance_image, entrypoint=["sh", "-c", "sleep 0.2; exit 7"]))
    front = router()

    response = front.get("/crash/a/")

    assert response.status_code == texts.START_FAILED_STATUS
    assert response.text == texts.START_FAILED_PREFIX + texts.EXITED_WITH_CODE.format(code=7)
    state = front.http.get("/_api/containers/crash/instances/a/state").json()
    assert (state["status"], state["exitCode"]) == ("stopped_with_code", 7)


def test_a_port_nothing_listens_on_gets_the_not_listening_text(
    resources: Resources, router: Callable[..., Router], instance_image: str
) -> None:
    resources.apply(container_manifest("web", instance_image))
    front = router()
    assert front.get("/web/a/").status_code == 200

    response = front.get("/web/a/", headers={"cf-container-target-port": "9999"})

    assert response.status_code == texts.PROXY_FAILED_STATUS
    assert response.text == texts.PROXY_FAILED_PREFIX + texts.NOT_LISTENING.format(port=9999)


def test_125_paths_under_lunora_are_refused_with_403(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(container_manifest("web", instance_image))
    front = router()

    for path in ["/web/a/__lunora/exec", "/web/a/%5F%5Flunora/exec", "/web/a/%255F%255Flunora/exec"]:
        response = front.http.post(path, headers={"x-lunora-container-exec": "1"})
        assert response.status_code == texts.RESERVED_PATH.status
        assert response.text == texts.RESERVED_PATH.text
    assert front.get("/web/a/__lunora-status").status_code == 404  # busybox: no such file, but it got there
    assert len(live_pods(kube, namespace, "web")) == 1


def test_past_max_instances_a_new_id_gets_the_no_instance_answer(
    resources: Resources, router: Callable[..., Router], instance_image: str
) -> None:
    resources.apply(container_manifest("capped", instance_image, maxInstances=1))
    front = router("--instance-timeout", "2")
    assert front.get("/capped/a/").status_code == 200

    with timed() as elapsed:
        refused = front.get("/capped/b/")

    assert refused.status_code == texts.NO_INSTANCE.status
    assert refused.text == texts.NO_INSTANCE.text
    assert 2 <= elapsed() < 4
    assert front.get("/capped/a/").status_code == 200
