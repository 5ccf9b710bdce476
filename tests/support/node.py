"""The pinned Node tools (hack/node): wrangler for config validation, tsc for generated code."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TSCONFIG = """{
  "compilerOptions": {
    "target": "es2022",
    "module": "es2022",
    "moduleResolution": "bundler",
    "lib": ["es2022"],
    "types": ["@cloudflare/workers-types"],
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true
  },
  "include": ["**/*.ts"]
}
"""


@dataclass(frozen=True)
class NodeTools:
    root: Path
    state: Path

    @property
    def node_modules(self) -> Path:
        return self.root / "node_modules"

    def link_node_modules(self, directory: Path) -> None:
        """Lets wrangler's bundler and tsc resolve the cached packages from `directory`."""
        link = directory / "node_modules"
        if not link.exists():
            link.symlink_to(self.node_modules)

    def wrangler_dry_run(self, config: Path) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "CI": "true",
            "WRANGLER_SEND_METRICS": "false",
            "WRANGLER_HIDE_BANNER": "true",
            "WRANGLER_SEND_ERROR_REPORTS": "false",
            "XDG_CONFIG_HOME": str(self.state / "xdg"),
            "WRANGLER_LOG_PATH": str(self.state / "logs"),
            "WRANGLER_CACHE_DIR": str(self.state / "cache"),
            "TMPDIR": str(self.state),
        }
        result = subprocess.run(
            [
                str(self.node_modules / ".bin" / "wrangler"),
                "deploy",
                "--dry-run",
                "-c",
                str(config),
                "--outdir",
                str(self.state / "out"),
            ],
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
        return subprocess.CompletedProcess(
            result.args, result.returncode, ANSI.sub("", result.stdout), ANSI.sub("", result.stderr)
        )

    def tsc(self, project: Path) -> subprocess.CompletedProcess[str]:
        (project / "tsconfig.json").write_text(TSCONFIG)
        self.link_node_modules(project)
        return subprocess.run(
            [
                str(self.node_modules / ".bin" / "tsc"),
                "--noEmit",
                "-p",
                str(project / "tsconfig.json"),
                "--pretty",
                "false",
            ],
            cwd=project,
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
