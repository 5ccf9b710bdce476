"""The API server's refusals as the operator's errors: a namespace being deleted is told apart
from a refusal a person must fix."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from lunora_operator.kube.gateway import KubeRefused, NamespaceTerminating, api_error


def refusal(causes: list[dict[str, str]]) -> ApiException:
    error = ApiException(status=403, reason="Forbidden")
    error.body = json.dumps(
        {
            "kind": "Status",
            "reason": "Forbidden",
            "code": 403,
            "details": {"kind": "configmaps", "causes": causes},
        }
    )
    return error


def test_a_write_into_a_namespace_being_deleted_is_namespace_terminating() -> None:
    error = api_error(
        refusal([{"reason": "NamespaceTerminating", "message": "namespace t-1 is being terminated"}]),
        'writing ConfigMap "t-1/demo-wrangler"',
    )

    assert isinstance(error, NamespaceTerminating)
    assert not isinstance(error, KubeRefused)
    assert (
        str(error)
        == 'writing ConfigMap "t-1/demo-wrangler" failed: 403 Forbidden: the namespace is being deleted'
    )


def test_any_other_403_is_a_refusal_and_a_body_that_is_not_a_status_changes_nothing() -> None:
    assert type(api_error(refusal([]), "patching status")) is KubeRefused
    odd = ApiException(status=403, reason="Forbidden")
    odd.body = "<html>no</html>"
    assert type(api_error(odd, "patching status")) is KubeRefused
