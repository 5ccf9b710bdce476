"""The app's interception CA lives in a Secret: created once, read back by every later start."""

from __future__ import annotations

import base64

import pytest
from kubernetes import client

from lunora_operator.local.egress.kube_edge import CaSecretInvalid, ensure_ca_secret
from tests.support.kube import KubeClients, Kubectl, install_lunora_crds, wait_until


def test_the_ca_is_created_once_and_read_back(kube: KubeClients, namespace: str) -> None:
    first = ensure_ca_secret(kube.api, namespace, "demo")
    second = ensure_ca_secret(kube.api, namespace, "demo")
    assert second == first
    secret = kube.core.read_namespaced_secret("demo-egress-ca", namespace)
    assert secret.type == "kubernetes.io/tls"
    assert base64.b64decode(secret.data["tls.crt"]) == first.cert_pem
    assert secret.metadata.labels == {"lunora.sh/app": "demo"}


def test_a_damaged_ca_secret_is_named_not_replaced(kube: KubeClients, namespace: str) -> None:
    kube.core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="demo-egress-ca"),
            type="kubernetes.io/tls",
            data={"tls.crt": base64.b64encode(b"not a certificate").decode(), "tls.key": ""},
        ),
    )
    with pytest.raises(
        CaSecretInvalid, match=r"Secret demo-egress-ca: .*delete it and the proxy creates a new CA"
    ):
        ensure_ca_secret(kube.api, namespace, "demo")


def test_the_ca_secret_is_owned_by_its_app_and_collected_with_it(
    kube: KubeClients, kubectl: Kubectl, namespace: str
) -> None:
    """The CA's key must not outlive the app (a re-created app of the same name gets a new CA)."""
    install_lunora_crds(kubectl)
    app = kube.custom.create_namespaced_custom_object(
        "lunora.sh", "v1alpha1", namespace, "lunoraapps",
        {"apiVersion": "lunora.sh/v1alpha1", "kind": "LunoraApp", "metadata": {"name": "owned"},
         "spec": {"mode": "local", "workerName": "owned"}},
    )  # fmt: skip
    ensure_ca_secret(kube.api, namespace, "owned", app["metadata"]["uid"])
    (owner,) = kube.core.read_namespaced_secret("owned-egress-ca", namespace).metadata.owner_references
    assert (owner.kind, owner.name, owner.uid) == ("LunoraApp", "owned", app["metadata"]["uid"])

    kube.custom.delete_namespaced_custom_object("lunora.sh", "v1alpha1", namespace, "lunoraapps", "owned")
    wait_until(
        lambda: (
            not kube.core.list_namespaced_secret(
                namespace, field_selector="metadata.name=owned-egress-ca"
            ).items
        ),
        "the garbage collector to remove the CA Secret",
        timeout=60,
    )
