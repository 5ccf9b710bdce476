"""Git contexts: URL and revision rules, ref resolution, and real fetch + export from a local
repository through the git CLI (file:// — there is no network)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from lunora_operator.images.errors import ImageError, Reason
from lunora_operator.images.git import (
    Git,
    GitSource,
    pick_revision,
    redact_url,
    url_protocol,
    url_secrets,
    validate_source,
)
from tests.support.git_repo import GitRepo

LISTING = "\n".join(
    [
        "1111111111111111111111111111111111111111\tHEAD",
        "1111111111111111111111111111111111111111\trefs/heads/main",
        "2222222222222222222222222222222222222222\trefs/heads/v1",
        "3333333333333333333333333333333333333333\trefs/tags/v1",
        "4444444444444444444444444444444444444444\trefs/tags/v1^{}",
        "5555555555555555555555555555555555555555\trefs/tags/light",
    ]
)


@pytest.mark.parametrize(
    ("revision", "commit", "fetch"),
    [
        (None, "1" * 40, "HEAD"),
        ("main", "1" * 40, "refs/heads/main"),
        ("v1", "4" * 40, "refs/tags/v1"),  # tags before branches; annotated tags peel to the commit
        ("light", "5" * 40, "refs/tags/light"),
        ("refs/heads/v1", "2" * 40, "refs/heads/v1"),
        ("heads/v1", "2" * 40, "refs/heads/v1"),
    ],
)
def test_revisions_resolve_like_git_resolves_ref_names(revision: str | None, commit: str, fetch: str) -> None:
    resolved = pick_revision(GitSource("https://example.com/r.git", revision), LISTING)
    assert (resolved.commit, resolved.fetch) == (commit, fetch)


def test_an_abbreviated_commit_asks_for_the_full_sha() -> None:
    with pytest.raises(ImageError, match="full 40-character SHA") as refused:
        pick_revision(GitSource("https://example.com/r.git", "abc1234"), LISTING)
    assert not refused.value.retryable


def test_an_unknown_branch_is_not_retryable() -> None:
    with pytest.raises(
        ImageError, match=re.escape('"nope" is not a branch or tag of https://example.com/r.git')
    ) as refused:
        pick_revision(GitSource("https://example.com/r.git", "nope"), LISTING)
    assert refused.value.reason is Reason.CONTEXT_UNAVAILABLE
    assert not refused.value.retryable


@pytest.mark.parametrize(
    ("url", "protocol"),
    [
        ("https://github.com/acme/app.git", "https"),
        ("ssh://git@github.com/acme/app.git", "ssh"),
        ("git+ssh://git@github.com/acme/app.git", "ssh"),
        ("git@github.com:acme/app.git", "ssh"),
        ("file:///srv/app", "file"),
        ("/srv/app", "file"),
        ("ext::sh -c touch% /tmp/pwned", "ext"),
    ],
)
def test_url_protocols(url: str, protocol: str) -> None:
    assert url_protocol(url) == protocol


def test_credentials_in_urls_are_redacted() -> None:
    url = "https://x-access-token:ghp_secret@github.com/acme/app.git"
    assert redact_url(url) == "https://***@github.com/acme/app.git"
    assert "ghp_secret" in url_secrets(url)
    assert redact_url("git@github.com:acme/app.git") == "git@github.com:acme/app.git"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (GitSource("file:///srv/app"), "uses the file protocol; this operator allows https, ssh"),
        (GitSource("ext::sh -c id"), "uses the ext protocol"),
        (GitSource("https://h/r", "a:b"), "must be a branch, a tag or a full commit SHA"),
        (GitSource("https://h/r", "-upload-pack=x"), "must be a branch, a tag or a full commit SHA"),
        (GitSource("https://h/r", "main~1"), "must be a branch, a tag or a full commit SHA"),
        (GitSource("https://h/r", path="../up"), "must be a relative path inside the repository"),
        (GitSource("https://h/r", path="/abs"), "must be a relative path inside the repository"),
    ],
)
def test_sources_are_checked_before_git_runs(source: GitSource, message: str) -> None:
    with pytest.raises(ImageError, match=message) as refused:
        validate_source(source, ("https", "ssh"))
    assert not refused.value.retryable


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "origin")


def tree(root: Path) -> dict[str, tuple[int, str]]:
    """Relative path -> (permission bits, content or symlink target) of every file."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[relative] = (0o777, str(path.readlink()))
        elif path.is_file():
            found[relative] = (stat.S_IMODE(path.stat().st_mode), path.read_text())
    return found


