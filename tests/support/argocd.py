"""Argo CD's health check evaluation, for the chart's Lua: `tests/support/argocd_health` is a
small Go command over gopher-lua and gopher-json, the Lua VM and object decoding Argo CD uses."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).resolve().parent / "argocd_health"
HEALTH_LUA = (
    Path(__file__).resolve().parents[2] / "charts" / "lunora-operator" / "files" / "argocd-health.lua"
)


@dataclass(frozen=True)
class HealthCheck:
    binary: Path
    script: Path = HEALTH_LUA

    @classmethod
    def build(cls, directory: Path) -> HealthCheck:
        """`go build` of the command (modules from the Go module proxy, pinned by go.sum)."""
        binary = directory / "argocd-health"
        result = subprocess.run(
            ["go", "build", "-mod=readonly", "-o", str(binary), "."],
            cwd=SOURCE,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"building the Argo CD health command failed: {result.stderr.strip()}")
        return cls(binary=binary)

    def __call__(self, obj: dict[str, Any]) -> dict[str, str]:
        """{"status": ..., "message": ...} as Argo CD would show for `obj`."""
        result = subprocess.run(
            [str(self.binary), str(self.script)],
            input=json.dumps(obj),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"the health check failed: {result.stderr.strip()}")
        return json.loads(result.stdout)  # type: ignore[no-any-return]
