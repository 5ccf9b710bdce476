"""`ensure_image` against the real Docker engine and the real test registry: contexts from a
ConfigMap, a git repository and the build root; content tags that make an unchanged resync a
no-op; and the errors the `ImageReady` condition shows."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import tarfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path, PurePosixPath

import httpx
import pytest

from lunora_operator.api.container import ImageBuild
from lunora_operator.images import (
    ImageCounts,
    ImageError,
    ImagePipeline,
    ImageSettings,
    Reason,
    RegistryAuth,
    target_repository,
)
from lunora_operator.images.git import Git, GitSource, ResolvedRevision
from lunora_operator.testing.environment import TestEnvironment
from tests.support.git_repo import GitRepo
from tests.support.registry import TestRegistry

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


class Credentials:
    """The injected provider: counts how often credentials were minted."""

    def __init__(self, auth: RegistryAuth) -> None:
        self.auth = auth
        self.calls = 0

    async def __call__(self) -> RegistryAuth:
        self.calls += 1
        return self.auth


@pytest.fixture
def repository(registry: TestRegistry, docker_client) -> Iterator[str]:
    """A fresh `<registry>/<accountId>/<repo>`; every local image under it is removed after."""
    name = target_repository(registry.address, uuid.uuid4().hex, f"e2e-Image-{uuid.uuid4().hex[:8]}")
    yield name
    for image in docker_client.images.list(name=name):
        docker_client.images.remove(image.id, force=True)


@pytest.fixture
async def pipeline(testenv: TestEnvironment, tmp_path: Path) -> AsyncIterator[ImagePipeline]:
    settings = ImageSettings(
        build_root=tmp_path / "build-root",
        git_protocols=("file",),
        docker_environment={"DOCKER_HOST": testenv.docker_host},
    )
    images = ImagePipeline(settings)
    yield images
    await images.close()


@pytest.fixture
def credentials(registry: TestRegistry) -> Credentials:
    return Credentials(registry.auth)


def config_map_build(build_args: dict[str, str] | None = None, dockerfile: str = "Dockerfile") -> ImageBuild:
    spec: dict = {"context": {"configMap": {"name": "web-context"}}, "dockerfile": dockerfile}
    if build_args is not None:
        spec["buildArgs"] = build_args
    return ImageBuild.model_validate(spec)


def context_files(testenv: TestEnvironment, message: str = "hello") -> dict[str, bytes]:
    dockerfile = (
        f"FROM {testenv.base_image}\n"
        "ARG GREETING=unset\n"
        "COPY message.txt /message.txt\n"
        'RUN echo "$GREETING" > /greeting\n'
    )
    return {"Dockerfile": dockerfile.encode(), "message.txt": message.encode()}


def registry_digest(registry: TestRegistry, repository: str, tag: str) -> str:
    """The manifest digest the registry itself reports (not the engine)."""
    name = repository.removeprefix(f"{registry.address}/")
    response = httpx.get(
        f"http://{registry.address}/v2/{name}/manifests/{tag}",
        auth=(registry.auth.username, registry.auth.password),
        headers={"Accept": MANIFEST_V2},
    )
    response.raise_for_status()
    return response.headers["Docker-Content-Digest"]


def read_file(docker_client, reference: str, path: str) -> str:
    """A file of the image, copied out of a created (never started) container: reading the
    logs of a short-lived `cat` races with the engine's log copier."""
    container = docker_client.containers.create(reference, labels={"lunora.sh/test": "true"})
    try:
        chunks, _ = container.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as archive:
            member = archive.extractfile(PurePosixPath(path).name)
            assert member is not None, f"{path} is not a file in {reference}"
            return member.read().decode()
    finally:
        container.remove(force=True)


