"""The Kubernetes edge against the real API server: the output ConfigMap's records are set and
removed by annotation without touching its data or the annotations others put there, with only
the verbs the chart grants on ConfigMaps (get, update)."""

from __future__ import annotations

import pytest
from kubernetes import client

from lunora_operator.kube.connection import kubernetes_configuration
from lunora_operator.kube.gateway import KubeGateway
from lunora_operator.testing.environment import TestEnvironment

pytestmark = [pytest.mark.apiserver]


async def test_annotating_a_config_map_sets_and_removes_only_the_annotations_named(
    testenv: TestEnvironment, namespace: str
) -> None:
    gateway = KubeGateway(client.ApiClient(kubernetes_configuration(testenv.kubeconfig)))
    await gateway.write_config_map(
        namespace, "demo-wrangler", {"wrangler.jsonc": "{}"}, {"kept": "yes"}, None, None
    )

    assert await gateway.annotate_config_map(
        namespace, "demo-wrangler", {"lunora.sh/a": "1", "lunora.sh/b": "2"}
    )
    assert await gateway.annotate_config_map(namespace, "demo-wrangler", {"lunora.sh/a": None})
    stored = await gateway.config_map(namespace, "demo-wrangler")

    assert stored is not None
    assert stored.annotations == {"kept": "yes", "lunora.sh/b": "2"}
    assert stored.data == {"wrangler.jsonc": "{}"}
    assert not await gateway.annotate_config_map(namespace, "absent", {"lunora.sh/a": "1"})
