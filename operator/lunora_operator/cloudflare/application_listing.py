"""One listing of an account's applications, shared by every lookup that accepts an answer of
a given age: N containers cost one paginated list, not N lookups. A name this process changed
since the listing was taken is never answered from it, so observe-before-create stays exact."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from lunora_operator.clock import Clock
from lunora_operator.cloudflare.errors import CloudflareError
from lunora_operator.cloudflare.models import Application

ListAll = Callable[[], Awaitable[dict[str, Application]]]


class ApplicationListing:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._listing: dict[str, Application] = {}
        self._listed_at: float | None = None
        self._turn: asyncio.Lock | None = None
        self._failure: tuple[float, CloudflareError] | None = None
        self._changed: dict[str, float] = {}
        """Name -> when this process last created, updated or deleted it."""

    def mark_changed(self, name: str) -> None:
        """After a write (or a sign the listing is wrong about `name`): look it up on its own."""
        self._changed[name] = self._clock.monotonic()

    def forget_changes(self) -> None:
        """As after a restart: nothing was changed by this process."""
        self._changed.clear()

    def answers_for(self, name: str) -> bool:
        """Whether the listing (once fresh) may answer for `name`."""
        changed = self._changed.get(name)
        return changed is None or (self._listed_at is not None and self._listed_at > changed)

    async def fresh(self, max_age: float, list_all: ListAll) -> dict[str, Application]:
        """The listing, taken again when older than `max_age`; one listing is in flight at a
        time and the others wait for it (and fail with it)."""
        if self._turn is None:
            self._turn = asyncio.Lock()
        async with self._turn:
            now = self._clock.monotonic
            failed = self._failure
            if failed is not None and now() - failed[0] <= max_age:
                raise failed[1]  # the listing the waiters queued behind just failed: so do they
            if self._listed_at is None or now() - self._listed_at > max_age:
                started = now()
                try:
                    self._listing = await list_all()
                except CloudflareError as error:
                    self._failure = (now(), error)
                    raise
                self._failure = None
                self._listed_at = started
            return self._listing
