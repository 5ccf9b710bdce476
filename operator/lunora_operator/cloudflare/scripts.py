"""The Worker side of a container app: script upload (Durable Object bindings, `containers`,
migrations), Worker secrets, and the Durable Object namespace id of each class."""

from __future__ import annotations

import dataclasses
from typing import Any

from lunora_operator.cloudflare.errors import NotFound
from lunora_operator.cloudflare.models import WorkerScript, WorkerUpload
from lunora_operator.cloudflare.transport import Transport

# Secret bindings are managed through the secrets endpoint; an upload keeps them.
KEEP_BINDINGS = ("secret_text", "secret_key")
NAMESPACE_PAGE_SIZE = 1000


def upload_metadata(upload: WorkerUpload) -> dict[str, Any]:
    """The multipart `metadata` part, as wrangler's createWorkerUploadForm builds it."""
    if upload.main_module not in upload.modules:
        raise ValueError(
            f"main module {upload.main_module!r} is not among the modules {sorted(upload.modules)}"
        )
    metadata: dict[str, Any] = {
        "main_module": upload.main_module,
        "compatibility_date": upload.compatibility_date,
        "bindings": [
            {"type": "durable_object_namespace", "name": binding.name, "class_name": binding.class_name}
            for binding in upload.bindings
        ],
        "keep_bindings": list(KEEP_BINDINGS),
    }
    if upload.compatibility_flags:
        metadata["compatibility_flags"] = list(upload.compatibility_flags)
    if upload.container_classes:
        metadata["containers"] = [{"class_name": class_name} for class_name in upload.container_classes]
    if upload.migrations is not None:
        migrations: dict[str, Any] = {
            "new_tag": upload.migrations.new_tag,
            "steps": [dict(step) for step in upload.migrations.steps],
        }
        if upload.migrations.old_tag is not None:
            migrations["old_tag"] = upload.migrations.old_tag
        metadata["migrations"] = migrations
    if upload.observability is not None:
        metadata["observability"] = {"enabled": upload.observability}
    return metadata


def _script(data: Any, script_name: str) -> WorkerScript:
    return WorkerScript(
        id=getattr(data, "id", None) or script_name,
        etag=getattr(data, "etag", None),
        migration_tag=getattr(data, "migration_tag", None),
    )


class WorkerScripts:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def _find(self, script_name: str) -> WorkerScript | None:
        # wrangler reads the migration tag the same way: the account's script list, matched by id.
        async for script in self._transport.sdk.workers.scripts.list(account_id=self._transport.account_id):
            if script.id == script_name:
                return _script(script, script_name)
        return None

    async def observe(self, script_name: str) -> WorkerScript | None:
        return await self._transport.call(f"looking up Worker {script_name}", lambda: self._find(script_name))

    async def upload(self, script_name: str, upload: WorkerUpload) -> WorkerScript:
        """Uploads and deploys the Worker. When an upload with migrations may have gone through
        without an answer, the retry checks the script's tag and, if the migrations were applied,
        uploads again without them (Cloudflare would refuse the old tag)."""
        files = [(name, content, upload.content_type(name)) for name, content in upload.modules.items()]
        pending = upload

        async def send() -> WorkerScript:
            uploaded = await self._transport.sdk.workers.scripts.update(
                script_name,
                account_id=self._transport.account_id,
                metadata=upload_metadata(pending),  # type: ignore[arg-type]  # `containers` is not in the SDK's Metadata
                files=files,
            )
            return _script(uploaded, script_name)

        async def check() -> None:
            nonlocal pending
            if pending.migrations is not None:
                live = await self._find(script_name)
                if live is not None and live.migration_tag == pending.migrations.new_tag:
                    pending = dataclasses.replace(pending, migrations=None)

        return await self._transport.call_once(f"uploading Worker {script_name}", send, check)


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
                if namespace.script == script_name and namespace.class_ and namespace.id:
                    found[namespace.class_] = namespace.id
            return found

        return await self._transport.call(
            f"listing Durable Object namespaces of Worker {script_name}", attempt
        )
