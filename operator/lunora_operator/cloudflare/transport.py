"""What every sub-client of an account stands on: the account id, the SDK client that holds its
token, and the two ways of calling it (with retries, and once only). The sub-clients depend on
this and nothing above it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import cloudflare

from lunora_operator.clock import Clock
from lunora_operator.cloudflare.retry import RetryPolicy, call_checking_before_retry, call_with_retries

T = TypeVar("T")


class Transport:
    """One account's SDK client with the retry policy and the clock. Counts the calls under way,
    so a client retired (its token rotated) is closed only once the last of them ended."""

    def __init__(
        self, account_id: str, sdk: cloudflare.AsyncCloudflare, retry: RetryPolicy, clock: Clock
    ) -> None:
        self.account_id = account_id
        self.sdk = sdk
        self.retry = retry
        self.clock = clock
        self._under_way = 0
        self._retired = False
        self._closed = False

    async def call(self, operation: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """One logical call with retries; errors come out as CloudflareError."""
        self._under_way += 1
        try:
            return await call_with_retries(self.retry, self.clock, operation, attempt)
        finally:
            await self._ended()

    async def call_once(
        self, operation: str, send: Callable[[], Awaitable[T]], check: Callable[[], Awaitable[T | None]]
    ) -> T:
        """A call that must not be carried out twice; see call_checking_before_retry."""
        self._under_way += 1
        try:
            return await call_checking_before_retry(self.retry, self.clock, operation, send, check)
        finally:
            await self._ended()

    async def _ended(self) -> None:
        self._under_way -= 1
        if self._retired and self._under_way == 0:
            await self.close()

    async def retire(self) -> None:
        """No new work comes: close now, or when the calls under way have ended."""
        self._retired = True
        if self._under_way == 0:
            await self.close()

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.sdk.close()

    @property
    def calls_under_way(self) -> int:
        return self._under_way

    @property
    def closed(self) -> bool:
        return self._closed
