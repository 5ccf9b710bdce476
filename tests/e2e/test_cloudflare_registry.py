"""Registry credentials obtained through the Cloudflare layer from FakeCloudflare push for real:
the fake hands out the test registry's credentials, as Cloudflare hands out its registry's."""

from __future__ import annotations

import asyncio
import uuid

import docker
import docker.errors
import pytest

from lunora_operator.cloudflare import CloudflareClients, RegistryCredentials
from lunora_operator.images.push import RegistryAuth, push_image
from lunora_operator.testing import FakeCloudflare, RegistryConfig
from lunora_operator.testing.environment import TestEnvironment

TOKEN = "e2e-registry-token"


def credentials_through_the_layer(fake: FakeCloudflare, domain: str) -> RegistryCredentials:
    async def fetch() -> RegistryCredentials:
        clients = CloudflareClients()
        try:
            account = clients.for_account(fake.account_id, TOKEN, base_url=fake.base_url)
            return await account.registry.credentials(domain)
        finally:
            await clients.aclose()

    return asyncio.run(fetch())


@pytest.fixture
def own_docker_client(testenv: TestEnvironment, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A client of its own: `login` keeps credentials in the client, which must not reach the
    session's client (other tests push without credentials on purpose)."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    client = docker.DockerClient(base_url=testenv.docker_host, timeout=120)
    yield client
    client.close()


@pytest.mark.docker
@pytest.mark.registry
def test_image_pushed_with_credentials_from_the_layer(own_docker_client, testenv: TestEnvironment) -> None:
    registry = RegistryConfig(testenv.registry, testenv.registry_user, testenv.registry_password)
    with FakeCloudflare(token=TOKEN, registry=registry) as fake:
        credentials = credentials_through_the_layer(fake, "registry.cloudflare.com")

    assert credentials.registry_host == testenv.registry
    assert testenv.registry_password not in repr(credentials)
    login = own_docker_client.login(
        username=credentials.username,
        password=credentials.password,
        registry=credentials.registry_host,
        reauth=True,
    )
    assert login["Status"] == "Login Succeeded"

    repository = f"{credentials.registry_host}/e2e/cloudflare-{uuid.uuid4().hex[:8]}"
    own_docker_client.images.get(testenv.base_image).tag(repository, "v1")
    try:
        pushed = push_image(
            own_docker_client.api, repository, "v1", RegistryAuth(credentials.username, credentials.password)
        )
        assert pushed.digest.startswith("sha256:")
        manifest = own_docker_client.images.get_registry_data(
            f"{repository}:v1",
            auth_config={"username": credentials.username, "password": credentials.password},
        )
        assert manifest.id == pushed.digest
    finally:
        own_docker_client.images.remove(f"{repository}:v1")


@pytest.mark.docker
@pytest.mark.registry
def test_credentials_for_another_registry_are_refused(testenv: TestEnvironment) -> None:
    from lunora_operator.cloudflare import NotFound

    registry = RegistryConfig(testenv.registry, testenv.registry_user, testenv.registry_password)
    with FakeCloudflare(token=TOKEN, registry=registry) as fake, pytest.raises(NotFound) as refused:
        credentials_through_the_layer(fake, "registry.example.com")
    # A domain that is not one of the account's registries: 404 IMAGE_REGISTRY_NOT_FOUND.
    assert "IMAGE_REGISTRY_NOT_FOUND" in str(refused.value)


@pytest.mark.docker
@pytest.mark.registry
def test_a_wrong_password_from_the_fake_is_refused_by_the_registry(
    own_docker_client, testenv: TestEnvironment
) -> None:
    registry = RegistryConfig(testenv.registry, testenv.registry_user, "not-the-password")
    with FakeCloudflare(token=TOKEN, registry=registry) as fake:
        credentials = credentials_through_the_layer(fake, testenv.registry)
    with pytest.raises(docker.errors.APIError) as refused:
        own_docker_client.login(
            username=credentials.username,
            password=credentials.password,
            registry=credentials.registry_host,
            reauth=True,
        )
    assert "unauthorized" in str(refused.value).lower()
