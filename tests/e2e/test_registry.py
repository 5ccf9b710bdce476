"""Images built from local files travel through the real registry with its basic auth."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from lunora_operator.images.push import ImagePushError, push_image
from lunora_operator.testing.environment import TestEnvironment
from tests.support.registry import TestRegistry

TEST_LABEL = {"lunora.sh/test": "true"}


def build_message_image(docker_client, testenv: TestEnvironment, context: Path, tag: str, message: str):
    (context / "message.txt").write_text(message)
    (context / "Dockerfile").write_text(
        f'FROM {testenv.base_image}\nCOPY message.txt /message.txt\nCMD ["cat", "/message.txt"]\n'
    )
    image, _ = docker_client.images.build(path=str(context), tag=tag, rm=True, labels=TEST_LABEL)
    return image


def test_image_is_pushed_with_credentials_and_pulled_back(
    docker_client, testenv: TestEnvironment, registry: TestRegistry, tmp_path: Path
) -> None:
    repository = registry.repository(f"e2e/message-{uuid.uuid4().hex[:8]}")
    message = f"hello {uuid.uuid4()}"
    image = build_message_image(docker_client, testenv, tmp_path, f"{repository}:v1", message)

    pushed = push_image(docker_client.api, repository, "v1", registry.auth)
    assert pushed.digest.startswith("sha256:")

    docker_client.images.remove(image.id, force=True)
    assert not docker_client.images.list(name=repository)
    pulled = docker_client.images.pull(repository, tag="v1", auth_config=registry.auth.auth_config())
    assert f"{repository}@{pushed.digest}" in pulled.attrs["RepoDigests"]

    # Not `containers.run(..., remove=True)`: it starts the container, then follows its logs, then
    # removes it; a container that exits at once can be gone from the follow before its output
    # is read, and the output is lost (rarely, under load). Wait for it, read its logs, remove it.
    container = docker_client.containers.run(pulled.id, detach=True, labels=TEST_LABEL)
    try:
        assert container.wait(timeout=60)["StatusCode"] == 0
        output = container.logs(stdout=True, stderr=False)
    finally:
        container.remove(force=True)
    assert output.decode() == message


def test_push_without_credentials_fails_with_the_registry_error(
    docker_client, testenv: TestEnvironment, registry: TestRegistry, tmp_path: Path
) -> None:
    repository = registry.repository(f"e2e/anonymous-{uuid.uuid4().hex[:8]}")
    build_message_image(docker_client, testenv, tmp_path, f"{repository}:v1", "anonymous")

    with pytest.raises(ImagePushError) as refused:
        push_image(docker_client.api, repository, "v1", auth=None)

    assert refused.value.repository == repository
    assert "basic auth credentials" in refused.value.detail
    docker_client.images.remove(f"{repository}:v1", force=True)


def test_push_with_a_wrong_password_is_refused(
    docker_client, testenv: TestEnvironment, registry: TestRegistry, tmp_path: Path
) -> None:
    from lunora_operator.images.push import RegistryAuth

    repository = registry.repository(f"e2e/wrongpw-{uuid.uuid4().hex[:8]}")
    build_message_image(docker_client, testenv, tmp_path, f"{repository}:v1", "wrong")

    with pytest.raises(ImagePushError) as refused:
        push_image(
            docker_client.api, repository, "v1", RegistryAuth(registry.auth.username, "not-the-password")
        )

    assert "not-the-password" not in str(refused.value)
    docker_client.images.remove(f"{repository}:v1", force=True)