async def export(git: Git, source: GitSource, tmp_path: Path, name: str) -> tuple[str, Path]:
    work = tmp_path / name
    destination = work / "context"
    destination.mkdir(parents=True)
    revision = await git.resolve(source)
    commit = await git.export(source, revision, work, destination)
    return commit, destination


async def test_export_at_a_tag_a_commit_and_a_branch(repo: GitRepo, tmp_path: Path) -> None:
    first = repo.commit({"Dockerfile": "FROM base\n", "run.sh": "v1\n"}, executable=("run.sh",))
    repo.git("tag", "-a", "v1", "-m", "release 1")
    (repo.path / "latest").symlink_to("run.sh")
    (repo.path / "shell").symlink_to("/bin/busybox")  # absolute links are fine inside an image
    second = repo.commit({"run.sh": "v2\n"}, executable=("run.sh",))
    git = Git(("file",), timeout=60)

    at_tag, tagged = await export(git, GitSource(repo.url, "v1"), tmp_path, "tag")
    at_commit, committed = await export(git, GitSource(repo.url, first), tmp_path, "commit")
    at_branch, branch = await export(git, GitSource(repo.url, "main"), tmp_path, "branch")
    at_head, head = await export(git, GitSource(repo.url), tmp_path, "head")

    assert (at_tag, at_commit, at_branch, at_head) == (first, first, second, second)
    assert (
        tree(tagged) == tree(committed) == {"Dockerfile": (0o644, "FROM base\n"), "run.sh": (0o755, "v1\n")}
    )
    assert (
        tree(branch)
        == tree(head)
        == {
            "Dockerfile": (0o644, "FROM base\n"),
            "latest": (0o777, "run.sh"),
            "run.sh": (0o755, "v2\n"),
            "shell": (0o777, "/bin/busybox"),
        }
    )
    assert not (branch / ".git").exists()


async def test_export_of_a_subdirectory(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit(
        {"README": "top\n", "services/web/Dockerfile": "FROM base\n", "services/web/app.txt": "web\n"}
    )
    _, context = await export(
        Git(("file",), 60), GitSource(repo.url, "main", "services/web"), tmp_path, "sub"
    )
    assert tree(context) == {"Dockerfile": (0o644, "FROM base\n"), "app.txt": (0o644, "web\n")}


async def test_a_missing_subdirectory_is_not_retryable(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"Dockerfile": "FROM base\n"})
    with pytest.raises(
        ImageError, match=re.escape('`image.build.context.git.path` "nope" is not a directory')
    ) as refused:
        await export(Git(("file",), 60), GitSource(repo.url, "main", "nope"), tmp_path, "x")
    assert not refused.value.retryable


async def test_an_unknown_commit_is_not_retryable(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"Dockerfile": "FROM base\n"})
    with pytest.raises(ImageError, match=r"git fetch .* failed") as refused:
        await export(Git(("file",), 60), GitSource(repo.url, "f" * 40), tmp_path, "x")
    assert not refused.value.retryable


async def test_an_unreachable_repository_is_retryable(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"git ls-remote for git file://.* failed") as refused:
        await Git(("file",), 60).resolve(GitSource((tmp_path / "missing").as_uri(), "main"))
    assert refused.value.retryable


async def test_git_itself_refuses_protocols_that_are_not_allowed(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"Dockerfile": "FROM base\n"})
    git = Git(("https",), 60)
    source = GitSource(repo.url, "main")
    with pytest.raises(ImageError, match="transport 'file' not allowed"):
        # Past the up-front check, GIT_ALLOW_PROTOCOL still stops git.
        await git.run(source, "ls-remote", source.url)
