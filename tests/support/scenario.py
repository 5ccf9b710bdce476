"""One app with a registry-image container (`web`, with a Worker secret) and a container built
from a ConfigMap context (`job`), and the checks of the fault suite: the end state Cloudflare, the
registry and the resources hold, and that nothing was done twice."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import docker

from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.environment import TestEnvironment
from lunora_operator.wrangler.document import open_document
from tests.support.operator import Resources, container_manifest, demo_app_manifest, wait_for

TOKEN = "fault-suite-api-token-5e1d0c"
API_KEY = "fault-suite-web-api-key-93ab7f"
CLASSES = {"web": "WebContainer", "job": "JobContainer", "api": "ApiContainer"}


@dataclass
class Scenario:
    resources: Resources
    fake: FakeCloudflare
    testenv: TestEnvironment
    registry: str
    """Where `job` is pushed: the test registry, or a proxy in front of it."""
    started: float = 0.0
    """Engine events before this time are not this test's."""

    def __post_init__(self) -> None:
        self.started = time.time()

    # --- what is applied ----------------------------------------------------------------------------

    def apply_app(self) -> None:
        self.resources.apply(f"""
apiVersion: v1
kind: Secret
metadata: {{name: cf-token}}
stringData: {{token: {TOKEN}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: web-keys}}
stringData: {{api: {API_KEY}}}
---
{demo_app_manifest(self.fake, registry=self.registry)}""")

    def apply_web(self, **spec: Any) -> None:
        body = {
            "app": "demo",
            "image": {"registry": "docker.io/acme/web:1.0"},
            "maxInstances": 2,
            "secrets": [
                {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "web-keys", "key": "api"}}}
            ],
            **spec,
        }
        self.resources.apply(container_manifest("web", body))

    def apply_api(self) -> None:
        """A registry-image container without secrets."""
        body = {"app": "demo", "image": {"registry": "docker.io/acme/api:1.0"}, "maxInstances": 1}
        self.resources.apply(container_manifest("api", body))

    def apply_job(self) -> None:
        """A context no earlier test built (the namespace is in its page), so it is built and
        pushed exactly once in this test."""
        context = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "job-context"},
            "data": {
                "Dockerfile": 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n',
                "index.html": f"<p>job of {self.resources.namespace}</p>\n",
            },
        }
        body = {
            "app": "demo",
            "image": {
                "build": {
                    "context": {"configMap": {"name": "job-context"}},
                    "buildArgs": {"BASE_IMAGE": self.testenv.base_image},
                }
            },
            "maxInstances": 1,
        }
        self.resources.apply(json.dumps(context) + "\n---\n" + container_manifest("job", body))

    def roll_out_web(self, image: str = "docker.io/acme/web:2.0", **spec: Any) -> None:
        """Changes web's image (and `spec`) and waits until Cloudflare's application has it."""
        self.resources.patch("lunoracontainer", "web", {"spec": {**spec, "image": {"registry": image}}})

        def rolled_out() -> bool:
            application = self.fake.application("demo-webcontainer")
            return application is not None and application["configuration"]["image"] == image

        wait_for("the rollout", rolled_out)

    def wait_ready(self, *containers: str, timeout: float = 120) -> dict[str, dict[str, Any]]:
        found = {
            name: self.resources.wait_condition("lunoracontainer", name, timeout=timeout)
            for name in containers
        }
        self.resources.wait_condition("lunoraapp", "demo", timeout=timeout)
        return found

    # --- what Cloudflare, the registry and the engine say -----------------------------------------

    @property
    def job_repository(self) -> str:
        return f"{self.registry}/{self.fake.account_id}/demo-jobcontainer"

    def engine_events(self, action: str, prefix: str) -> list[str]:
        """Image events (`push`, `tag`) of the Docker engine for references starting with `prefix`
        since the scenario began: one `push` per push, one `tag` per build."""
        client = docker.DockerClient(base_url=self.testenv.docker_host)
        try:
            events = client.events(
                since=int(self.started) - 1,
                until=int(time.time()) + 1,
                filters={"type": "image", "event": action},
                decode=True,
            )
            names = [_event_name(event) for event in events]
        finally:
            client.close()
        return [name for name in names if name.startswith(prefix)]

    def successful(self, operation: str) -> list[Any]:
        """Requests Cloudflare carried out (an answer lost afterwards counts: the change was made)."""
        return [r for r in self.fake.requests(operation) if 200 <= r.status < 300]


def _event_name(event: Mapping[str, Any]) -> str:
    """The reference an image event is about: `id` for a push, the `name` attribute for a tag."""
    if event.get("Action") == "push":
        return str(event.get("id"))
    return str((event.get("Actor") or {}).get("Attributes", {}).get("name"))


