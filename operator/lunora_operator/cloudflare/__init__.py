"""The operator's only door to Cloudflare: one client per account over the official SDK.

clients = CloudflareClients()                      # process-wide
account = clients.for_account(account_id, token, base_url=None)
plan = await account.applications.observe(desired, namespace_id)   # None, or what an update changes
"""

from lunora_operator.cloudflare.accounts import DEFAULT_BASE_URL, AccountClient, CloudflareClients
from lunora_operator.cloudflare.application_plan import UpdatePlan
from lunora_operator.cloudflare.errors import (
    AuthFailed,
    CloudflareError,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    NamespaceMismatch,
    NotFound,
    PermanentError,
    QuotaExceeded,
    RateLimited,
    RetryableError,
    ServerError,
)
from lunora_operator.cloudflare.limiter import RateBudget
from lunora_operator.cloudflare.models import (
    INSTANCE_TYPES,
    Application,
    ApplicationUpdate,
    Constraints,
    CustomInstanceType,
    DesiredApplication,
    DurableObjectBinding,
    InstanceType,
    MigrationUpload,
    RegistryCredentials,
    Rollout,
    RolloutPolicy,
    WorkerScript,
    WorkerUpload,
)
from lunora_operator.cloudflare.retry import RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "INSTANCE_TYPES",
    "AccountClient",
    "Application",
    "ApplicationUpdate",
    "AuthFailed",
    "CloudflareClients",
    "CloudflareError",
    "Conflict",
    "ConnectionFailed",
    "Constraints",
    "CustomInstanceType",
    "DesiredApplication",
    "DurableObjectBinding",
    "InstanceType",
    "InvalidRequest",
    "MigrationUpload",
    "NamespaceMismatch",
    "NotFound",
    "PermanentError",
    "QuotaExceeded",
    "RateBudget",
    "RateLimited",
    "RegistryCredentials",
    "RetryPolicy",
    "RetryableError",
    "Rollout",
    "RolloutPolicy",
    "ServerError",
    "UpdatePlan",
    "WorkerScript",
    "WorkerUpload",
]
