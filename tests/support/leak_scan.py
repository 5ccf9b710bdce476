"""The secret-leak scan: no Secret value reaches an operator log, an Event, a status, a ConfigMap
or the fake Cloudflare's records.

Every test that starts a `lunora-operator run` process (tests.support.operator registers each one)
is scanned when it ends, before its namespace goes: the values of every Secret in the namespace,
the test registry's password and the fakes' tokens are looked for — as written, base64-encoded,
URL-quoted and JSON-escaped — in

- every operator log the test produced (exception texts and tracebacks included),
- the namespace's Events, ConfigMaps, LunoraApps and LunoraContainers (whole objects: status,
  kopf's annotations) and kopf peering objects,
- every FakeCloudflare started during the test: its recorded requests (a secret-put body is
  recorded as "<redacted>") and its state snapshot.

A leak fails the test; the report names the Secret (namespace/name/key) and where its value was
found, never the value. `leak_scan` is an autouse fixture of `tests.support.operator_fixtures`;
the session ends with one line counting what was scanned.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.environment import TestEnvironment
from tests.support import operator as operator_support
from tests.support.kube import KubeClients

MIN_SECRET_LENGTH = 6
"""Shorter values would match by chance; tests use longer ones."""
SCANNED_KINDS = (
    ("lunora.sh", "v1alpha1", "lunoraapps"),
    ("lunora.sh", "v1alpha1", "lunoracontainers"),
    ("kopf.dev", "v1", "kopfpeerings"),
)


@dataclass(frozen=True)
class Leak:
    secret: str
    """Where the value comes from ("Secret ns/name key k"), never the value."""
    where: str
    form: str
    """How it was written: plain, base64, url-quoted, json-escaped."""

    def __str__(self) -> str:
        return f"{self.secret} found {self.form} in {self.where}"


@dataclass
class ScanTotals:
    tests: int = 0
    artifacts: int = 0
    secrets: int = 0
    leaks: list[str] = field(default_factory=list)


def encoded_forms(value: str) -> dict[str, str]:
    """The ways a value shows up in text: as is, base64 (Secret data, docker auth headers),
    URL-quoted (query strings) and JSON-escaped (serialised bodies)."""
    raw = value.encode()
    forms = {
        "plain": value,
        "base64": base64.b64encode(raw).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "url-quoted": urllib.parse.quote(value, safe=""),
        "json-escaped": json.dumps(value)[1:-1],
    }
    unique: dict[str, str] = {}
    for form, text in forms.items():
        if text not in unique.values():
            unique[form] = text
    return unique


def find_leaks(secrets: Mapping[str, str], artifacts: Iterable[tuple[str, str]]) -> list[Leak]:
    """`secrets`: description -> value; `artifacts`: (where, text). One leak per secret and line
    (its first form in `encoded_forms` order). Values shorter than MIN_SECRET_LENGTH are not
    looked for."""
    patterns = [
        (description, form, text)
        for description, value in secrets.items()
        if len(value) >= MIN_SECRET_LENGTH
        for form, text in encoded_forms(value).items()
    ]
    leaks: list[Leak] = []
    for where, text in artifacts:
        for number, line in enumerate(text.splitlines(), start=1):
            found: set[str] = set()
            for description, form, pattern in patterns:
                if description not in found and pattern in line:
                    found.add(description)
                    leaks.append(Leak(description, f"{where} line {number}", form))
    return leaks


# --- what one test leaves behind -----------------------------------------------------------------


def namespace_secrets(kube: KubeClients, namespace: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for secret in kube.core.list_namespaced_secret(namespace).items:
        if secret.type == "kubernetes.io/service-account-token":
            continue
        for key, encoded in (secret.data or {}).items():
            value = base64.b64decode(encoded).decode(errors="replace")
            found[f"Secret {namespace}/{secret.metadata.name} key {key}"] = value
    return found


def known_secrets(
    kube: KubeClients, namespace: str | None, testenv: TestEnvironment, fakes: Iterable[FakeCloudflare]
) -> dict[str, str]:
    found = {"the test registry's password": testenv.registry_password}
    for fake in fakes:
        token = getattr(fake, "_token", None)
        if token:
            found[f"the token {fake!r} accepts"] = token
    if namespace is not None:
        found.update(namespace_secrets(kube, namespace))
    return found


def namespace_artifacts(kube: KubeClients, namespace: str) -> Iterator[tuple[str, str]]:
    api = kube.api
    for event in kube.core.list_namespaced_event(namespace).items:
        yield f"Event {namespace}/{event.metadata.name}", json.dumps(api.sanitize_for_serialization(event))
    for config_map in kube.core.list_namespaced_config_map(namespace).items:
        yield (
            f"ConfigMap {namespace}/{config_map.metadata.name}",
            json.dumps(api.sanitize_for_serialization(config_map), indent=1),
        )
    for group, version, plural in SCANNED_KINDS:
        try:
            listed = kube.custom.list_namespaced_custom_object(group, version, namespace, plural)
        except ApiException as error:
            if error.status == 404:  # that kind is not installed
                continue
            raise
        for item in listed["items"]:
            yield f"{plural} {namespace}/{item['metadata']['name']}", json.dumps(item, indent=1)


def log_artifacts(paths: Iterable[Path]) -> Iterator[tuple[str, str]]:
    for path in paths:
        if path.exists():
            yield f"operator log {path}", path.read_text(errors="replace")


def fake_artifacts(fakes: Iterable[FakeCloudflare]) -> Iterator[tuple[str, str]]:
    for fake in fakes:
        for index, record in enumerate(fake.requests()):
            yield (
                f"{fake!r} request {index} ({record.operation})",
                json.dumps([record.method, record.path, record.query, record.body], default=str),
            )
        yield f"{fake!r} state", json.dumps(fake.snapshot(), indent=1, default=str)


def scan(
    kube: KubeClients,
    namespace: str | None,
    testenv: TestEnvironment,
    logs: Iterable[Path],
    fakes: Iterable[FakeCloudflare],
    totals: ScanTotals | None = None,
) -> list[Leak]:
    fakes = list(fakes)
    secrets = known_secrets(kube, namespace, testenv, fakes)
    artifacts = [
        *log_artifacts(logs),
        *fake_artifacts(fakes),
        *(namespace_artifacts(kube, namespace) if namespace is not None else ()),
    ]
    if totals is not None:
        totals.artifacts += len(artifacts)
        totals.secrets += len(secrets)
    return find_leaks(secrets, artifacts)


# --- the fixture ----------------------------------------------------------------------------------

TOTALS = ScanTotals()


@pytest.fixture(autouse=True)
def leak_scan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Scans what a test that ran the operator left behind (see the module's docstring)."""
    if "namespace" not in request.fixturenames:  # no operator process runs without one
        yield
        return
    namespace: str = request.getfixturevalue("namespace")
    kube: KubeClients = request.getfixturevalue("kube")
    testenv: TestEnvironment = request.getfixturevalue("testenv")
    logs_before = len(operator_support.STARTED_LOGS)
    fakes: list[FakeCloudflare] = []
    start = FakeCloudflare.start

    async def tracked_start(fake: FakeCloudflare) -> None:
        fakes.append(fake)
        await start(fake)

    monkeypatch.setattr(FakeCloudflare, "start", tracked_start)
    yield
    logs = list(dict.fromkeys(operator_support.STARTED_LOGS[logs_before:]))
    if not logs:
        return
    TOTALS.tests += 1
    leaks = scan(kube, namespace, testenv, logs, fakes, TOTALS)
    TOTALS.leaks += [f"{request.node.nodeid}: {leak}" for leak in leaks]
    assert not leaks, "secret values leaked:\n" + "\n".join(str(leak) for leak in leaks)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TOTALS.tests:
        terminalreporter.write_line(
            f"leak scan: {TOTALS.tests} test(s) that ran the operator, {TOTALS.artifacts} artifacts, "
            f"{TOTALS.secrets} secret values looked for, {len(TOTALS.leaks)} leak(s)"
        )
