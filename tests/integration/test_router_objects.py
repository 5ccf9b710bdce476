"""The router's objects through the operator's Kubernetes edge, against the real API server: an
edit made outside is patched back to what the operator writes; the router's Pod is admitted
where the restricted Pod Security Standard is enforced (an instance Pod, the control, is not).
That a stored object holds what the operator wrote (no request on a resync) is checked through
the whole step list in test_local_router.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from lunora_operator.api.resources import LunoraContainer
from lunora_operator.kube.drift import drift_patch
from lunora_operator.kube.objects import DEPLOYMENT, POD, KubeObjects
from lunora_operator.local.config import container_config
from lunora_operator.local.pod_spec import instance_pod
from lunora_operator.local.router_objects import RouterApp, RouterTemplate, deployment, service_account
from tests.support.kube import KubeClients, Kubectl, install_lunora_crds
from tests.support.local_control import local_app_body

pytestmark = [pytest.mark.apiserver]
TEMPLATE = RouterTemplate("127.0.0.1:15000/lunora-operator:test", ("registry",), (("A", "1"),))
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}


@pytest.fixture
def app(kubectl: Kubectl, kube: KubeClients, namespace: str) -> RouterApp:
    install_lunora_crds(kubectl)
    body = local_app_body()
    body["metadata"] = {"name": "demo"}
    kubectl.apply(json.dumps(body), "-n", namespace)
    uid = kube.custom.get_namespaced_custom_object("lunora.sh", "v1alpha1", namespace, "lunoraapps", "demo")[
        "metadata"
    ]["uid"]
    return RouterApp(namespace, "demo", uid, pull_secret="registry")


@pytest.fixture
def objects(kube: KubeClients) -> KubeObjects:
    return KubeObjects(kube.api)


async def test_an_edit_made_outside_is_patched_back(
    objects: KubeObjects, app: RouterApp, kube: KubeClients
) -> None:
    desired = deployment(app, TEMPLATE)
    await objects.create(DEPLOYMENT, app.namespace, desired)
    kube.apps.patch_namespaced_deployment(
        app.object_name,
        app.namespace,
        {"spec": {"template": {"spec": {"containers": [{"name": "router", "image": "x/y:1"}]}}}},
    )
    edited = await objects.observe(DEPLOYMENT, app.namespace, app.object_name)
    assert edited is not None
    patch = drift_patch(desired, edited)
    assert list(patch) == ["spec"]

    answer = await objects.patch(DEPLOYMENT, app.namespace, app.object_name, patch)

    assert answer["spec"]["template"]["spec"]["containers"][0]["image"] == TEMPLATE.image
    assert drift_patch(desired, answer) == {}
    assert answer["metadata"]["generation"] == 3


async def test_list_and_delete(objects: KubeObjects, app: RouterApp) -> None:
    assert await objects.list(POD, app.namespace, "lunora.sh/role=router") == []
    assert await objects.delete(DEPLOYMENT, app.namespace, app.object_name) is False


def admitted(kube: KubeClients, namespace: str, pod: dict[str, Any]) -> str | None:
    """None when the API server admits the Pod (dry run); else its refusal."""
    try:
        kube.core.create_namespaced_pod(namespace, pod, dry_run="All")
    except ApiException as error:
        return str(json.loads(error.body).get("message"))
    return None


def test_the_router_pod_meets_the_restricted_standard(kube: KubeClients, app: RouterApp) -> None:
    kube.core.patch_namespace(app.namespace, {"metadata": {"labels": RESTRICTED}})
    kube.core.create_namespaced_service_account(app.namespace, service_account(app))
    template = deployment(app, TEMPLATE)["spec"]["template"]
    router_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "router-check", **template["metadata"]},
        "spec": template["spec"],
    }
    assert admitted(kube, app.namespace, router_pod) is None

    container = LunoraContainer.model_validate(
        {
            "apiVersion": "lunora.sh/v1alpha1",
            "kind": "LunoraContainer",
            "metadata": {"name": "web", "namespace": app.namespace, "uid": "u"},
            "spec": {"app": "demo", "image": {"registry": "busybox"}, "defaultPort": 8080},
        }
    )
    control = instance_pod(container_config(container, None), "a", 1, datetime.now(UTC))
    refusal = admitted(kube, app.namespace, control)
    assert refusal is not None
    assert 'violates PodSecurity "restricted:latest"' in refusal