async def test_a_config_map_context_is_built_pushed_and_then_left_alone(
    pipeline: ImagePipeline,
    credentials: Credentials,
    repository: str,
    testenv,
    registry,
    docker_client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    build = config_map_build({"GREETING": "hi from build args"})
    files = context_files(testenv, "hello from the ConfigMap")
    before = ImageCounts.read()
    caplog.set_level(logging.DEBUG)

    image = await pipeline.ensure_image(build, repository, credentials, config_map_files=files)

    assert (image.built, image.pushed) == (True, True)
    assert image.reference == f"{repository}:{image.tag}"
    assert image.tag.startswith("ctx-")
    assert image.pinned_reference == f"{repository}@{image.digest}"
    assert registry_digest(registry, repository, image.tag) == image.digest
    assert read_file(docker_client, image.reference, "/message.txt") == "hello from the ConfigMap"
    assert read_file(docker_client, image.reference, "/greeting") == "hi from build args\n"
    assert ImageCounts.read() - before == ImageCounts(builds=1, pushes=1, lookups=1, git_exports=0)
    assert credentials.calls == 2  # one for the lookup, a fresh one for the push
    logged = [record.getMessage() for record in caplog.records]
    assert f'build {image.reference}: Step 4/4 : RUN echo "$GREETING" > /greeting' in logged
    assert f"pushed {image.reference} ({image.digest})" in logged
    assert not [line for line in logged if registry.auth.password in line]

    # A resync with the same context: the registry has the tag, so no build and no push.
    again = await pipeline.ensure_image(build, repository, credentials, config_map_files=dict(files))
    assert again == type(image)(repository, image.tag, image.digest, built=False, pushed=False)
    assert ImageCounts.read() - before == ImageCounts(builds=1, pushes=1, lookups=2, git_exports=0)

    # The registry, not the local engine, is what counts: without the local image, still nothing.
    docker_client.images.remove(image.reference, force=True)
    third = await pipeline.ensure_image(build, repository, credentials, config_map_files=files)
    assert (third.digest, third.built, third.pushed) == (image.digest, False, False)
    assert (ImageCounts.read() - before).builds == 1


async def test_a_changed_file_or_build_arg_changes_the_tag(
    pipeline: ImagePipeline, credentials: Credentials, repository: str, testenv, docker_client
) -> None:
    build = config_map_build({"GREETING": "one"})
    first = await pipeline.ensure_image(
        build, repository, credentials, config_map_files=context_files(testenv, "a")
    )
    changed_file = await pipeline.ensure_image(
        build, repository, credentials, config_map_files=context_files(testenv, "b")
    )
    changed_arg = await pipeline.ensure_image(
        config_map_build({"GREETING": "two"}),
        repository,
        credentials,
        config_map_files=context_files(testenv, "a"),
    )

    assert len({first.tag, changed_file.tag, changed_arg.tag}) == 3
    assert all(image.built and image.pushed for image in (changed_file, changed_arg))
    assert read_file(docker_client, changed_file.reference, "/message.txt") == "b"
    assert read_file(docker_client, changed_arg.reference, "/greeting") == "two\n"


@pytest.fixture
def origin(tmp_path: Path, testenv: TestEnvironment) -> tuple[GitRepo, str, str]:
    """A repository with tag v1 (the first commit) and a later commit on main; each commit
    has a root Dockerfile and a `services/web` subdirectory with its own."""
    repo = GitRepo.create(tmp_path / "origin")
    root = f"FROM {testenv.base_image}\nCOPY version.txt /version.txt\n"
    web = f"FROM {testenv.base_image}\nCOPY page.html /www/page.html\n"
    files = {"Dockerfile": root, "services/web/Dockerfile": web}
    first = repo.commit({**files, "version.txt": "v1", "services/web/page.html": "<p>one</p>"})
    repo.git("tag", "-a", "v1", "-m", "release 1")
    second = repo.commit({**files, "version.txt": "v2", "services/web/page.html": "<p>two</p>"})
    return repo, first, second


def git_build(url: str, revision: str | None = None, path: str | None = None) -> ImageBuild:
    git = {"url": url, **({"revision": revision} if revision else {}), **({"path": path} if path else {})}
    return ImageBuild.model_validate({"context": {"git": git}})


async def test_git_contexts_at_a_tag_a_commit_a_branch_and_a_subdirectory(
    pipeline: ImagePipeline, credentials: Credentials, repository: str, origin, registry, docker_client
) -> None:
    repo, first, _ = origin
    before = ImageCounts.read()

    at_tag = await pipeline.ensure_image(git_build(repo.url, "v1"), repository, credentials)
    assert read_file(docker_client, at_tag.reference, "/version.txt") == "v1"
    assert registry_digest(registry, repository, at_tag.tag) == at_tag.digest

    # The same tree by its commit SHA: same content tag, already in the registry.
    at_commit = await pipeline.ensure_image(git_build(repo.url, first), repository, credentials)
    assert (at_commit.reference, at_commit.built, at_commit.pushed) == (at_tag.reference, False, False)

    at_branch = await pipeline.ensure_image(git_build(repo.url, "main"), repository, credentials)
    at_head = await pipeline.ensure_image(git_build(repo.url), repository, credentials)
    assert at_branch.tag != at_tag.tag
    assert read_file(docker_client, at_branch.reference, "/version.txt") == "v2"
    assert (at_head.reference, at_head.built) == (at_branch.reference, False)

    web = await pipeline.ensure_image(git_build(repo.url, "v1", "services/web"), repository, credentials)
    assert read_file(docker_client, web.reference, "/www/page.html") == "<p>one</p>"
    assert (ImageCounts.read() - before).builds == 3

    # A resync of a commit seen before needs only `git ls-remote`: no fetch, build or push.
    exports = ImageCounts.read().git_exports
    again = await pipeline.ensure_image(git_build(repo.url, "main"), repository, credentials)
    assert (again.reference, again.built, again.pushed) == (at_branch.reference, False, False)
    assert ImageCounts.read().git_exports == exports


def delete_from_registry(registry: TestRegistry, repository: str, digest: str) -> None:
    name = repository.removeprefix(f"{registry.address}/")
    response = httpx.delete(
        f"http://{registry.address}/v2/{name}/manifests/{digest}",
        auth=(registry.auth.username, registry.auth.password),
    )
    response.raise_for_status()


async def test_a_remembered_git_commit_is_fetched_again_when_its_image_is_gone(
    pipeline: ImagePipeline, credentials: Credentials, repository: str, origin, registry, docker_client
) -> None:
    repo, _, _ = origin
    build = git_build(repo.url, "main")
    image = await pipeline.ensure_image(build, repository, credentials)
    delete_from_registry(registry, repository, image.digest)
    docker_client.images.remove(image.reference, force=True)
    exports = ImageCounts.read().git_exports

    again = await pipeline.ensure_image(build, repository, credentials)

    assert (again.reference, again.built, again.pushed) == (image.reference, True, True)
    assert ImageCounts.read().git_exports == exports + 1
    assert read_file(docker_client, again.reference, "/version.txt") == "v2"


class LateLookup(Git):
    """The real git CLI, except that once told, `ls-remote` answers with where main was a
    moment ago (the race cannot be timed against a real remote)."""

    seen_at: str | None = None

    async def resolve(self, source: GitSource) -> ResolvedRevision:
        if self.seen_at is not None:
            return ResolvedRevision(commit=self.seen_at, fetch="refs/heads/main")
        return await super().resolve(source)


async def test_a_branch_that_moves_during_the_fetch_is_retried(
    pipeline: ImagePipeline, credentials: Credentials, repository: str, origin, registry, docker_client
) -> None:
    repo, first, _ = origin
    lookup = LateLookup(pipeline.settings.git_protocols, pipeline.settings.git_timeout)
    raced = ImagePipeline(pipeline.settings, git=lookup)
    try:
        image = await raced.ensure_image(git_build(repo.url, first), repository, credentials)
        delete_from_registry(registry, repository, image.digest)
        docker_client.images.remove(image.reference, force=True)

        # ls-remote saw main at the first commit, which the pipeline remembers; by the fetch,
        # main has moved on to the second.
        lookup.seen_at = first
        with pytest.raises(ImageError, match="changed while it was being fetched") as moved:
            await raced.ensure_image(git_build(repo.url, "main"), repository, credentials)
    finally:
        await raced.close()
    assert moved.value.retryable
    assert not docker_client.images.list(name=repository)


async def test_a_path_context_under_the_build_root(
    pipeline: ImagePipeline, credentials: Credentials, repository: str, testenv, docker_client
) -> None:
    service = pipeline.settings.build_root / "services" / "api"
    service.mkdir(parents=True)
    (service / "Dockerfile").write_text(f"FROM {testenv.base_image}\nCOPY . /srv/\n")
    (service / "app.txt").write_text("api")
    build = ImageBuild.model_validate({"context": {"path": "services/api"}})

    image = await pipeline.ensure_image(build, repository, credentials)

    assert read_file(docker_client, image.reference, "/srv/app.txt") == "api"


async def test_a_failing_dockerfile_step_is_named_and_not_retryable(
    pipeline: ImagePipeline, credentials: Credentials, repository: str, testenv
) -> None:
    files = {"Dockerfile": f"FROM {testenv.base_image}\nRUN echo about to fail && exit 3\n".encode()}
    before = ImageCounts.read()

    with pytest.raises(ImageError) as failed:
        await pipeline.ensure_image(config_map_build(), repository, credentials, config_map_files=files)

    assert failed.value.reason is Reason.BUILD_FAILED
    assert not failed.value.retryable
    assert 'at "Step 2/2 : RUN echo about to fail && exit 3"' in failed.value.message
    assert "returned a non-zero code: 3" in failed.value.message
    assert ImageCounts.read() - before == ImageCounts(builds=1, pushes=0, lookups=1, git_exports=0)


async def test_a_wrong_registry_password_fails_the_push_with_the_registry_text(
    pipeline: ImagePipeline, repository: str, testenv, registry: TestRegistry
) -> None:
    wrong = Credentials(RegistryAuth(registry.auth.username, "not-the-password"))
    files = context_files(testenv)

    with pytest.raises(ImageError) as refused:
        await pipeline.ensure_image(config_map_build(), repository, wrong, config_map_files=files)

    assert refused.value.reason is Reason.PUSH_FAILED
    assert refused.value.retryable
    assert "unauthorized: authentication required" in refused.value.message
    assert "not-the-password" not in refused.value.message

    # With working credentials the image built before is pushed, not rebuilt.
    fixed = await pipeline.ensure_image(
        config_map_build(), repository, Credentials(registry.auth), config_map_files=files
    )
    assert (fixed.built, fixed.pushed) == (False, True)
    assert registry_digest(registry, repository, fixed.tag) == fixed.digest


async def test_an_unreachable_engine_is_retryable(
    credentials: Credentials, repository: str, testenv, tmp_path: Path
) -> None:
    bogus = "tcp://127.0.0.1:1"
    images = ImagePipeline(ImageSettings(docker_environment={"DOCKER_HOST": bogus}))

    with pytest.raises(ImageError) as failed:
        await images.ensure_image(
            config_map_build(), repository, credentials, config_map_files=context_files(testenv)
        )

    assert failed.value.reason is Reason.DOCKER_UNAVAILABLE
    assert failed.value.retryable
    assert f"cannot reach the Docker engine at {bogus}" in failed.value.message


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_unreachable_registry_is_retryable(
    pipeline: ImagePipeline, credentials: Credentials, testenv
) -> None:
    repository = target_repository(f"127.0.0.1:{closed_port()}", uuid.uuid4().hex, "nowhere")
    with pytest.raises(ImageError) as failed:
        await pipeline.ensure_image(
            config_map_build(), repository, credentials, config_map_files=context_files(testenv)
        )
    assert failed.value.reason is Reason.REGISTRY_UNAVAILABLE
    assert failed.value.retryable
    assert "connection refused" in failed.value.message


async def test_concurrent_requests_for_one_context_build_and_push_once(
    pipeline: ImagePipeline, credentials: Credentials, repository: str, testenv
) -> None:
    files = context_files(testenv, "concurrent")
    before = ImageCounts.read()

    images = await asyncio.gather(
        *(
            pipeline.ensure_image(config_map_build(), repository, credentials, config_map_files=files)
            for _ in range(3)
        )
    )

    assert len({image.pinned_reference for image in images}) == 1
    assert sorted(image.pushed for image in images) == [False, False, True]
    assert ImageCounts.read() - before == ImageCounts(builds=1, pushes=1, lookups=3, git_exports=0)
