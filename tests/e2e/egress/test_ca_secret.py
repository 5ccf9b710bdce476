"""The app's interception CA lives in a Secret: created once, read back by every later start."""

from __future__ import annotations

import base64

import pytest
from kubernetes import client

from lunora_operator.local.egress.kube_edge import CaSecretInvalid, ensure_ca_secret
from tests.support.kube import KubeClients


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
