"""A `git` build context: the tree of one commit (optionally one subdirectory of it), fetched
with the git CLI and exported without `.git`, with the file modes git records.

Branches and tags are resolved with `git ls-remote` first, so a caller can recognise a commit
it has already seen without fetching anything. A commit revision must be the full SHA: an
abbreviated one can become ambiguous, and servers only hand out commits by their full name.
"""

from __future__ import annotations

import asyncio
import os
import re
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

from lunora_operator.images.errors import ImageError, Reason, redact

FULL_SHA = re.compile(r"^([0-9a-f]{40}|[0-9a-f]{64})$")
LOOKS_LIKE_SHA = re.compile(r"^[0-9a-f]{4,63}$")
# A branch or tag name; refspec and revision syntax (`a:b`, `+x`, `x^`, `x~1`, `-opt`) is refused.
REVISION = re.compile(r"^(?!-)(?!.*\.\.)[^\s:~^?*\[\\]+$")
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)(://|::)")
SSH_ALIASES = {"git+ssh", "ssh+git"}
# git prints these when the revision, not the network, is the problem.
NOT_FOUND_MARKERS = ("couldn't find remote ref", "not our ref", "unadvertised object", "not a valid object")


@dataclass(frozen=True)
class GitSource:
    url: str
    revision: str | None = None
    """Branch, tag or full commit SHA; the remote's HEAD when None."""
    path: str | None = None
    """Subdirectory of the repository that is the context."""

    def describe(self) -> str:
        where = f" path {self.path}" if self.path else ""
        return f"git {redact_url(self.url)} at {self.revision or 'HEAD'}{where}"


@dataclass(frozen=True)
class ResolvedRevision:
    commit: str
    """The commit the revision names now."""
    fetch: str
    """What to fetch: the remote ref, or the commit itself."""


def url_protocol(url: str) -> str:
    """The transport git would use: `https`, `ssh` (also `user@host:path`), `file` for paths, …"""
    if match := SCHEME.match(url):
        scheme = match.group(1).lower()
        return "ssh" if scheme in SSH_ALIASES else scheme
    before_slash = url.split("/", 1)[0]
    return "ssh" if ":" in before_slash else "file"


def redact_url(url: str) -> str:
    """The URL without the credentials a `user:token@` part may carry."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    _, at, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"***@{host}")) if at else url


def url_secrets(url: str) -> list[str]:
    """Credentials inside a URL, to be kept out of messages: the password, and over http(s)
    the user part too (a token is often given as the user name)."""
    if "://" not in url:
        return []
    parts = urlsplit(url)
    secrets = [parts.password or ""]
    if url_protocol(url) in {"http", "https"}:
        secrets += [parts.netloc.rpartition("@")[0], parts.username or ""]
    return sorted((s for s in secrets if s), key=len, reverse=True)


def _refuse(message: str) -> ImageError:
    return ImageError(Reason.CONTEXT_UNAVAILABLE, message, retryable=False)


def validate_source(source: GitSource, protocols: Sequence[str]) -> None:
    """Refuses, before running git, what git would refuse or what must not run."""
    protocol = url_protocol(source.url)
    if protocol not in protocols:
        raise _refuse(
            f'`image.build.context.git.url` "{redact_url(source.url)}" uses the {protocol} protocol; '
            f"this operator allows {', '.join(protocols)}"
        )
    if source.url.startswith("-"):
        raise _refuse(f'`image.build.context.git.url` "{source.url}" is not a repository URL')
    revision = source.revision
    if revision is not None and not REVISION.fullmatch(revision):
        raise _refuse(
            f'`image.build.context.git.revision` "{revision}" must be a branch, a tag or a full commit SHA'
        )
    if source.path is not None:
        path = PurePosixPath(source.path)
        if path.is_absolute() or ".." in path.parts:
            raise _refuse(
                f'`image.build.context.git.path` "{source.path}" must be a relative path inside the repository'
            )


def pick_revision(source: GitSource, listing: str) -> ResolvedRevision:
    """Resolves a branch or tag from `git ls-remote` output the way git resolves a ref name
    (exact, refs/…, tags before branches); an annotated tag resolves to its commit."""
    refs: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, ref = line.partition("\t")
        if ref:
            refs[ref] = sha
    revision = source.revision or "HEAD"
    for candidate in (revision, f"refs/{revision}", f"refs/tags/{revision}", f"refs/heads/{revision}"):
        if candidate in refs:
            commit = refs.get(f"{candidate}^{{}}", refs[candidate])
            return ResolvedRevision(commit=commit, fetch=candidate)
    if LOOKS_LIKE_SHA.fullmatch(revision):
        raise _refuse(
            f'`image.build.context.git.revision` "{revision}" is not a branch or tag of '
            f"{redact_url(source.url)}; a commit must be given as its full 40-character SHA"
        )
    raise _refuse(
        f'`image.build.context.git.revision` "{revision}" is not a branch or tag of {redact_url(source.url)}'
    )


class Git:
    """Runs the git CLI without prompts and only over the allowed protocols."""

    def __init__(self, protocols: Sequence[str], timeout: float) -> None:
        self.protocols = tuple(protocols)
        self.timeout = timeout

    def _environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        environment.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_ALLOW_PROTOCOL=":".join(self.protocols),
            LC_ALL="C",
        )
        return environment

    async def run(self, source: GitSource, *args: str, cwd: Path | None = None) -> str:
        try:
            process = await asyncio.create_subprocess_exec(
                "git",
                *args,
                # Never inside whatever repository the operator happens to run in.
                cwd=cwd or Path("/"),
                env=self._environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            raise ImageError(
                Reason.CONTEXT_UNAVAILABLE,
                "the git CLI is not installed where the operator runs",
                retryable=False,
            ) from None
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), self.timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise ImageError(
                Reason.CONTEXT_UNAVAILABLE,
                f"git {args[0]} for {source.describe()} did not finish within {self.timeout:g}s",
                retryable=True,
            ) from None
        if process.returncode != 0:
            text = redact(stderr.decode(errors="replace"), url_secrets(source.url))
            raise ImageError(
                Reason.CONTEXT_UNAVAILABLE,
                f"git {args[0]} for {source.describe()} failed: {text}",
                retryable=not any(marker in text for marker in NOT_FOUND_MARKERS),
            )
        return stdout.decode(errors="replace")

    async def resolve(self, source: GitSource) -> ResolvedRevision:
        """The commit `source.revision` names now (a full SHA names itself)."""
        validate_source(source, self.protocols)
        if source.revision is not None and FULL_SHA.fullmatch(source.revision):
            return ResolvedRevision(commit=source.revision, fetch=source.revision)
        listing = await self.run(source, "ls-remote", "--end-of-options", source.url)
        return pick_revision(source, listing)

    async def export(
        self, source: GitSource, revision: ResolvedRevision, work_dir: Path, destination: Path
    ) -> str:
        """Fetches the revision into `work_dir` and writes its tree (or `source.path` of it)
        into `destination`; returns the commit exported."""
        repository = work_dir / "repository.git"
        await self.run(source, "init", "--quiet", "--bare", str(repository))
        await self.run(
            source,
            "fetch",
            "--quiet",
            "--depth=1",
            "--no-tags",
            "--end-of-options",
            source.url,
            revision.fetch,
            cwd=repository,
        )
        commit = (
            await self.run(source, "rev-parse", "--verify", "FETCH_HEAD^{commit}", cwd=repository)
        ).strip()
        subdirectory = PurePosixPath(source.path or ".").as_posix()
        tree = commit if subdirectory == "." else f"{commit}:{subdirectory}"
        archive = work_dir / "context.tar"
        try:
            await self.run(
                source,
                "archive",
                "--format=tar",
                f"--output={archive}",
                tree,
                cwd=repository,
            )
        except ImageError as error:
            if error.retryable:
                raise
            raise _refuse(
                f'`image.build.context.git.path` "{source.path}" is not a directory of '
                f"{redact_url(source.url)} at {source.revision or 'HEAD'} ({commit})"
            ) from None
        await asyncio.to_thread(_extract, archive, destination)
        return commit


def _extract(archive: Path, destination: Path) -> None:
    with tarfile.open(archive) as tar:
        # git writes only files, directories and symlinks from its own tree. The "tar" filter
        # refuses paths outside the destination and clears group/other write bits, so modes
        # are 0644/0755 whatever git's tar.umask; unlike "data" it keeps absolute symlinks,
        # which are ordinary inside an image.
        tar.extractall(destination, filter="tar")
    archive.unlink()
