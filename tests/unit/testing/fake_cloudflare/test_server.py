"""FakeCloudflare as users run it: in their event loop, in a thread for sync code, and on its own
as `lunora-operator fake-cloudflare`; v4 envelope, pagination, auth and unknown routes."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import cloudflare
import httpx
import pytest

from lunora_operator.cloudflare import CloudflareClients
from lunora_operator.testing import FakeCloudflare
from tests.support.cloudflare import TOKEN

CLI = Path(sys.executable).with_name("lunora-operator")

pytest_plugins = ["tests.support.cloudflare_fixtures"]


def test_thread_mode_serves_sync_clients_and_other_threads() -> None:
    with FakeCloudflare(token=TOKEN) as fake:
        namespaces = fake.deploy_worker("demo", ["Web"])
        sync_client = cloudflare.Cloudflare(api_token=TOKEN, base_url=fake.base_url, max_retries=0)
        sync_client.containers.applications.create(
            account_id=fake.account_id,
            name="from-sync",
            scheduling_policy="default",
            instances=0,
            max_instances=1,
            configuration={"image": "registry.cloudflare.com/acct/web:1", "instance_type": "lite"},
            durable_objects={"namespace_id": namespaces["Web"]},
        )
        sync_client.close()

        observed: list[object] = []

        def operator_thread() -> None:
            async def run() -> None:
                clients = CloudflareClients()
                account = clients.for_account(fake.account_id, TOKEN, base_url=fake.base_url)
                observed.append(await account.applications.find("from-sync"))
                await clients.aclose()

            asyncio.run(run())

        thread = threading.Thread(target=operator_thread)
        thread.start()
        thread.join(30)

        assert fake.application("from-sync") is not None
        assert len(observed) == 1
        assert getattr(observed[0], "instance_type", None) == "lite"
    with pytest.raises(httpx.ConnectError):
        httpx.get(fake.base_url + "/accounts/x/workers/scripts", headers={"Authorization": f"Bearer {TOKEN}"})


async def test_envelope_and_sdk_pagination(fake: FakeCloudflare) -> None:
    namespaces = fake.deploy_worker("demo", [f"C{index}" for index in range(5)])
    client = cloudflare.AsyncCloudflare(api_token=TOKEN, base_url=fake.base_url, max_retries=0)
    try:
        for index, namespace_id in enumerate(namespaces.values()):
            await client.containers.applications.create(
                account_id=fake.account_id,
                name=f"app-{index}",
                scheduling_policy="default",
                instances=0,
                max_instances=1,
                configuration={"image": "registry.cloudflare.com/acct/web:1", "instance_type": "lite"},
                durable_objects={"namespace_id": namespace_id},
            )
        fake.clear_requests()
        names = [
            app.name
            async for app in client.containers.applications.list(account_id=fake.account_id, per_page=2)
        ]
        namespace_pages = [
            ns.class_
            async for ns in client.durable_objects.namespaces.list(account_id=fake.account_id, per_page=2)
        ]
        raw = await client.get(f"/accounts/{fake.account_id}/workers/scripts", cast_to=httpx.Response)
    finally:
        await client.close()
    assert names == [f"app-{index}" for index in range(5)]
    assert [record.query.get("page_token") is not None for record in fake.requests("applications.list")] == [
        False,
        True,
        True,
    ]
    assert sorted(namespace_pages) == sorted(namespaces)
    envelope = raw.json()
    assert envelope["success"] is True
    assert envelope["errors"] == []
    assert envelope["messages"] == []
    assert envelope["result"][0]["id"] == "demo"


async def test_unknown_routes_and_missing_tokens_answer_in_the_envelope(fake: FakeCloudflare) -> None:
    async with httpx.AsyncClient() as client:
        unknown = await client.get(fake.base_url + "/accounts/x/nothing-here")
        anonymous = await client.get(fake.base_url + f"/accounts/{fake.account_id}/workers/scripts")
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["code"] == 7000
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "success": False,
        "errors": [{"code": 10000, "message": "Authentication error"}],
        "messages": [],
        "result": None,
    }


def test_injecting_into_an_unknown_operation_is_an_error(fake: FakeCloudflare) -> None:
    from lunora_operator.testing import Fault

    with pytest.raises(ValueError, match=r"unknown operation 'applications\.craete'"):
        fake.inject("applications.craete", Fault.dropped())


async def test_standalone_command_with_token_and_registry(tmp_path: Path) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("registry-password\n")
    process = await asyncio.create_subprocess_exec(
        str(CLI),
        "fake-cloudflare",
        "--port",
        "0",
        "--token",
        TOKEN,
        "--registry",
        "127.0.0.1:15999",
        "--registry-user",
        "pusher",
        "--registry-password-file",
        str(password_file),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        base_url = line.split(" at ")[1].split(" ")[0]
        account_id = line.split("(account ")[1].split(")")[0]
        clients = CloudflareClients()
        account = clients.for_account(account_id, TOKEN, base_url=base_url)
        credentials = await account.registry.credentials()
        assert await account.applications.find("nothing") is None
        await clients.aclose()
        async with httpx.AsyncClient() as client:
            state = (await client.get(base_url.removesuffix("/client/v4") + "/__fake__/state")).json()
            refused = await client.get(
                base_url + f"/accounts/{account_id}/workers/scripts",
                headers={"Authorization": "Bearer other"},
            )
    finally:
        process.terminate()
        await process.wait()
    assert (credentials.registry_host, credentials.username, credentials.password) == (
        "127.0.0.1:15999",
        "pusher",
        "registry-password",
    )
    assert state == {account_id: {"applications": [], "rollouts": {}, "scripts": {}, "namespaces": []}}
    assert refused.status_code == 401


def test_standalone_registry_needs_user_and_password() -> None:
    from typer.testing import CliRunner

    from lunora_operator.cli import app

    result = CliRunner().invoke(app, ["fake-cloudflare", "--registry", "127.0.0.1:15999"])

    assert result.exit_code == 2
    assert "--registry needs --registry-user and" in result.output
