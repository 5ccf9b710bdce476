"""`ensure_image`: from a `build` spec to an image in the registry, building and pushing only
what the registry does not already hold under the context's content tag."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.utils.build import match_tag

from lunora_operator.api.container import ImageBuild
from lunora_operator.images import metrics
from lunora_operator.images.build import build_image
from lunora_operator.images.build_root import resolve_build_path
from lunora_operator.images.config_map import write_config_map_context
from lunora_operator.images.engine import Engine, has_local_image
from lunora_operator.images.errors import ImageError, Reason
from lunora_operator.images.files import check_dockerfile, scan_context
from lunora_operator.images.git import Git, GitSource, ResolvedRevision
from lunora_operator.images.push import RegistryAuth, push_image
from lunora_operator.images.registry import RemoteImage, lookup
from lunora_operator.images.tag import context_tag, files_digest

LOGGER = logging.getLogger("lunora_operator.images")

CredentialsProvider = Callable[[], Awaitable[RegistryAuth]]
"""Mints short-lived push/pull credentials for the target registry (kept in memory only)."""
Log = logging.Logger | logging.LoggerAdapter[Any]
GitMemoKey = tuple[str, str, str, str]


@dataclass(frozen=True)
class ImageSettings:
    build_root: Path | None = None
    """Directory `path` contexts are relative to; None refuses `path` contexts."""
    work_dir: Path | None = None
    """Where ConfigMap and git contexts are written while in use (the system temp dir if None)."""
    git_protocols: tuple[str, ...] = ("https", "ssh")
    """Transports git may use (`file` only for tests and local setups)."""
    platform: str | None = "linux/amd64"
    """Build platform; Cloudflare runs linux/amd64 only."""
    git_timeout: float = 300.0
    docker_timeout: int = 1800
    """Seconds the SDK waits on one read; a silent `RUN` step must finish within it."""
    max_parallel_builds: int = 2
    docker_environment: Mapping[str, str] | None = None
    """Where DOCKER_HOST & co. are read from; the process environment if None."""
    git_memo_size: int = 1024
    """Git commits whose context digest is remembered, so a resync needs no fetch."""


@dataclass(frozen=True)
class BuiltImage:
    repository: str
    tag: str
    digest: str
    """Manifest digest, sha256:…"""
    built: bool
    pushed: bool

    @property
    def reference(self) -> str:
        """`repository:tag`, the content tag."""
        return f"{self.repository}:{self.tag}"

    @property
    def pinned_reference(self) -> str:
        """`repository@sha256:…`."""
        return f"{self.repository}@{self.digest}"


@dataclass(frozen=True)
class _Context:
    description: str
    files: str
    """files_digest of the context."""
    directory: Path | None
    """The context on disk; None when a git commit seen before gave `files` without a fetch."""
    git: tuple[GitSource, ResolvedRevision] | None = None


class _KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class ImagePipeline:
    """Builds and pushes `build` images. One per operator: it holds the engine connection,
    the per-reference locks, the build slots and the memo of git commits already seen."""

    def __init__(self, settings: ImageSettings | None = None, git: Git | None = None) -> None:
        """`git`: the git CLI runner (by default one over the settings' protocols and timeout)."""
        self.settings = settings or ImageSettings()
        self._engine = Engine(self.settings.docker_environment, self.settings.docker_timeout)
        self._git = git or Git(self.settings.git_protocols, self.settings.git_timeout)
        self._build_slots = asyncio.Semaphore(self.settings.max_parallel_builds)
        self._references = _KeyedLocks()
        self._git_files: OrderedDict[GitMemoKey, str] = OrderedDict()

    async def ensure_image(
        self,
        build: ImageBuild,
        repository: str,
        credentials: CredentialsProvider,
        *,
        config_map_files: Mapping[str, bytes] | None = None,
        logger: Log | None = None,
    ) -> BuiltImage:
        """Makes `repository:<content tag>` exist in the registry and returns it.

        Asks the registry first: an unchanged context is neither built nor pushed. A tag
        already built locally (after a failed push) is pushed without a rebuild.
        `config_map_files` are the files of a `configMap` context (`config_map_files()`).
        Milestones go to `logger`, engine output to this module's logger.
        Raises ImageError; exceptions from `credentials` pass through unchanged."""
        if not match_tag(f"{repository}:latest"):
            raise ValueError(f'"{repository}" is not a repository reference (see target_repository())')
        log = logger or LOGGER
        async with self._work_dir() as work:
            context = await self._open_context(build, config_map_files, work)
            tag = context_tag(context.files, build.dockerfile, build.build_args, self.settings.platform)
            reference = f"{repository}:{tag}"
            async with self._references.hold(reference):
                remote = await self._lookup(reference, await credentials())
                if remote.digest is not None:
                    log.debug("%s is in the registry (%s): no build, no push", reference, remote.digest)
                    return BuiltImage(repository, tag, remote.digest, built=False, pushed=False)
                if remote.refused:
                    log.info("the registry refused to look up %s (%s); pushing", reference, remote.refused)
                built = False
                if not await self._engine.run(has_local_image, reference):
                    directory = context.directory or await self._export_again(build, context, work)
                    await self._build(build, directory, reference, context.description, log)
                    built = True
                # Fresh credentials: a build can outlast short-lived ones.
                digest = await self._push(repository, tag, await credentials(), log)
                return BuiltImage(repository, tag, digest, built=built, pushed=True)

    async def close(self) -> None:
        await asyncio.to_thread(self._engine.close)

    # --- contexts ----------------------------------------------------------------------------

    async def _open_context(
        self, build: ImageBuild, config_map_files: Mapping[str, bytes] | None, work: Path
    ) -> _Context:
        source = build.context
        if source.config_map is not None:
            if config_map_files is None:
                raise ValueError("a configMap context needs config_map_files")
            name = source.config_map.name
            directory = work / "context"
            directory.mkdir()
            await asyncio.to_thread(write_config_map_context, name, config_map_files, directory)
            description = f'ConfigMap "{name}"'
            return _Context(description, await self._scan(build, directory, description), directory)
        if source.path is not None:
            directory = resolve_build_path(self.settings.build_root, source.path)
            description = f'path "{source.path}"'
            return _Context(description, await self._scan(build, directory, description), directory)
        if source.git is not None:
            git = GitSource(url=source.git.url, revision=source.git.revision, path=source.git.path)
            revision = await self._git.resolve(git)
            known = self._git_files.get(_memo_key(git, revision.commit, build))
            if known is not None:
                return _Context(git.describe(), known, None, (git, revision))
            directory, files = await self._export(build, git, revision, work)
            return _Context(git.describe(), files, directory, (git, revision))
        raise ValueError("a build context sets one of git, configMap or path")

    async def _scan(self, build: ImageBuild, directory: Path, description: str) -> str:
        check_dockerfile(directory, build.dockerfile, description)
        return files_digest(await asyncio.to_thread(scan_context, directory, build.dockerfile))

    async def _export(
        self, build: ImageBuild, git: GitSource, revision: ResolvedRevision, work: Path
    ) -> tuple[Path, str]:
        directory = work / "context"
        directory.mkdir()
        commit = await self._git.export(git, revision, work, directory)
        metrics.GIT_EXPORTS.inc()
        files = await self._scan(build, directory, git.describe())
        self._remember(_memo_key(git, commit, build), files)
        return directory, files

    async def _export_again(self, build: ImageBuild, context: _Context, work: Path) -> Path:
        """Fetches a git context that was recognised from the memo, now that it must be built."""
        if context.git is None:
            raise ValueError("only a git context is recognised without its files")
        directory, files = await self._export(build, *context.git, work)
        if files != context.files:  # the branch moved between ls-remote and fetch
            raise ImageError(
                Reason.CONTEXT_UNAVAILABLE,
                f"{context.description} changed while it was being fetched; trying again",
                retryable=True,
            )
        return directory

    def _remember(self, key: GitMemoKey, files: str) -> None:
        self._git_files[key] = files
        self._git_files.move_to_end(key)
        while len(self._git_files) > self.settings.git_memo_size:
            self._git_files.popitem(last=False)

    @asynccontextmanager
    async def _work_dir(self) -> AsyncIterator[Path]:
        path = await asyncio.to_thread(tempfile.mkdtemp, prefix="lunora-image-", dir=self.settings.work_dir)
        try:
            yield Path(path)
        finally:
            await asyncio.to_thread(shutil.rmtree, path, True)

    # --- engine and registry -----------------------------------------------------------------

    async def _lookup(self, reference: str, auth: RegistryAuth) -> RemoteImage:
        try:
            remote = await self._engine.run(lookup, reference, auth)
        except ImageError:
            metrics.LOOKUPS.labels(metrics.FAILED).inc()
            raise
        result = metrics.FOUND if remote.digest else metrics.REFUSED if remote.refused else metrics.MISSING
        metrics.LOOKUPS.labels(result).inc()
        return remote

    async def _build(
        self, build: ImageBuild, directory: Path, reference: str, description: str, log: Log
    ) -> None:
        async with self._build_slots:
            log.info("building %s from %s", reference, description)
            try:
                await self._engine.run(
                    build_image,
                    directory,
                    build.dockerfile,
                    reference,
                    build.build_args or {},
                    self.settings.platform,
                    lambda line: LOGGER.info("build %s: %s", reference, line),
                )
            except ImageError:
                metrics.BUILDS.labels(metrics.FAILED).inc()
                raise
            metrics.BUILDS.labels(metrics.SUCCEEDED).inc()

    async def _push(self, repository: str, tag: str, auth: RegistryAuth, log: Log) -> str:
        reference = f"{repository}:{tag}"
        try:
            result = await self._engine.run(
                push_image, repository, tag, auth, lambda line: LOGGER.info("push %s: %s", reference, line)
            )
        except ImageError:
            metrics.PUSHES.labels(metrics.FAILED).inc()
            raise
        metrics.PUSHES.labels(metrics.SUCCEEDED).inc()
        log.info("pushed %s (%s)", reference, result.digest)
        return result.digest


def _memo_key(git: GitSource, commit: str, build: ImageBuild) -> GitMemoKey:
    return (git.url, commit, git.path or "", build.dockerfile)
