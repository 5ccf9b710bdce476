"""Where the running test environment's settings are: hack/lib.sh alone decides."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def env_file() -> Path:
    """The env file testenv-up wrote for this environment (LUNORA_TESTENV_DIR, LUNORA_CACHE, …)."""
    directory = subprocess.run(
        [str(REPO_ROOT / "hack" / "testenv-dir.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()
    return Path(directory) / "env"
