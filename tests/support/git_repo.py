"""A throwaway git repository, for tests of git build contexts (offline and against the engine)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class GitRepo:
    """A throwaway repository built with the git CLI."""

    path: Path

    @classmethod
    def create(cls, path: Path) -> GitRepo:
        repo = cls(path)
        path.mkdir(parents=True)
        repo.git("init", "--quiet", "--initial-branch=main")
        repo.git("config", "user.email", "test@lunora.sh")
        repo.git("config", "user.name", "test")
        return repo

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=self.path, check=True, capture_output=True, text=True
        ).stdout.strip()

    def commit(self, files: dict[str, str], message: str = "change", executable: tuple[str, ...] = ()) -> str:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            target.chmod(0o755 if name in executable else 0o644)
        self.git("add", "--all")
        self.git("commit", "--quiet", "-m", message)
        return self.git("rev-parse", "HEAD")
