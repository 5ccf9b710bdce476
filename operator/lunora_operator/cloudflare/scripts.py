"""The Worker side of a container app: script upload (Durable Object bindings, `containers`,
migrations), Worker secrets, and the Durable Object namespace id of each class."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

from lunora_operator.cloudflare.errors import NotFound
from lunora_operator.cloudflare.models import WorkerScript, WorkerUpload
from lunora_operator.cloudflare.transport import Transport
from lunora_operator.name_lists import few

# Secret bindings are managed through the secrets endpoint; an upload keeps them.
KEEP_BINDINGS = ("secret_text", "secret_key")
NAMESPACE_PAGE_SIZE = 1000


def upload_metadata(upload: WorkerUpload) -> dict[str, Any]:
    """The multipart `metadata` part, as wrangler's createWorkerUploadForm builds it, in its order.
    Unlike wrangler, `keep_bindings` keeps the Worker's secrets: they are set through the secrets
    endpoint, and an upload must not drop them."""
    if upload.main_module not in upload.modules:
        raise ValueError(
            f"main module {upload.main_module!r} is not among the modules ({few(sorted(upload.modules))})"
        )
    metadata: dict[str, Any] = {
        "main_module": upload.main_module,
        "bindings": [
            {"name": binding.name, "type": "durable_object_namespace", "class_name": binding.class_name}
            for binding in upload.bindings
        ],
    }
    if upload.container_classes:
        metadata["containers"] = [{"class_name": class_name} for class_name in upload.container_classes]
    metadata["compatibility_date"] = upload.compatibility_date
    metadata["compatibility_flags"] = list(upload.compatibility_flags)
    if upload.migrations is not None:
        migrations: dict[str, Any] = {}
        if upload.migrations.old_tag is not None:
            migrations["old_tag"] = upload.migrations.old_tag
        migrations["new_tag"] = upload.migrations.new_tag
        migrations["steps"] = [dict(step) for step in upload.migrations.steps]
        metadata["migrations"] = migrations
    metadata["keep_bindings"] = list(KEEP_BINDINGS)
    if upload.observability is not None:
        metadata["observability"] = dict(upload.observability)
    return metadata


def upload_parts(upload: WorkerUpload) -> list[tuple[str, tuple[str | None, bytes, str | None]]]:
    """The multipart body as wrangler sends it: `metadata` (a plain field), then one part per
    module named after the module, the main module first."""
    metadata = json.dumps(upload_metadata(upload)).encode()
    names = [upload.main_module, *(name for name in upload.modules if name != upload.main_module)]
    return [
        ("metadata", (None, metadata, None)),
        *((name, (name, upload.modules[name], upload.content_type(name))) for name in names),
    ]


def _script(data: Mapping[str, Any], script_name: str) -> WorkerScript:
    version = data.get("deployment_id")
    return WorkerScript(
        id=str(data.get("id") or script_name),
        etag=data.get("etag"),
        migration_tag=data.get("migration_tag"),
        version_id=str(version) if version else None,
    )


def version_namespaces(bindings: Sequence[Mapping[str, Any]], script_name: str) -> dict[str, str]:
    """Class -> namespace id from a version's bindings, as wrangler finds a bound container's
    namespace: the first Durable Object binding of the class that belongs to this script and
    carries a namespace id."""
    found: dict[str, str] = {}
    for binding in bindings:
        class_name, namespace_id = binding.get("class_name"), binding.get("namespace_id")
        if (
            binding.get("type") == "durable_object_namespace"
            and isinstance(class_name, str)
            and isinstance(namespace_id, str)
            and binding.get("script_name") in (None, script_name)
        ):
            found.setdefault(class_name, namespace_id)
    return found


class WorkerScripts:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def _find(self, script_name: str) -> WorkerScript | None:
        # wrangler reads the migration tag the same way: the account's script list, matched by id.
        async for script in self._transport.sdk.workers.scripts.list(account_id=self._transport.account_id):
            if script.id == script_name:
                return _script(script.model_dump(), script_name)
        return None

    async def observe(self, script_name: str) -> WorkerScript | None:
        return await self._transport.call(f"looking up Worker {script_name}", lambda: self._find(script_name))

    async def upload(self, script_name: str, upload: WorkerUpload) -> WorkerScript:
        """Uploads and deploys the Worker as wrangler does (`PUT …/scripts/{name}` with its
        multipart form). When an upload with migrations may have gone through without an answer,
        the retry checks the script's tag and, if the migrations were applied, uploads again
        without them (Cloudflare would refuse the old tag)."""
        pending = upload
        path = f"/accounts/{self._transport.account_id}/workers/scripts/{quote(script_name, safe='')}"

        async def send() -> WorkerScript:
            envelope = await self._transport.sdk.put(
                path,
                cast_to=object,
                body=None,
                files=upload_parts(pending),
                options={
                    "headers": {"Content-Type": "multipart/form-data"},
                    "params": {"excludeScript": "true", "bindings_inherit": "strict"},
                },
            )
            return _script(cast(Mapping[str, Any], envelope)["result"], script_name)

        async def check() -> None:
            nonlocal pending
            if pending.migrations is not None:
                live = await self._find(script_name)
                if live is not None and live.migration_tag == pending.migrations.new_tag:
                    pending = dataclasses.replace(pending, migrations=None)

        return await self._transport.call_once(f"uploading Worker {script_name}", send, check)

    async def deployed_version(self, script_name: str) -> str | None:
        """The version the Worker's latest deployment sends (most of) its traffic to
        (`GET …/scripts/{name}/deployments`); None when it has none or does not exist."""
        path = f"/accounts/{self._transport.account_id}/workers/scripts/{quote(script_name, safe='')}/deployments"

        async def attempt() -> str | None:
            envelope = cast(Mapping[str, Any], await self._transport.sdk.get(path, cast_to=object))
            deployments = cast(Mapping[str, Any], envelope.get("result") or {}).get("deployments") or []
            versions = (deployments[0].get("versions") or []) if deployments else []
            chosen = max(versions, key=lambda v: v.get("percentage") or 0, default=None)
            return str(chosen["version_id"]) if chosen and chosen.get("version_id") else None

        try:
            return await self._transport.call(f"reading the deployment of Worker {script_name}", attempt)
        except NotFound:
            return None

    async def version_namespaces(self, script_name: str, version_id: str) -> dict[str, str]:
        """Class -> Durable Object namespace id of the classes the version binds
        (`GET …/scripts/{name}/versions/{id}`), where wrangler looks up a bound class."""
        path = (
            f"/accounts/{self._transport.account_id}/workers/scripts/{quote(script_name, safe='')}"
            f"/versions/{quote(version_id, safe='')}"
        )

        async def attempt() -> dict[str, str]:
            envelope = cast(Mapping[str, Any], await self._transport.sdk.get(path, cast_to=object))
            resources = cast(Mapping[str, Any], envelope.get("result") or {}).get("resources") or {}
            return version_namespaces(resources.get("bindings") or [], script_name)

        return await self._transport.call(f"reading version {version_id} of Worker {script_name}", attempt)


class WorkerSecrets:
    """Worker secrets by name. Values go to Cloudflare only; nothing here logs or keeps them."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def list(self, script_name: str) -> set[str]:
        async def attempt() -> set[str]:
            secrets = self._transport.sdk.workers.scripts.secrets.list(
                script_name, account_id=self._transport.account_id
            )
            return {secret.name async for secret in secrets}

        return await self._transport.call(f"listing secrets of Worker {script_name}", attempt)

    async def put(self, script_name: str, name: str, value: str) -> None:
        await self._transport.call(
            f"setting secret {name} of Worker {script_name}",
            lambda: self._transport.sdk.workers.scripts.secrets.update(
                script_name, account_id=self._transport.account_id, name=name, text=value, type="secret_text"
            ),
        )

    async def delete(self, script_name: str, name: str) -> bool:
        """Deletes the secret; False when it was not there."""
        try:
            await self._transport.call(
                f"deleting secret {name} of Worker {script_name}",
                lambda: self._transport.sdk.workers.scripts.secrets.delete(
                    name, account_id=self._transport.account_id, script_name=script_name
                ),
            )
        except NotFound:
            return False
        return True


class DurableObjects:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def namespaces(self, script_name: str) -> dict[str, str]:
        """Durable Object class name -> namespace id, for the classes this script defines."""

        async def attempt() -> dict[str, str]:
            found: dict[str, str] = {}
            pages = self._transport.sdk.durable_objects.namespaces.list(
                account_id=self._transport.account_id, per_page=NAMESPACE_PAGE_SIZE
            )
            async for namespace in pages:
                # The first match, as wrangler takes it for a class without a binding.
                if namespace.script == script_name and namespace.class_ and namespace.id:
                    found.setdefault(namespace.class_, namespace.id)
            return found

        return await self._transport.call(
            f"listing Durable Object namespaces of Worker {script_name}", attempt
        )
