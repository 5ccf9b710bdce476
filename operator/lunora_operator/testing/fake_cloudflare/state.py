"""Everything a running fake holds, behind one lock (the HTTP routes run on the fake's event loop,
a test's controls on its own thread): the accounts, the faults waiting to be injected, whether
new rollouts are held, and the requests recorded."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from lunora_operator.testing.fake_cloudflare.endpoints import RecordedRequest
from lunora_operator.testing.fake_cloudflare.faults import Fault
from lunora_operator.testing.fake_cloudflare.rules import Account


class FakeState:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._records: list[RecordedRequest] = []
        self.hold_rollouts = False
        """New `full_auto` rollouts stay `progressing` until a test finishes them."""

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    def account(self, account_id: str) -> Account:
        """The account, created empty on first use (as any id the token may act on)."""
        with self._lock:
            account = self._accounts.get(account_id)
            if account is None:
                account = self._accounts[account_id] = Account(account_id)
            return account

    def accounts(self) -> dict[str, Account]:
        with self._lock:
            return dict(self._accounts)

    def add_fault(self, operation: str, fault: Fault) -> None:
        with self._lock:
            self._faults.setdefault(operation, []).append(fault)

    def take_fault(self, operation: str) -> Fault | None:
        """The first fault of `operation` with uses left, counting one use."""
        with self._lock:
            for fault in self._faults.get(operation, []):
                if fault.take():
                    return fault
        return None

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._records.append(request)

    def records(self, operation: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [record for record in self._records if operation is None or record.operation == operation]

    def clear_records(self) -> None:
        with self._lock:
            self._records.clear()
