"""The secret-leak scan (tests.support.leak_scan) finds a planted leak wherever the operator could
put one, in any encoding, and names it without printing the value."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import httpx
import pytest
from kubernetes import client

from lunora_operator.cloudflare import CloudflareClients
from lunora_operator.testing import FakeCloudflare
from lunora_operator.testing.environment import TestEnvironment
from tests.support.kube import KubeClients, Kubectl
from tests.support.leak_scan import Leak, find_leaks, scan

pytest_plugins = ["tests.support.operator_fixtures"]

PLANTED = "planted-s3cret-Value/42"


def test_every_encoding_is_found_and_short_values_are_not_looked_for() -> None:
    quoted = 'a "quoted" s3cret'
    secrets = {"Secret ns/a key k": PLANTED, "Secret ns/b key k": quoted, "Secret ns/c key k": "short"}
    artifacts = [
        ("log", f"line one\nerror: token {PLANTED} refused\n"),
        ("event", "x " + base64.b64encode(PLANTED.encode()).decode()),
        ("url", "GET /x?name=" + urllib.parse.quote(PLANTED, safe="")),
        ("body", json.dumps({"v": quoted})),
        ("clean", "nothing here; short short short"),
    ]

    leaks = find_leaks(secrets, artifacts)

    assert leaks == [
        Leak("Secret ns/a key k", "log line 2", "plain"),
        Leak("Secret ns/a key k", "event line 1", "base64"),
        Leak("Secret ns/a key k", "url line 1", "url-quoted"),
        Leak("Secret ns/b key k", "body line 1", "json-escaped"),
    ]
    assert all(PLANTED not in str(leak) and quoted not in str(leak) for leak in leaks)


@pytest.mark.apiserver
async def test_a_leak_planted_in_each_place_is_reported(
    kube: KubeClients,
    kubectl: Kubectl,
    namespace: str,
    testenv: TestEnvironment,
    tmp_path: Path,
    installed_crds: None,
) -> None:
    kubectl.apply(
        f"apiVersion: v1\nkind: Secret\nmetadata: {{name: planted}}\nstringData: {{value: {PLANTED}}}\n",
        "-n",
        namespace,
    )
    # The places, each holding the value in another form.
    log = tmp_path / "operator.log"
    log.write_text(f"[INFO] fine\nTraceback:\n  RuntimeError: bad token {PLANTED}\n")
    kube.core.create_namespaced_config_map(
        namespace,
        client.V1ConfigMap(metadata=client.V1ObjectMeta(name="out"), data={"wrangler.jsonc": f'"{PLANTED}"'}),
    )
    kube.core.create_namespaced_event(
        namespace,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name="planted.1"),
            involved_object=client.V1ObjectReference(kind="ConfigMap", name="out", namespace=namespace),
            reason="Planted",
            message="auth " + base64.b64encode(PLANTED.encode()).decode(),
            type="Warning",
        ),
    )
    kubectl.apply(
        "apiVersion: lunora.sh/v1alpha1\nkind: LunoraApp\nmetadata: {name: demo}\n"
        "spec:\n  workerName: demo\n  cloudflare:\n    accountId: 0123456789abcdef0123456789abcdef\n"
        "    apiTokenSecretRef: {name: planted, key: value}\n",
        "-n",
        namespace,
    )
    condition = {
        "type": "Ready",
        "status": "False",
        "reason": "AuthFailed",
        "message": f"token {PLANTED} refused",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    kube.custom.patch_namespaced_custom_object_status(
        "lunora.sh", "v1alpha1", namespace, "lunoraapps", "demo", {"status": {"conditions": [condition]}}
    )
    async with FakeCloudflare() as fake:
        clients = CloudflareClients()
        account = clients.for_account(fake.account_id, "a-token-of-the-test", base_url=fake.base_url)
        await account.scripts.upload("demo", _worker())
        await account.secrets.put("demo", "API_KEY", PLANTED)  # recorded as "<redacted>": no leak
        async with httpx.AsyncClient() as http:  # a request that carries it in the query
            await http.get(
                f"{fake.base_url}/accounts/{fake.account_id}/containers/applications",
                params={"name": PLANTED},
                headers={"Authorization": "Bearer t"},
            )
        await clients.aclose()

        leaks = scan(kube, namespace, testenv, [log], [fake])

    found = {(leak.where.split(" line ")[0], leak.form) for leak in leaks}
    assert found == {
        (f"operator log {log}", "plain"),
        (f"ConfigMap {namespace}/out", "plain"),
        (f"Event {namespace}/planted.1", "base64"),
        (f"lunoraapps {namespace}/demo", "plain"),
        (f"{fake!r} request 2 (applications.list)", "plain"),
    }
    assert {leak.secret for leak in leaks} == {f"Secret {namespace}/planted key value"}
    assert all(PLANTED not in str(leak) for leak in leaks)


def _worker():  # type: ignore[no-untyped-def]
    from tests.support.cloudflare import worker_upload

    return worker_upload(["Web"])
