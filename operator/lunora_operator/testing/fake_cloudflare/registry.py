"""Images and registries as Cloudflare sees them: whether a registry holds an image (asked of the
real registry the fake is configured with, or of the fake's own managed registry), and
short-lived push credentials."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from lunora_operator.cloudflare.models import DEFAULT_REGISTRY
from lunora_operator.testing.fake_cloudflare.account import Account
from lunora_operator.testing.fake_cloudflare.errors import ApiError, containers_error, validation_error

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


@dataclass(frozen=True)
class RegistryConfig:
    """The registry the fake hands out credentials for (in tests: the real test registry)."""

    host: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class ImageReference:
    host: str
    repository: str
    reference: str
    """The tag, or the digest (`sha256:…`)."""


def parse_reference(image: str) -> ImageReference:
    """As docker reads a reference: the first path segment is a host when it has a `.` or `:` or
    is `localhost`; otherwise the image is on Docker Hub."""
    name, digest = image.split("@", 1) if "@" in image else (image, "")
    slash = name.find("/")
    last_colon = name.rfind(":")
    tag = ""
    if last_colon > slash:
        name, tag = name[:last_colon], name[last_colon + 1 :]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        host, repository = first, rest
    else:
        host, repository = "docker.io", name if "/" in name else f"library/{name}"
    return ImageReference(host, repository, digest or tag or "latest")


async def registry_holds(registry: RegistryConfig, image: ImageReference) -> bool:
    """Asks the registry (plain HTTP, basic auth: the test registry) for the manifest."""
    url = f"http://{registry.host}/v2/{image.repository}/manifests/{image.reference}"
    token = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    headers = {"Accept": MANIFEST_TYPES, "Authorization": f"Basic {token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.head(url, headers=headers) as answer,
        ):
            if answer.status == 200:
                return True
            if answer.status == 404:
                return False
            reason = f"answered {answer.status}"
    except (aiohttp.ClientError, TimeoutError) as error:
        reason = f"could not be reached ({type(error).__name__})"
    raise ApiError(503, f"FakeCloudflare: the registry {registry.host} {reason}", 10013)


async def check_image(account: Account, image: str, registry: RegistryConfig | None, field_name: str) -> None:
    """Refuses an image the registry does not hold, as Cloudflare does on create, update and
    rollout (`IMAGE_REGISTRY_DOESNT_CONTAIN_IMAGE`). Checked: images on the configured registry
    (asked) and on Cloudflare's managed registry (what the fake was told it holds). Other
    registries (Docker Hub, …) cannot be asked from here and are accepted."""
    reference = parse_reference(image)
    if registry is not None and reference.host == registry.host:
        held = await registry_holds(registry, reference)
    elif reference.host == DEFAULT_REGISTRY:
        held = image in account.managed_images
    else:
        return
    if not held:
        raise containers_error(
            "IMAGE_REGISTRY_DOESNT_CONTAIN_IMAGE",
            {field_name: f"the registry {reference.host} does not contain {image}"},
        )


def registry_credentials(
    account: Account, registry: RegistryConfig | None, domain: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Credentials for the configured registry, asked for by its host or as Cloudflare's
    managed registry; without a configured registry, made-up ones for the managed registry.
    Any other domain is no registry of the account: 404 `IMAGE_REGISTRY_NOT_FOUND`."""
    if body.get("expiration_minutes", 0) <= 0:
        raise validation_error({"expiration_minutes": "must be positive for a managed registry"})
    if not body.get("permissions"):
        raise validation_error({"permissions": "is required for a managed registry"})
    if registry is not None and domain in (registry.host, DEFAULT_REGISTRY):
        return {
            "account_id": account.id,
            "registry_host": registry.host,
            "username": registry.username,
            "password": registry.password,
        }
    if registry is None and domain == DEFAULT_REGISTRY:
        return {
            "account_id": account.id,
            "registry_host": DEFAULT_REGISTRY,
            "username": "v1",
            "password": secrets.token_urlsafe(24),
        }
    raise containers_error("IMAGE_REGISTRY_NOT_FOUND", status=404)
