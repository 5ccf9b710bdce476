"""The router's writes to Kubernetes: instance Pods, start-override Secrets and Events, in its
own namespace only. The official client is synchronous, so each call runs in a worker thread."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from lunora_operator.api.base import API_VERSION
from lunora_operator.local import errors, names
from lunora_operator.local.backend import PodExists
from lunora_operator.local.config import ContainerConfig
from lunora_operator.local.override import StartOverride, from_secret_data, to_secret_data
from lunora_operator.local.pod_spec import override_secret

log = logging.getLogger(__name__)
T = TypeVar("T")
COMPONENT = "lunora-router"


def _unavailable(what: str, error: Exception) -> errors.Unavailable:
    if isinstance(error, ApiException):
        detail = f"{what} failed: {error.status} {error.reason}"
        if error.status == 403:
            detail += " (the router's ServiceAccount lacks this permission)"
        return errors.no_instance(detail)
    return errors.no_instance(f"{what} failed: the API server did not answer ({type(error).__name__})")


class KubeObjects:
    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.core = client.CoreV1Api(api)
        self.namespace = namespace
        self._events: set[asyncio.Future[Any]] = set()

    async def _call(self, what: str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(call, *args, **kwargs)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
            if isinstance(error, ApiException) and error.status == 409:
                raise
            raise _unavailable(what, error) from None

    async def create_pod(self, manifest: dict[str, Any]) -> None:
        name = manifest["metadata"]["name"]
        try:
            await self._call(
                f"creating Pod {name}",
                self.core.create_namespaced_pod,
                self.namespace,
                manifest,
                _preload_content=False,
            )
        except ApiException as error:  # 409 only
            raise PodExists(name) from error

    async def delete_pod(self, name: str, grace_seconds: int | None) -> None:
        try:
            await asyncio.to_thread(
                self.core.delete_namespaced_pod,
                name,
                self.namespace,
                grace_period_seconds=grace_seconds,
                _preload_content=False,
            )
        except ApiException as error:
            if error.status != 404:
                raise _unavailable(f"deleting Pod {name}", error) from None

    async def load_override(self, config: ContainerConfig, instance_id: str) -> StartOverride | None:
        name = names.override_secret_name(config.name, names.instance_key(config.name, instance_id))
        try:
            response = await asyncio.to_thread(
                self.core.read_namespaced_secret, name, self.namespace, _preload_content=False
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise _unavailable(f"reading Secret {name}", error) from None
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise _unavailable(f"reading Secret {name}", error) from None
        return from_secret_data(json.loads(response.data).get("data") or {})  # type: ignore[arg-type]

    async def save_override(self, config: ContainerConfig, instance_id: str, override: StartOverride) -> None:
        manifest = override_secret(config, instance_id, to_secret_data(override))
        name = manifest["metadata"]["name"]
        try:
            await self._call(
                f"creating Secret {name}",
                self.core.create_namespaced_secret,
                self.namespace,
                manifest,
                _preload_content=False,
            )
        except ApiException:  # 409: replace what an earlier start wrote
            await self._call(
                f"replacing Secret {name}",
                self.core.replace_namespaced_secret,
                name,
                self.namespace,
                manifest,
                _preload_content=False,
            )

    async def delete_override(self, config: ContainerConfig, instance_id: str) -> None:
        name = names.override_secret_name(config.name, names.instance_key(config.name, instance_id))
        try:
            await asyncio.to_thread(
                self.core.delete_namespaced_secret, name, self.namespace, _preload_content=False
            )
        except ApiException as error:
            if error.status != 404:
                raise _unavailable(f"deleting Secret {name}", error) from None

    def record(self, config: ContainerConfig, reason: str, message: str, warning: bool = False) -> None:
        """An Event on the LunoraContainer, sent in the background; a failure is only logged."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{config.name[:200]}.", "namespace": self.namespace},
            "involvedObject": {
                "apiVersion": API_VERSION,
                "kind": "LunoraContainer",
                "name": config.name,
                "namespace": self.namespace,
                "uid": config.uid,
            },
            "reason": reason,
            "message": message[:1024],
            "type": "Warning" if warning else "Normal",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        task = asyncio.ensure_future(asyncio.to_thread(self._send_event, event))
        self._events.add(task)
        task.add_done_callback(self._events.discard)

    def _send_event(self, event: dict[str, Any]) -> None:
        try:
            self.core.create_namespaced_event(self.namespace, event, _preload_content=False)  # type: ignore[arg-type]
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
            log.warning("could not record Event %s: %s", event["reason"], type(error).__name__)
