"""A fake Cloudflare API for tests: `FakeCloudflare`, its `Fault`s and `RecordedRequest`s."""

from lunora_operator.testing.fake_cloudflare.faults import Fault
from lunora_operator.testing.fake_cloudflare.server import (
    ALL_PERMISSIONS,
    DEFAULT_ACCOUNT_ID,
    PERMISSION_CONTAINERS,
    PERMISSION_DURABLE_OBJECTS,
    PERMISSION_SCRIPTS,
    FakeCloudflare,
    RecordedRequest,
)
from lunora_operator.testing.fake_cloudflare.state import RegistryConfig

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_ACCOUNT_ID",
    "PERMISSION_CONTAINERS",
    "PERMISSION_DURABLE_OBJECTS",
    "PERMISSION_SCRIPTS",
    "FakeCloudflare",
    "Fault",
    "RecordedRequest",
    "RegistryConfig",
]
