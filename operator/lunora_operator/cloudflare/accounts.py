"""One client per Cloudflare account over the official SDK, with the account's rate limiter
and the retry policy; the token is held by the SDK only and never logged or shown."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Hashable

import cloudflare
import httpx

from lunora_operator.clock import SYSTEM_CLOCK, Clock
from lunora_operator.cloudflare.applications import Applications
from lunora_operator.cloudflare.errors import AuthFailed, WriteRefused
from lunora_operator.cloudflare.limiter import AccountLimiters, RateBudget, SlidingWindowLimiter
from lunora_operator.cloudflare.logs import install_log_filters
from lunora_operator.cloudflare.registry import Registry
from lunora_operator.cloudflare.retry import RetryPolicy
from lunora_operator.cloudflare.scripts import DurableObjects, WorkerScripts, WorkerSecrets
from lunora_operator.cloudflare.transport import Transport
from lunora_operator.metrics import CLOUDFLARE_REQUESTS

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"


class AccountClient:
    """Everything the operator does on one account. Build it with CloudflareClients.for_account."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.applications = Applications(transport)
        self.registry = Registry(transport)
        self.scripts = WorkerScripts(transport)
        self.secrets = WorkerSecrets(transport)
        self.durable_objects = DurableObjects(transport)

    @property
    def account_id(self) -> str:
        return self.transport.account_id

    @property
    def sdk(self) -> cloudflare.AsyncCloudflare:
        return self.transport.sdk

    @property
    def closed(self) -> bool:
        return self.transport.closed

    async def aclose(self) -> None:
        await self.transport.close()

    def __repr__(self) -> str:
        return f"AccountClient(account_id={self.account_id!r}, base_url={str(self.sdk.base_url)!r})"


def build_sdk(
    token: str,
    base_url: str,
    limiter: SlidingWindowLimiter,
    retry: RetryPolicy,
    write_guard: Callable[[], Awaitable[None]] | None = None,
) -> cloudflare.AsyncCloudflare:
    """An AsyncCloudflare whose every HTTP request first takes from the account's budget, and
    whose every write first passes `write_guard` (the peering's write lease), as late as
    possible before it is sent. The SDK's own retries are off: ours honour the deadline and
    re-observe after an ambiguous create."""

    async def take_from_budget(request: httpx.Request) -> None:
        await limiter.acquire()
        if write_guard is not None and request.method not in ("GET", "HEAD"):
            try:
                await write_guard()
            except Exception as refusal:
                raise WriteRefused(str(refusal)) from None
        CLOUDFLARE_REQUESTS.labels(request.method).inc()

    timeout = httpx.Timeout(retry.request_timeout, connect=min(retry.request_timeout, 10.0))
    sdk = cloudflare.AsyncCloudflare(
        api_token=token,
        base_url=base_url,
        max_retries=0,
        timeout=timeout,
        http_client=cloudflare.DefaultAsyncHttpxClient(
            timeout=timeout, event_hooks={"request": [take_from_budget]}
        ),
    )
    # Without arguments the SDK reads CLOUDFLARE_API_KEY / CLOUDFLARE_EMAIL /
    # CLOUDFLARE_API_USER_SERVICE_KEY from the environment and prefers them to the token.
    sdk.api_key = None
    sdk.api_email = None
    sdk.user_service_key = None
    return sdk


ClientKey = tuple[str, str, str]
"""(account id, base URL, sha256 of the token): never the token itself."""


class CloudflareClients:
    """Process-wide: one account client per (account, base URL, token), one limiter per account
    id whatever the token or base URL.

    Each holder (the operator passes the LunoraApp's key; by default the account and base URL)
    uses one client at a time. When a holder's token changes (rotated), its old client is closed
    once no holder uses it and its calls under way have ended, so a rotated token leaves no open
    HTTP client behind."""

    def __init__(
        self,
        budget: RateBudget | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock = SYSTEM_CLOCK,
        write_guard: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        install_log_filters()
        self.clock = clock
        self.write_guard = write_guard
        self.limiters = AccountLimiters(budget, clock)
        self.retry = retry or RetryPolicy()
        self._clients: dict[ClientKey, AccountClient] = {}
        self._holders: dict[Hashable, ClientKey] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._unretired: list[AccountClient] = []

    def for_account(
        self, account_id: str, token: str, base_url: str | None = None, *, holder: Hashable | None = None
    ) -> AccountClient:
        token = _checked(account_id, token)
        base_url = base_url or DEFAULT_BASE_URL
        key = (account_id, base_url, hashlib.sha256(token.encode()).hexdigest())
        client = self._clients.get(key)
        if client is None:
            sdk = build_sdk(
                token, base_url, self.limiters.for_account(account_id), self.retry, self.write_guard
            )
            client = self._clients[key] = AccountClient(Transport(account_id, sdk, self.retry, self.clock))
        self._hold(("account", account_id, base_url) if holder is None else holder, key)
        return client

    def release(self, holder: Hashable) -> None:
        """The holder is gone (its app deleted): its client closes unless another holds it."""
        key = self._holders.pop(holder, None)
        if key is not None:
            self._retire_unheld(key)

    def _hold(self, holder: Hashable, key: ClientKey) -> None:
        previous = self._holders.get(holder)
        self._holders[holder] = key
        if previous is not None and previous != key:
            self._retire_unheld(previous)

    def _retire_unheld(self, key: ClientKey) -> None:
        if key in self._holders.values():
            return
        client = self._clients.pop(key, None)
        if client is None:
            return
        try:
            task = asyncio.get_running_loop().create_task(client.transport.retire())
        except RuntimeError:  # no event loop (a synchronous caller): closed with the rest
            self._unretired.append(client)
            return
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def retirements(self) -> None:
        """Waits until the retirements started so far have run (closing, or marking a client to
        close when its calls under way end)."""
        await asyncio.gather(*self._retiring, return_exceptions=True)

    async def aclose(self) -> None:
        clients = [*self._clients.values(), *self._unretired]
        self._clients.clear()
        self._holders.clear()
        self._unretired.clear()
        await self.retirements()
        await asyncio.gather(*(client.aclose() for client in clients))

    def __repr__(self) -> str:
        return f"CloudflareClients(accounts={sorted({key[0] for key in self._clients})!r})"


def _checked(account_id: str, token: str) -> str:
    """The token, trimmed. A Secret made with --from-file usually ends in a newline; inside,
    whitespace or a control character can only be a mistake (and would end up in an HTTP header
    error)."""
    token = token.strip()
    if not token:
        raise AuthFailed(f"the API token for account {account_id} is empty")
    if any(character.isspace() or not character.isprintable() for character in token):
        raise AuthFailed(
            f"the API token for account {account_id} holds whitespace or control characters; "
            "store the token alone in the Secret"
        )
    return token
