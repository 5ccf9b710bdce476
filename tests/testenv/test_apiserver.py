"""The test control plane is a real kube-apiserver: schema validation, RBAC, tokens."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.support.kube import KubeClients, Kubectl, wait_until

GROUP = "testing.lunora.sh"
WIDGET_CRD = f"""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{GROUP}
spec:
  group: {GROUP}
  scope: Namespaced
  names: {{plural: widgets, singular: widget, kind: Widget}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {{type: integer, minimum: 1, maximum: 10}}
              color: {{type: string, enum: [red, blue]}}
"""


@pytest.fixture(scope="module")
def widget_crd(kubectl: Kubectl) -> str:
    kubectl.apply(WIDGET_CRD)
    kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/widgets.{GROUP}")
    return f"widgets.{GROUP}"


def widget(name: str, namespace: str, spec: str) -> str:
    return f"""
apiVersion: {GROUP}/v1
kind: Widget
metadata: {{name: {name}, namespace: {namespace}}}
spec: {spec}
"""


def test_valid_custom_resource_is_accepted_and_read_back(
    widget_crd: str, kubectl: Kubectl, kube: KubeClients, namespace: str
) -> None:
    kubectl.apply(widget("small", namespace, "{size: 3, color: blue}"))

    stored = kube.custom.get_namespaced_custom_object(GROUP, "v1", namespace, "widgets", "small")

    assert stored["spec"] == {"size": 3, "color": "blue"}
    assert stored["metadata"]["generation"] == 1
    assert stored["metadata"]["resourceVersion"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{size: 50}", "spec.size: Invalid value"),
        ("{size: 2, color: green}", 'spec.color: Unsupported value: "green"'),
        ("{color: red}", "spec.size: Required value"),
    ],
)
def test_schema_violation_is_rejected_by_the_server_naming_the_field(
    widget_crd: str, kubectl: Kubectl, kube: KubeClients, namespace: str, spec: str, message: str
) -> None:
    result = kubectl.apply(widget("bad", namespace, spec), check=False)

    assert result.returncode != 0
    assert message in result.stderr
    with pytest.raises(ApiException) as missing:
        kube.custom.get_namespaced_custom_object(GROUP, "v1", namespace, "widgets", "bad")
    assert missing.value.status == 404


def test_rbac_is_enforced_for_service_account_tokens(kube: KubeClients, namespace: str) -> None:
    kube.core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="reader"))
    )
    token = kube.core.create_namespaced_service_account_token(
        "reader", namespace, client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
    ).status.token
    configuration = client.Configuration()
    configuration.host = kube.api.configuration.host
    configuration.ssl_ca_cert = kube.api.configuration.ssl_ca_cert
    configuration.api_key = {"authorization": f"Bearer {token}"}
    as_reader = client.CoreV1Api(client.ApiClient(configuration))

    with pytest.raises(ApiException) as forbidden:
        as_reader.list_namespaced_config_map(namespace)
    assert forbidden.value.status == 403

    kube.rbac.create_namespaced_role(
        namespace,
        client.V1Role(
            metadata=client.V1ObjectMeta(name="read-configmaps"),
            rules=[client.V1PolicyRule(api_groups=[""], resources=["configmaps"], verbs=["list"])],
        ),
    )
    kube.rbac.create_namespaced_role_binding(
        namespace,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="reader-reads-configmaps"),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="Role", name="read-configmaps"
            ),
            subjects=[client.RbacV1Subject(kind="ServiceAccount", name="reader", namespace=namespace)],
        ),
    )

    # The authorizer sees new Roles and bindings through its informers: granted within moments,
    # not necessarily by the very next request.
    def granted() -> bool:
        try:
            return as_reader.list_namespaced_config_map(namespace).items is not None
        except ApiException as error:
            if error.status != 403:
                raise
            return False

    wait_until(granted, "the RoleBinding to take effect", timeout=10)
