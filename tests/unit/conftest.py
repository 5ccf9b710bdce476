"""Fixtures of the unit tier."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.reconcile import Harness, running_harness


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    """The Controller over in-memory Kubernetes and a FakeCloudflare (tests/support/reconcile.py)."""
    async with running_harness() as running:
        yield running
