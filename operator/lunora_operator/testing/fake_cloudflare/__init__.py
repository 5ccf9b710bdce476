"""A fake Cloudflare API for tests: `FakeCloudflare`, its `Fault`s and `RecordedRequest`s."""

from lunora_operator.testing.fake_cloudflare.endpoints import (
    ALL_PERMISSIONS,
    ENDPOINTS,
    PERMISSION_CONTAINERS,
    PERMISSION_DURABLE_OBJECTS,
    PERMISSION_SCRIPTS,
    RecordedRequest,
)
from lunora_operator.testing.fake_cloudflare.faults import Fault
from lunora_operator.testing.fake_cloudflare.rules import RegistryConfig
from lunora_operator.testing.fake_cloudflare.server import DEFAULT_ACCOUNT_ID, FakeCloudflare

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_ACCOUNT_ID",
    "ENDPOINTS",
    "PERMISSION_CONTAINERS",
    "PERMISSION_DURABLE_OBJECTS",
    "PERMISSION_SCRIPTS",
    "FakeCloudflare",
    "Fault",
    "RecordedRequest",
    "RegistryConfig",
]
