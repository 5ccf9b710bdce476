"""The proxy's side effect on Kubernetes besides its Pod watch (`local.informer`): keeping the
app's CA in a Secret. The official client is synchronous: callers run this in a worker thread."""

from __future__ import annotations

import base64
import logging

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lunora_operator.api.base import API_VERSION
from lunora_operator.local import names
from lunora_operator.local.egress.annotations import APP_LABEL
from lunora_operator.local.egress.ca import CaKeyPair, generate_ca, load_ca
from lunora_operator.local.egress.pod_spec import CA_CERT_KEY, CA_KEY_KEY, ca_secret_name

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
