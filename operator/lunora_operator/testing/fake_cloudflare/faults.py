"""Faults the fake injects per endpoint: 429 with Retry-After, 5xx, latency, dropped connections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

DropMoment = Literal["before", "after"]


@dataclass
class Fault:
    """What happens to the next `times` matching requests (all of them when `times` is None).

    `status` answers with that error instead of handling the request; `drop="before"` closes the
    connection without handling it; `drop="after"` handles it (the change is made) and then closes
    the connection without an answer, the ambiguous case a client cannot tell from "before".
    """

    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    drop: DropMoment | None = None
    times: int | None = 1

    @classmethod
    def rate_limited(cls, retry_after: float = 1.0, times: int | None = 1) -> Fault:
        return cls(status=429, retry_after=retry_after, times=times)

    @classmethod
    def server_error(cls, status: int = 503, times: int | None = 1) -> Fault:
        return cls(status=status, times=times)

    @classmethod
    def latency(cls, seconds: float, times: int | None = 1) -> Fault:
        return cls(delay=seconds, times=times)

    @classmethod
    def dropped(cls, times: int | None = 1) -> Fault:
        return cls(drop="before", times=times)

    @classmethod
    def dropped_after_processing(cls, times: int | None = 1) -> Fault:
        return cls(drop="after", times=times)

    def take(self) -> bool:
        """Counts one use; False once used up."""
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True
