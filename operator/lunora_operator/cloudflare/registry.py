"""Short-lived registry credentials for pushing images (what `wrangler containers push` uses)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from lunora_operator.cloudflare.models import DEFAULT_REGISTRY, RegistryCredentials
from lunora_operator.cloudflare.transport import Transport

RegistryPermission = Literal["pull", "push", "list"]


class Registry:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def credentials(
        self,
        domain: str = DEFAULT_REGISTRY,
        expiration_minutes: int = 15,
        permissions: Sequence[RegistryPermission] = ("push", "pull"),
    ) -> RegistryCredentials:
        """Credentials for `docker login` to `registry_host`; they expire after `expiration_minutes`."""
        generated = await self._transport.call(
            f"getting credentials for registry {domain}",
            lambda: self._transport.sdk.containers.registries.credentials.generate(
                domain,
                account_id=self._transport.account_id,
                expiration_minutes=expiration_minutes,
                permissions=list(permissions),
            ),
        )
        return RegistryCredentials(
            registry_host=generated.registry_host, username=generated.username, password=generated.password
        )
