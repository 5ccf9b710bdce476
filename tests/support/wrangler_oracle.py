"""The real `wrangler deploy` (pinned 4.86.0) against a FakeCloudflare, and the Cloudflare state
it leaves, read on a fixed list of fields so the operator's can be compared with it.

wrangler runs headless: no TTY, CI on, metrics and the banner's update check off (both would
reach the internet), a token and account id from the environment, the fake as its API, the test
registry as Cloudflare's container registry, and its own HOME, cache and docker config.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.environment import TestEnvironment
from tests.support.node import ANSI

# wrangler builds with `--load` and `--provenance=false`, which Debian's docker 20.10 (no buildx)
# refuses; the daemon's own BuildKit needs neither. `manifest inspect` needs `--insecure` for a
# plain-HTTP registry, or wrangler would push an unchanged image again under a new tag.
DOCKER_SHIM = """#!/bin/bash
real=${REAL_DOCKER:-/usr/bin/docker}
if [[ "$1" == build ]]; then
  shift; args=()
  for a in "$@"; do case "$a" in --load|--provenance=false) ;; *) args+=("$a") ;; esac; done
  DOCKER_BUILDKIT=1 exec "$real" build "${args[@]}"
fi
if [[ "$1" == manifest && "$2" == inspect ]]; then shift 2; exec "$real" manifest inspect --insecure "$@"; fi
exec "$real" "$@"
"""
TOKEN = "wrangler-oracle-token-61c0d2"


@dataclass
class Wrangler:
    """`wrangler deploy` of one project directory against one fake."""

    testenv: TestEnvironment
    fake: FakeCloudflare
    state: Path
    """wrangler's HOME, cache, logs and docker config."""

    def __post_init__(self) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.shim = self.state / "docker-shim"
        self.shim.write_text(DOCKER_SHIM)
        self.shim.chmod(0o755)

    def environment(self) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.state / "home"),
            "XDG_CONFIG_HOME": str(self.state / "xdg"),
            "WRANGLER_CACHE_DIR": str(self.state / "cache"),
            "WRANGLER_LOG_PATH": str(self.state / "logs"),
            "CI": "true",
            "WRANGLER_SEND_METRICS": "false",
            "WRANGLER_HIDE_BANNER": "true",
            "WRANGLER_SEND_ERROR_REPORTS": "false",
            "CLOUDFLARE_API_BASE_URL": self.fake.base_url,
            "CLOUDFLARE_API_TOKEN": TOKEN,
            "CLOUDFLARE_ACCOUNT_ID": self.fake.account_id,
            "CLOUDFLARE_CONTAINER_REGISTRY": self.testenv.registry,
            "DOCKER_HOST": self.testenv.docker_host,
            "DOCKER_CONFIG": str(self.state / "docker"),
            "WRANGLER_DOCKER_BIN": str(self.shim),
        }

    def deploy(self, project: Path, config: str = "wrangler.jsonc") -> subprocess.CompletedProcess[str]:
        """Runs the deploy; fails the test (with wrangler's output) unless it succeeds."""
        binary = self.testenv.node_tools / "node_modules" / ".bin" / "wrangler"
        result = subprocess.run(
            [str(binary), "deploy", "-c", str(project / config)],
            cwd=project,
            env=self.environment(),
            text=True,
            capture_output=True,
            timeout=300,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        output = ANSI.sub("", result.stdout + result.stderr)
        assert result.returncode == 0, f"wrangler deploy failed ({result.returncode}):\n{output[-6000:]}"
        return subprocess.CompletedProcess(result.args, result.returncode, output, "")


# --- what a deploy may be answered ---------------------------------------------------------------


def refused_requests(fake: FakeCloudflare, since: int = 0) -> list[str]:
    """Requests the fake refused (from the `since`-th recorded on), except wrangler's reads of a
    Worker that does not exist yet (10007 is how wrangler learns that a first deploy is one)."""
    first_deploy_reads = (
        "workers.services.get",
        "workers.scripts.deployments.list",
        "workers.scripts.settings.get",
    )
    refused = []
    for request in fake.requests()[since:]:
        if request.status < 400:
            continue
        if request.status == 404 and request.operation in first_deploy_reads:
            continue
        refused.append(f"{request.status} {request.method} {request.path}: {json.dumps(request.body)[:600]}")
    return refused


# --- the Cloudflare state on a fixed list of fields ------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One compared fact: `name` as printed, read from a fake."""

    name: str
    read: Callable[[FakeCloudflare], Any]


@dataclass
class Comparison:
    fields: list[Field]
    operator: dict[str, Any] = field(default_factory=dict)
    wrangler: dict[str, Any] = field(default_factory=dict)

    def problems(self) -> list[str]:
        found = []
        for compared in self.fields:
            ours, theirs = self.operator[compared.name], self.wrangler[compared.name]
            if ours is None or theirs is None:
                side = (
                    "either side"
                    if ours is None and theirs is None
                    else "operator"
                    if ours is None
                    else "wrangler"
                )
                found.append(f"{compared.name}: missing on {side} (operator {ours!r}, wrangler {theirs!r})")
            elif ours != theirs:
                found.append(f"{compared.name}: operator {ours!r} != wrangler {theirs!r}")
        return found

    def table(self, title: str) -> str:
        lines = [f"{title}: {len(self.fields)} fields compared (operator == wrangler)"]
        for compared in self.fields:
            ours, theirs = self.operator[compared.name], self.wrangler[compared.name]
            mark = "==" if ours == theirs and ours is not None else "!="
            lines.append(f"  {mark} {compared.name}: {json.dumps(ours, sort_keys=True, default=str)}")
            if mark == "!=":
                lines.append(f"     wrangler: {json.dumps(theirs, sort_keys=True, default=str)}")
        return "\n".join(lines)


def compare(fields: Sequence[Field], operator: FakeCloudflare, wrangler: FakeCloudflare) -> Comparison:
    result = Comparison(list(fields))
    for compared in fields:
        result.operator[compared.name] = compared.read(operator)
        result.wrangler[compared.name] = compared.read(wrangler)
    return result


def _application(fake: FakeCloudflare, name: str) -> Mapping[str, Any]:
    return fake.application(name) or {}


def _namespace_class(fake: FakeCloudflare, namespace_id: str | None) -> str | None:
    by_id = {ns_id: name for name, ns_id in fake.namespaces().items()}
    return by_id.get(namespace_id or "")


def _size(configuration: Mapping[str, Any]) -> list[Any] | None:
    disk = configuration.get("disk") or {}
    size = [configuration.get("vcpu"), configuration.get("memory_mib"), disk.get("size_mb")]
    return None if None in size else size


def repository(image: str | None) -> str | None:
    """The reference without its tag (a build's tag is the builder's: content digest or version)."""
    if image is None:
        return None
    name = image.split("@", 1)[0]
    return name[: name.rfind(":")] if name.rfind(":") > name.rfind("/") else name


def application_fields(name: str, *, built: bool = False) -> list[Field]:
    """The application `name` as it is stored. `built`: its image is compared by repository."""

    def configuration(fake: FakeCloudflare) -> Mapping[str, Any]:
        return _application(fake, name).get("configuration") or {}

    def image(fake: FakeCloudflare) -> str | None:
        found = configuration(fake).get("image")
        return repository(found) if built else found

    return [
        Field(
            f"application {name}: exists once",
            lambda f: [a["name"] for a in f.applications()].count(name) == 1 or None,
        ),
        Field(f"application {name}: configuration.image{' (repository)' if built else ''}", image),
        Field(
            f"application {name}: configuration size (vcpu, memory_mib, disk.size_mb)",
            lambda f: _size(configuration(f)),
        ),
        Field(
            f"application {name}: configuration.observability",
            lambda f: configuration(f).get("observability"),
        ),
        Field(f"application {name}: max_instances", lambda f: _application(f, name).get("max_instances")),
        Field(f"application {name}: instances", lambda f: _application(f, name).get("instances")),
        Field(f"application {name}: constraints", lambda f: _application(f, name).get("constraints")),
        Field(
            f"application {name}: scheduling_policy", lambda f: _application(f, name).get("scheduling_policy")
        ),
        Field(
            f"application {name}: rollout_active_grace_period",
            lambda f: _application(f, name).get("rollout_active_grace_period"),
        ),
        Field(
            f"application {name}: Durable Object namespace (script.class)",
            lambda f: _namespace_class(
                f, (_application(f, name).get("durable_objects") or {}).get("namespace_id")
            ),
        ),
    ]


def rollout_fields(name: str, *, built: bool = False) -> list[Field]:
    """The application's latest rollout."""

    def latest(fake: FakeCloudflare) -> Mapping[str, Any]:
        app = _application(fake, name)
        rollouts = fake.rollouts(app["id"]) if app else []
        return rollouts[-1] if rollouts else {}

    def target(fake: FakeCloudflare) -> Mapping[str, Any] | None:
        found = latest(fake).get("target_configuration")
        if found is None:
            return None
        return {
            "image": repository(found.get("image")) if built else found.get("image"),
            "size": _size(found),
            "observability": found.get("observability"),
        }

    return [
        Field(f"rollout of {name}: kind", lambda f: latest(f).get("kind")),
        Field(f"rollout of {name}: strategy", lambda f: latest(f).get("strategy")),
        Field(
            f"rollout of {name}: step percentages",
            lambda f: [s["step_size"]["percentage"] for s in latest(f).get("steps") or []] or None,
        ),
        Field(f"rollout of {name}: target configuration", target),
        Field(f"rollout of {name}: status", lambda f: latest(f).get("status")),
    ]


def _metadata(fake: FakeCloudflare, script: str) -> Mapping[str, Any]:
    return (fake.script(script) or {}).get("metadata") or {}


def applied_migrations(fake: FakeCloudflare, script: str) -> list[Any] | None:
    """The migration steps Cloudflare applied to the Worker, in order, over all its uploads."""
    steps: list[Any] = []
    for upload in fake.requests("workers.scripts.update"):
        if upload.status == 200 and upload.path.endswith(f"/workers/scripts/{script}"):
            steps += ((upload.body.get("metadata") or {}).get("migrations") or {}).get("steps") or []
    return steps or None


def worker_fields(script: str) -> list[Field]:
    def bindings(fake: FakeCloudflare) -> list[Any] | None:
        found = _metadata(fake, script).get("bindings")
        if found is None:
            return None
        return sorted((b.get("name"), b.get("type"), b.get("class_name")) for b in found)

    def main_part(fake: FakeCloudflare) -> str | None:
        stored = fake.script(script) or {}
        main = _metadata(fake, script).get("main_module")
        return (stored.get("parts") or {}).get(main)

    return [
        Field("worker: main module", lambda f: _metadata(f, script).get("main_module")),
        Field("worker: multipart part of the main module", main_part),
        Field("worker: Durable Object bindings (name, type, class)", bindings),
        Field("worker: containers", lambda f: _metadata(f, script).get("containers")),
        Field("worker: migration tag", lambda f: (f.script(script) or {}).get("migration_tag")),
        Field("worker: migration steps applied, in order", lambda f: applied_migrations(f, script)),
        Field("worker: Durable Object classes", lambda f: sorted(f.namespaces(script)) or None),
        Field("worker: compatibility_date", lambda f: _metadata(f, script).get("compatibility_date")),
        Field("worker: compatibility_flags", lambda f: _metadata(f, script).get("compatibility_flags")),
        Field("worker: observability", lambda f: _metadata(f, script).get("observability")),
    ]


def fields_of(
    script: str, applications: Iterable[str], built: Iterable[str] = (), rollouts: Iterable[str] = ()
) -> list[Field]:
    built = set(built)
    found = worker_fields(script)
    for name in applications:
        found += application_fields(name, built=name in built)
    for name in rollouts:
        found += rollout_fields(name, built=name in built)
    return found


def project_files(directory: Path, files: Mapping[str, str]) -> None:
    for relative, text in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def environment_ready(testenv: TestEnvironment) -> None:
    """The tier needs the pinned wrangler and a docker CLI for the Dockerfile container."""
    binary = testenv.node_tools / "node_modules" / ".bin" / "wrangler"
    assert binary.exists(), f"the pinned wrangler is missing at {binary}: run hack/node-setup.sh"
    assert os.access("/usr/bin/docker", os.X_OK), "the docker CLI (/usr/bin/docker) is missing"
