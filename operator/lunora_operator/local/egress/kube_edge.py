"""The proxy's side effects on Kubernetes besides its Pod watch (`local.informer`): keeping the
app's CA in a Secret, and writing runtime rule changes onto instance Pods. The official client is
synchronous: `ensure_ca_secret` is run in a worker thread by its caller."""

from __future__ import annotations

import asyncio
import base64
import logging

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lunora_operator.api.base import API_VERSION
from lunora_operator.local import names
from lunora_operator.local.egress.annotations import APP_LABEL, RUNTIME_RULES, runtime_annotation
from lunora_operator.local.egress.ca import CaKeyPair, generate_ca, load_ca
from lunora_operator.local.egress.control import RuntimeStoreFailed
from lunora_operator.local.egress.instances import Instance, UnknownInstance
from lunora_operator.local.egress.pod_spec import CA_CERT_KEY, CA_KEY_KEY, ca_secret_name
from lunora_operator.local.egress.rules import InstanceRules

logger = logging.getLogger("lunora_operator.egress")


class CaSecretInvalid(RuntimeError):
    pass


def _read_pair(secret: client.V1Secret, name: str) -> CaKeyPair:
    data = secret.data or {}
    missing = [key for key in (CA_CERT_KEY, CA_KEY_KEY) if key not in data]
    if missing:
        raise CaSecretInvalid(
            f"Secret {name} lacks {', '.join(missing)}; delete it and the proxy creates a new CA"
        )
    pair = CaKeyPair(base64.b64decode(data[CA_CERT_KEY]), base64.b64decode(data[CA_KEY_KEY]))
    try:
        load_ca(pair)
    except ValueError as error:
        raise CaSecretInvalid(f"Secret {name}: {error}; delete it and the proxy creates a new CA") from None
    return pair


def _owned_by_app(app: str, uid: str) -> client.V1OwnerReference:
    """The LunoraApp owns its CA: the garbage collector removes the key with the app, and an app
    re-created under the same name gets a new CA."""
    return client.V1OwnerReference(api_version=API_VERSION, kind="LunoraApp", name=app, uid=uid)


def ensure_ca_secret(
    api: client.ApiClient, namespace: str, app: str, app_uid: str | None = None
) -> CaKeyPair:
    """The app's CA from its Secret, created first when missing (a create race is settled by
    reading what won)."""
    core = client.CoreV1Api(api)
    name = ca_secret_name(app)
    try:
        return _read_pair(core.read_namespaced_secret(name, namespace), name)
    except ApiException as error:
        if error.status != 404:
            raise
    pair = generate_ca(f"lunora local egress CA {namespace}/{app}")
    body = client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=name,
            namespace=namespace,
            labels={APP_LABEL: names.label_value(app)},
            owner_references=[_owned_by_app(app, app_uid)] if app_uid else None,
        ),
        type="kubernetes.io/tls",
        data={
            CA_CERT_KEY: base64.b64encode(pair.cert_pem).decode(),
            CA_KEY_KEY: base64.b64encode(pair.key_pem).decode(),
        },
    )
    try:
        core.create_namespaced_secret(namespace, body)
        logger.info("egress: created the interception CA in Secret %s/%s", namespace, name)
        return pair
    except ApiException as error:
        if error.status != 409:
            raise
    return _read_pair(core.read_namespaced_secret(name, namespace), name)


class PodRuntimeStore:
    """Writes an instance's runtime rules onto its Pod (one merge patch per change, never per
    request). The UID in the patch makes it apply to that Pod only, not a later one of the name."""

    def __init__(self, api: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api)

    async def __call__(self, instance: Instance, rules: InstanceRules) -> None:
        body = {"metadata": {"uid": instance.uid, "annotations": {RUNTIME_RULES: runtime_annotation(rules)}}}
        try:
            await asyncio.to_thread(
                self._core.patch_namespaced_pod,
                instance.name,
                instance.namespace,
                body,
                _content_type="application/merge-patch+json",
            )
        except ApiException as error:
            if error.status in (404, 409):
                raise UnknownInstance(f"instance Pod {instance.label} ({instance.uid}) is gone") from None
            raise RuntimeStoreFailed(
                f"could not record the change on Pod {instance.label} ({error.status} {error.reason}); "
                "the instance's rules are unchanged"
            ) from None
