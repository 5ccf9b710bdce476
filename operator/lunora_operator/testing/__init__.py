"""Test support that users of the operator can reuse (test environment, fake Cloudflare API)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lunora_operator.testing.fake_cloudflare import AccountLimits, FakeCloudflare, Fault, RegistryConfig

__all__ = ["AccountLimits", "FakeCloudflare", "Fault", "RegistryConfig"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the fake pulls in aiohttp and the SDK's types, which the test
    # environment settings (lunora_operator.testing.environment) do not need.
    if name in __all__:
        from lunora_operator.testing import fake_cloudflare

        return getattr(fake_cloudflare, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
