"""One client per Cloudflare account over the official SDK, with the account's rate limiter
and the retry policy; the token is held by the SDK only and never logged or shown."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import cloudflare
import httpx

from lunora_operator.cloudflare.applications import Applications
from lunora_operator.cloudflare.errors import AuthFailed, WriteRefused
from lunora_operator.cloudflare.limiter import AccountLimiters, RateBudget, SlidingWindowLimiter
from lunora_operator.cloudflare.registry import Registry
from lunora_operator.cloudflare.retry import RetryPolicy, call_checking_before_retry, call_with_retries
from lunora_operator.cloudflare.scripts import DurableObjects, WorkerScripts, WorkerSecrets
from lunora_operator.metrics import CLOUDFLARE_REQUESTS

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
T = TypeVar("T")


class _RequestOptionsRedactor(logging.Filter):
    """The SDK logs each request's JSON body at DEBUG ("Request options: …"), which would put
    Worker secret values into the operator's log; the record keeps only the method and path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Request options: %s":
            options = record.args[0] if isinstance(record.args, tuple) and record.args else None
            method, url = (
                (options.get("method"), options.get("url")) if isinstance(options, Mapping) else (None, None)
            )
            record.args = (f"{{'method': {method!r}, 'url': {url!r}, <body and headers redacted>}}",)
        return True


def _install_log_redaction() -> None:
    logger = logging.getLogger("cloudflare._base_client")
    if not any(isinstance(existing, _RequestOptionsRedactor) for existing in logger.filters):
        logger.addFilter(_RequestOptionsRedactor())


_install_log_redaction()


class AccountClient:
    """Everything the operator does on one account. Build it with CloudflareClients.for_account."""

    def __init__(self, account_id: str, sdk: cloudflare.AsyncCloudflare, retry: RetryPolicy) -> None:
        self.account_id = account_id
        self.sdk = sdk
        self.retry = retry
        self.applications = Applications(self)
        self.registry = Registry(self)
        self.scripts = WorkerScripts(self)
        self.secrets = WorkerSecrets(self)
        self.durable_objects = DurableObjects(self)

    async def call(self, operation: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """One logical call with retries; errors come out as CloudflareError."""
        return await call_with_retries(self.retry, operation, attempt)

    async def call_once(
        self, operation: str, send: Callable[[], Awaitable[T]], check: Callable[[], Awaitable[T | None]]
    ) -> T:
        """A call that must not be carried out twice; see call_checking_before_retry."""
        return await call_checking_before_retry(self.retry, operation, send, check)

    async def aclose(self) -> None:
        await self.sdk.close()

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


class CloudflareClients:
    """Process-wide: account clients by (account, base URL, token), one limiter per account id
    whatever the token or base URL. Keys hold a hash of the token, never the token."""

    def __init__(
        self,
        budget: RateBudget | None = None,
        retry: RetryPolicy | None = None,
        write_guard: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.limiters = AccountLimiters(budget)
        self.retry = retry or RetryPolicy()
        self.write_guard = write_guard
        self._clients: dict[tuple[str, str, str], AccountClient] = {}

    def for_account(self, account_id: str, token: str, base_url: str | None = None) -> AccountClient:
        # A Secret made with --from-file usually ends in a newline; inside, whitespace or a
        # control character can only be a mistake (and would end up in an HTTP header error).
        token = token.strip()
        if not token:
            raise AuthFailed(f"the API token for account {account_id} is empty")
        if any(character.isspace() or not character.isprintable() for character in token):
            raise AuthFailed(
                f"the API token for account {account_id} holds whitespace or control characters; "
                "store the token alone in the Secret"
            )
        base_url = base_url or DEFAULT_BASE_URL
        key = (account_id, base_url, hashlib.sha256(token.encode()).hexdigest())
        client = self._clients.get(key)
        if client is None:
            sdk = build_sdk(
                token, base_url, self.limiters.for_account(account_id), self.retry, self.write_guard
            )
            client = self._clients[key] = AccountClient(account_id, sdk, self.retry)
        return client

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        await asyncio.gather(*(client.aclose() for client in clients))

    def __repr__(self) -> str:
        return f"CloudflareClients(accounts={sorted({key[0] for key in self._clients})!r})"
