"""Short-lived registry credentials for pushing images (what `wrangler containers push` uses)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from lunora_operator.cloudflare.models import DEFAULT_REGISTRY, RegistryCredentials

if TYPE_CHECKING:
    from lunora_operator.cloudflare.accounts import AccountClient

RegistryPermission = Literal["pull", "push", "list"]


class Registry:
    def __init__(self, account: AccountClient) -> None:
        self._account = account

    async def credentials(
        self,
        domain: str = DEFAULT_REGISTRY,
        expiration_minutes: int = 15,
        permissions: Sequence[RegistryPermission] = ("push", "pull"),
    ) -> RegistryCredentials:
        """Credentials for `docker login` to `registry_host`; they expire after `expiration_minutes`."""
        generated = await self._account.call(
            f"getting credentials for registry {domain}",
            lambda: self._account.sdk.containers.registries.credentials.generate(
                domain,
                account_id=self._account.account_id,
                expiration_minutes=expiration_minutes,
                permissions=list(permissions),
            ),
        )
        return RegistryCredentials(
            registry_host=generated.registry_host, username=generated.username, password=generated.password
        )