@contextmanager
def on_engine_event(
    testenv: TestEnvironment, action: str, prefix: str, react: Callable[[], None]
) -> Iterator[threading.Event]:
    """Runs `react` the moment the Docker engine reports an image `action` (`tag` ends a build,
    `push` a push) for a reference starting with `prefix`; the event returned is set after it.
    Reacting in the watching thread keeps the gap to the operator's next move to a minimum."""
    client = docker.DockerClient(base_url=testenv.docker_host)
    stream = client.events(filters={"type": "image", "event": action}, decode=True)
    done = threading.Event()

    def watch() -> None:
        with contextlib.suppress(Exception):  # the stream is closed under it at the end
            for event in stream:
                if _event_name(event).startswith(prefix):
                    react()
                    done.set()
                    return

    watcher = threading.Thread(target=watch, name=f"engine {action} events", daemon=True)
    watcher.start()
    try:
        yield done
    finally:
        stream.close()
        client.close()


# --- the end-state checks ---------------------------------------------------------------------------


def assert_exactly_once(scenario: Scenario, containers: Iterable[str], *, built: bool | None = None) -> None:
    """The end state of the fault suite: each container Ready with exactly one application
    (created once), its status naming that application; the Worker's migrations a single chain
    declaring each class once and deleting it at most once, in the ConfigMap and on Cloudflare
    alike; `job`'s image pushed
    exactly once (and built at most once) when it is among `containers`."""
    fake, resources = scenario.fake, scenario.resources
    containers = sorted(containers)
    names = {container: f"demo-{CLASSES[container].lower()}" for container in containers}
    applications = Counter(app["name"] for app in fake.applications())
    assert applications == Counter(names.values()), f"applications on Cloudflare: {dict(applications)}"
    creates = Counter(r.body["name"] for r in scenario.successful("applications.create"))
    assert all(creates[name] == 1 for name in names.values()), f"applications created: {dict(creates)}"
    for container, name in names.items():
        resource = resources.wait_condition("lunoracontainer", container, timeout=60)
        application = fake.application(name)
        assert application is not None
        assert resource["status"]["applicationId"] == application["id"]
        assert resource["status"]["image"]["ref"] == application["configuration"]["image"]
    resources.wait_condition("lunoraapp", "demo", timeout=60)

    # Migrations: one chain of uploads, each class declared once.
    chain: list[str | None] = [None]
    declared: list[str] = []
    deleted: list[str] = []
    for upload in scenario.successful("workers.scripts.update"):
        migrations = (upload.body.get("metadata") or {}).get("migrations")
        if migrations is None:
            continue
        assert migrations.get("old_tag") == chain[-1], (
            f"upload with old_tag {migrations.get('old_tag')} after {chain}"
        )
        chain.append(migrations["new_tag"])
        declared += [c for step in migrations["steps"] for c in step.get("new_sqlite_classes", [])]
        deleted += [c for step in migrations["steps"] for c in step.get("deleted_classes", [])]
    assert sorted(declared) == sorted(set(declared)), f"classes declared twice on Cloudflare: {declared}"
    assert sorted(deleted) == sorted(set(deleted)), f"classes deleted twice on Cloudflare: {deleted}"
    script = fake.script("demo")
    assert script is not None
    assert script["migration_tag"] == chain[-1]
    config = resources.config_map("demo-wrangler")["wrangler.jsonc"]
    history = json.loads(json.dumps(open_document(config, "jsonc").get(["migrations"])))
    in_config = [c for entry in history for c in entry.get("new_sqlite_classes", [])]
    assert sorted(in_config) == sorted(set(in_config)), f"classes declared twice in the config: {history}"
    gone = [c for entry in history for c in entry.get("deleted_classes", [])]
    assert sorted(gone) == sorted(set(gone)), f"classes deleted twice in the config: {history}"
    assert sorted(gone) == sorted(deleted)
    assert {CLASSES[c] for c in containers} <= set(in_config)
    assert history[-1]["tag"] == script["migration_tag"]
    assert set(fake.namespaces("demo")) >= {CLASSES[c] for c in containers}

    if "job" in containers:
        reference = resources.get("lunoracontainer", "job")["status"]["image"]["ref"]  # type: ignore[index]
        assert reference.startswith(scenario.job_repository + ":ctx-")
        wait_for("the push event", lambda: scenario.engine_events("push", reference), timeout=10)
        pushes = scenario.engine_events("push", reference)
        assert pushes == [reference], f"pushes of {reference}: {pushes}"
        builds = scenario.engine_events("tag", reference)
        assert len(builds) <= 1, f"builds of {reference}: {builds}"
        if built is not None:
            assert len(builds) == int(built)
