"""The endpoints the fake serves (named as the SDK methods are), the permission each needs,
and what is recorded of each request: secret values never."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from cloudflare.types.containers.application_create_params import ApplicationCreateParams
from cloudflare.types.containers.application_edit_params import ApplicationEditParams
from cloudflare.types.containers.applications.rollout_create_params import RolloutCreateParams
from cloudflare.types.containers.registries.credential_generate_params import CredentialGenerateParams
from cloudflare.types.workers.script_update_params import Metadata
from cloudflare.types.workers.scripts.secret_update_params import SecretUpdateParams

from lunora_operator.testing.fake_cloudflare.validation import (
    CUSTOM_SIZE_KEYS,
    WORKER_METADATA_KEYS,
    BodySchema,
)

API_PREFIX = "/client/v4"
REDACTED = "<redacted>"

PERMISSION_CONTAINERS = "Workers Containers Edit"
PERMISSION_SCRIPTS = "Workers Scripts Edit"
PERMISSION_DURABLE_OBJECTS = "Durable Objects Read"
ALL_PERMISSIONS = frozenset({PERMISSION_CONTAINERS, PERMISSION_SCRIPTS, PERMISSION_DURABLE_OBJECTS})


@dataclass(frozen=True)
class Endpoint:
    """One route. `operation` names it as the SDK method does (`applications.create`)."""

    method: str
    path: str
    operation: str
    permission: str
    schema: BodySchema | None = None


ENDPOINTS = (
    Endpoint(
        "GET", "/accounts/{account_id}/containers/applications", "applications.list", PERMISSION_CONTAINERS
    ),
    Endpoint(
        "POST",
        "/accounts/{account_id}/containers/applications",
        "applications.create",
        PERMISSION_CONTAINERS,
        BodySchema(ApplicationCreateParams, extras={("configuration",): CUSTOM_SIZE_KEYS}),
    ),
    Endpoint(
        "GET",
        "/accounts/{account_id}/containers/applications/{application_id}",
        "applications.get",
        PERMISSION_CONTAINERS,
    ),
    Endpoint(
        "PATCH",
        "/accounts/{account_id}/containers/applications/{application_id}",
        "applications.edit",
        PERMISSION_CONTAINERS,
        BodySchema(ApplicationEditParams),
    ),
    Endpoint(
        "DELETE",
        "/accounts/{account_id}/containers/applications/{application_id}",
        "applications.delete",
        PERMISSION_CONTAINERS,
    ),
    Endpoint(
        "POST",
        "/accounts/{account_id}/containers/applications/{application_id}/rollouts",
        "applications.rollouts.create",
        PERMISSION_CONTAINERS,
        BodySchema(RolloutCreateParams, extras={("target_configuration",): CUSTOM_SIZE_KEYS}),
    ),
    Endpoint(
        "GET",
        "/accounts/{account_id}/containers/applications/{application_id}/rollouts/{rollout_id}",
        "applications.rollouts.get",
        PERMISSION_CONTAINERS,
    ),
    Endpoint(
        "POST",
        "/accounts/{account_id}/containers/registries/{domain}/credentials",
        "registries.credentials.generate",
        PERMISSION_CONTAINERS,
        BodySchema(CredentialGenerateParams),
    ),
    Endpoint("GET", "/accounts/{account_id}/workers/scripts", "workers.scripts.list", PERMISSION_SCRIPTS),
    Endpoint(
        "PUT",
        "/accounts/{account_id}/workers/scripts/{script_name}",
        "workers.scripts.update",
        PERMISSION_SCRIPTS,
        BodySchema(Metadata, extras={(): WORKER_METADATA_KEYS}, path_params=()),
    ),
    Endpoint(
        "GET",
        "/accounts/{account_id}/workers/scripts/{script_name}/secrets",
        "workers.scripts.secrets.list",
        PERMISSION_SCRIPTS,
    ),
    Endpoint(
        "PUT",
        "/accounts/{account_id}/workers/scripts/{script_name}/secrets",
        "workers.scripts.secrets.update",
        PERMISSION_SCRIPTS,
        BodySchema(SecretUpdateParams),
    ),
    Endpoint(
        "DELETE",
        "/accounts/{account_id}/workers/scripts/{script_name}/secrets/{secret_name}",
        "workers.scripts.secrets.delete",
        PERMISSION_SCRIPTS,
    ),
    Endpoint(
        "GET",
        "/accounts/{account_id}/workers/durable_objects/namespaces",
        "durable_objects.namespaces.list",
        PERMISSION_DURABLE_OBJECTS,
    ),
)
ENDPOINTS_BY_OPERATION = {endpoint.operation: endpoint for endpoint in ENDPOINTS}


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the fake saw it. Secret values are replaced by "<redacted>"; the token is
    never recorded."""

    operation: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    """The answer's status; 0 when the connection was dropped before handling."""
    account_id: str | None = None
    dropped: bool = False


def redact(operation: str, body: Any) -> Any:
    """A copy of a request body with secret values (and passwords) replaced."""
    body = copy.deepcopy(body)
    if operation == "workers.scripts.secrets.update" and isinstance(body, dict):
        for key in ("text", "key_base64", "key_jwk"):
            if key in body:
                body[key] = REDACTED
    if operation == "workers.scripts.update" and isinstance(body, dict):
        for binding in (body.get("metadata") or {}).get("bindings") or []:
            if isinstance(binding, dict) and binding.get("type") in ("secret_text", "secret_key"):
                for key in ("text", "key_base64", "key_jwk"):
                    if key in binding:
                        binding[key] = REDACTED
    return _redact_passwords(body)


def _redact_passwords(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if key in ("password", "private_credential") else _redact_passwords(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_passwords(item) for item in value]
    return value
