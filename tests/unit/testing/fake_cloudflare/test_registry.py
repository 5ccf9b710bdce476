"""FakeCloudflare's images: an application may only use an image its registry holds (the
configured registry is asked, the managed one is what the fake was told it holds); credentials
only for the account's registries."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from lunora_operator.testing import FakeCloudflare, RegistryConfig
from lunora_operator.testing.fake_cloudflare.registry import ImageReference, parse_reference
from tests.support import wrangler_wire
from tests.support.cloudflare import TOKEN, call, errors, wrangler_upload

pytest_plugins = ["tests.support.cloudflare_fixtures"]

SOURCE = b"export class Web {}\nexport class Api {}\nexport default {};\n"
USER, PASSWORD = "pusher", "registry-secret-4b1"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx:1.27", ImageReference("docker.io", "library/nginx", "1.27")),
        ("acme/web", ImageReference("docker.io", "acme/web", "latest")),
        ("127.0.0.1:15000/acct/web:ctx-1", ImageReference("127.0.0.1:15000", "acct/web", "ctx-1")),
        ("localhost/web@sha256:ab", ImageReference("localhost", "web", "sha256:ab")),
        ("registry.cloudflare.com/a/b/c:2", ImageReference("registry.cloudflare.com", "a/b/c", "2")),
    ],
)
def test_references_are_read_as_docker_reads_them(image: str, expected: ImageReference) -> None:
    assert parse_reference(image) == expected


@pytest.fixture
async def registry() -> AsyncIterator[str]:
    """A registry holding `acct/web:1` only, behind basic auth."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    async def manifest(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != expected:
            return web.Response(status=401)
        held = request.match_info["repository"] == "acct/web" and request.match_info["reference"] == "1"
        return web.Response(status=200 if held else 404)

    app = web.Application()
    app.router.add_route("HEAD", "/v2/{repository:.+}/manifests/{reference}", manifest)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_the_configured_registry_is_asked_on_create_patch_and_rollout(registry: str) -> None:
    async with FakeCloudflare(token=TOKEN, registry=RegistryConfig(registry, USER, PASSWORD)) as fake:
        await wrangler_upload(
            fake, "wire-demo", wrangler_wire.upload_metadata(["Web"], None), {"index.js": SOURCE}
        )
        namespace_id = fake.namespaces("wire-demo")["Web"]
        missing = wrangler_wire.create_lite(namespace_id, f"{registry}/acct/web:2")

        refused = await call(fake, "POST", "/containers/applications", json=missing)
        created = await call(
            fake,
            "POST",
            "/containers/applications",
            json=wrangler_wire.create_lite(namespace_id, f"{registry}/acct/web:1"),
        )
        app_id = created.json()["result"]["id"]
        patch = await call(
            fake,
            "PATCH",
            f"/containers/applications/{app_id}",
            json={"configuration": {"image": f"{registry}/acct/web:2"}},
        )
        rollout = await call(
            fake,
            "POST",
            f"/containers/applications/{app_id}/rollouts",
            json=wrangler_wire.rollout_percentage({"image": f"{registry}/acct/other:1"}),
        )

    assert refused.status_code == 400
    assert errors(refused)[1] == {
        "error": "IMAGE_REGISTRY_DOESNT_CONTAIN_IMAGE",
        "details": {"configuration.image": f"the registry {registry} does not contain {registry}/acct/web:2"},
    }
    assert created.status_code == 200, created.text
    assert errors(patch)[1]["error"] == "IMAGE_REGISTRY_DOESNT_CONTAIN_IMAGE"
    assert errors(rollout)[1]["details"] == {
        "target_configuration.image": f"the registry {registry} does not contain {registry}/acct/other:1"
    }


async def test_the_managed_registry_holds_what_the_fake_was_told(fake: FakeCloudflare) -> None:
    await wrangler_upload(
        fake, "wire-demo", wrangler_wire.upload_metadata(["Web"], None), {"index.js": SOURCE}
    )
    namespace_id = fake.namespaces("wire-demo")["Web"]
    ours = f"registry.cloudflare.com/{fake.account_id}/web:1.0"
    for image in (
        ours,
        "registry.cloudflare.com/web:1.0",
        "registry.cloudflare.com/0123456789abcdef0123456789abcdef/web:1.0",
    ):
        refused = await call(
            fake, "POST", "/containers/applications", json=wrangler_wire.create_lite(namespace_id, image)
        )
        assert errors(refused)[1]["error"] == "IMAGE_REGISTRY_DOESNT_CONTAIN_IMAGE", image
    fake.add_image(ours)
    accepted = await call(
        fake, "POST", "/containers/applications", json=wrangler_wire.create_lite(namespace_id, ours)
    )
    assert accepted.status_code == 200, accepted.text
    with pytest.raises(ValueError, match=r"not on registry\.cloudflare\.com"):
        fake.add_image("docker.io/library/nginx:1.27")


async def test_credentials_for_a_registry_the_account_does_not_have(fake: FakeCloudflare) -> None:
    body = {"expiration_minutes": 15, "permissions": ["push", "pull"]}
    refused = await call(fake, "POST", "/containers/registries/ghcr.io/credentials", json=body)
    managed = await call(
        fake, "POST", "/containers/registries/registry.cloudflare.com/credentials", json=body
    )
    assert refused.status_code == 404
    assert errors(refused)[1] == {"error": "IMAGE_REGISTRY_NOT_FOUND"}
    assert managed.status_code == 200
