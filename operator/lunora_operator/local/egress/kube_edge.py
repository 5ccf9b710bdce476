"""The proxy's side effects on Kubernetes: watching the app's instance Pods, and keeping the
app's CA in a Secret. The official client is synchronous: the watch runs in a thread and hands
events to the event loop; the Secret calls run in worker threads."""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from lunora_operator.local.egress.annotations import APP_LABEL, instance_selector
from lunora_operator.local.egress.ca import CaKeyPair, generate_ca, load_ca
from lunora_operator.local.egress.instances import InstanceDirectory
from lunora_operator.local.egress.pod_spec import CA_CERT_KEY, CA_KEY_KEY, ca_secret_name

logger = logging.getLogger("lunora_operator.egress")
WATCH_SECONDS = 30


class PodWatch:
    """List, then watch, the app's instance Pods into the directory; list again after an error or
    an expired resourceVersion."""

    def __init__(self, api: client.ApiClient, namespace: str, app: str, directory: InstanceDirectory) -> None:
        self._core = client.CoreV1Api(api)
        self._api = api
        self._namespace = namespace
        self._selector = instance_selector(app)
        self._directory = directory
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.synced = asyncio.Event()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, args=(loop,), name="egress-pod-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _json(self, pod: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._api.sanitize_for_serialization(pod)  # type: ignore[no-untyped-call]
        return result

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        while not self._stop.is_set():
            try:
                listing = self._core.list_namespaced_pod(self._namespace, label_selector=self._selector)
                pods = [self._json(p) for p in listing.items]
                loop.call_soon_threadsafe(self._directory.replace_all, pods)
                loop.call_soon_threadsafe(self.synced.set)
                version = listing.metadata.resource_version if listing.metadata else None
                while not self._stop.is_set():
                    stream = watch.Watch().stream(  # type: ignore[no-untyped-call]
                        self._core.list_namespaced_pod,
                        self._namespace,
                        label_selector=self._selector,
                        resource_version=version,
                        timeout_seconds=WATCH_SECONDS,
                        allow_watch_bookmarks=True,
                    )
                    for event in stream:
                        if self._stop.is_set():
                            return
                        pod = event["object"]
                        version = pod.metadata.resource_version
                        if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                            loop.call_soon_threadsafe(self._directory.apply, event["type"], self._json(pod))
            except ApiException as error:
                if error.status != 410:
                    logger.warning(
                        "egress: watching Pods failed (%s %s); listing again", error.status, error.reason
                    )
                    self._stop.wait(1)
            except Exception as error:
                logger.warning("egress: watching Pods failed (%r); listing again", error)
                self._stop.wait(1)


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


def ensure_ca_secret(api: client.ApiClient, namespace: str, app: str) -> CaKeyPair:
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
        metadata=client.V1ObjectMeta(name=name, namespace=namespace, labels={APP_LABEL: app}),
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
