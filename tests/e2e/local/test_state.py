"""What outlives a request: Secrets fail closed, start overrides persist in a Secret, a restarted
router keeps ids on their Pods, and deleting the LunoraContainer removes its Pods."""

from __future__ import annotations

import json
from collections.abc import Callable

from lunora_operator.local import texts
from tests.e2e.local.conftest import Router, container_manifest, instance_pods, live_pods
from tests.support.kube import KubeClients, Kubectl, wait_until
from tests.support.operator import Resources

pytest_plugins = ["tests.support.operator_fixtures"]


def test_99_a_missing_secret_fails_the_start_closed_and_is_named(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(
        container_manifest(
            "keyed",
            instance_image,
            secrets=[
                {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "keyed-api", "key": "api-key"}}}
            ],
        )
    )
    front = router()

    response = front.get("/keyed/a/")

    assert response.status_code == texts.START_FAILED_STATUS
    assert response.text.startswith(texts.START_FAILED_PREFIX)
    assert 'container "keyed": declared secret "API_KEY" is not set' in response.text
    assert f'Secret "{namespace}/keyed-api" not found' in response.text
    wait_until(lambda: not live_pods(kube, namespace, "keyed"), "the Pod that could not start removed", 20)
    events = kube.core.list_namespaced_event(namespace, field_selector="involvedObject.name=keyed").items
    assert any(e.reason == "SecretMissing" and "keyed-api" in e.message for e in events)

    kube.core.create_namespaced_secret(
        namespace, {"metadata": {"name": "keyed-api"}, "stringData": {"api-key": "k-123"}}
    )
    assert front.get("/keyed/a/cgi-bin/env").text.count("API_KEY=k-123") == 1


def test_122_124_a_start_override_lives_in_a_secret_until_destroy(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(container_manifest("job", instance_image, env={"DECLARED": "yes"}))
    front = router()
    api = "/_api/containers/job/instances/j1"

    assert front.http.post(f"{api}/start", json={"envVars": {"SANDBOX": "value-7f3a"}}).status_code == 200
    assert front.http.post(f"{api}/start", json={"envVars": {"SANDBOX": "2"}}).status_code == 409
    env = front.get("/job/j1/cgi-bin/env").text
    pod = instance_pods(kube, namespace, "job")[0]
    secrets = kube.core.list_namespaced_secret(
        namespace, label_selector="lunora.sh/role=start-override"
    ).items

    assert "SANDBOX=value-7f3a" in env
    assert "DECLARED" not in env
    assert "value-7f3a" not in json.dumps(pod), "the value stays in the Secret"
    assert [s.metadata.name for s in secrets] == [
        f"job-{pod['metadata']['labels']['lunora.sh/instance']}-start"
    ]

    assert front.http.post(f"{api}/destroy").status_code == 200
    assert "DECLARED=yes" in front.get("/job/j1/cgi-bin/env").text
    assert not kube.core.list_namespaced_secret(
        namespace, label_selector="lunora.sh/role=start-override"
    ).items


def test_a_restarted_router_keeps_ids_on_their_running_pods(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    namespace: str,
) -> None:
    resources.apply(container_manifest("web", instance_image))
    first = router()
    before = {i: first.get(f"/web/{i}/cgi-bin/whoami").text for i in ("a", "b")}
    first.stop()

    second = router()
    after = {i: second.get(f"/web/{i}/cgi-bin/whoami").text for i in ("a", "b")}

    assert after == before
    assert len(instance_pods(kube, namespace, "web")) == 2
    state = second.http.get("/_api/instances").json()["containers"]["web"]
    assert state["running"] == 2


def test_deleting_the_container_removes_its_pods(
    resources: Resources,
    router: Callable[..., Router],
    instance_image: str,
    kube: KubeClients,
    kubectl: Kubectl,
    namespace: str,
) -> None:
    resources.apply(container_manifest("web", instance_image))
    front = router()
    assert front.get("/web/a/").status_code == 200
    assert live_pods(kube, namespace, "web")

    kubectl("delete", "lunoracontainer", "web", "-n", namespace, "--wait=false")

    wait_until(
        lambda: not instance_pods(kube, namespace, "web"), "the garbage collector removing the Pods", 60
    )
    assert front.get("/web/a/").status_code == 404
