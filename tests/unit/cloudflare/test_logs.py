"""No secret leaves the layer, and what the libraries under it log: the token and secret values never appear in reprs, errors or logs (the SDK's request bodies are redacted), and one line per HTTP request only at DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest

from lunora_operator.cloudflare import AccountClient, CloudflareClients, CloudflareError, RetryPolicy
from lunora_operator.testing import FakeCloudflare, Fault, RegistryConfig
from tests.support.cloudflare import SCRIPT, deployed_namespace, desired, observed

pytest_plugins = ["tests.support.cloudflare_fixtures"]


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage().startswith("HTTP Request:")]


async def test_http_request_lines_are_not_logged_at_info(
    fake: FakeCloudflare, account: AccountClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    await account.applications.find("demo-web")

    assert request_lines(caplog) == []


async def test_http_request_lines_are_debug_lines(
    fake: FakeCloudflare, account: AccountClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    await account.applications.find("demo-web")

    (line,) = request_lines(caplog)
    assert line.levelno == logging.DEBUG
    assert "GET" in line.getMessage()


TOKEN = "tok-SCAN-1f2e3d4c5b6a7988"


SECRET_VALUES = ("s3cret-VALUE-one-9c8b7a", "postgres://app:p4ss-WORD-42@db/prod")


REGISTRY_PASSWORD = "reg-PASS-77aa88bb99"


NEEDLES = (TOKEN, *SECRET_VALUES, REGISTRY_PASSWORD)


@pytest.fixture
async def scanned_fake() -> AsyncIterator[FakeCloudflare]:
    registry = RegistryConfig(host="127.0.0.1:1", username="pusher", password=REGISTRY_PASSWORD)
    async with FakeCloudflare(token=TOKEN, registry=registry) as fake:
        yield fake


async def test_nothing_secret_leaks(scanned_fake: FakeCloudflare, caplog: pytest.LogCaptureFixture) -> None:
    fake = scanned_fake
    for name in (None, "cloudflare", "httpx", "httpcore", "lunora_operator"):
        caplog.set_level(logging.DEBUG, logger=name)
    texts: list[str] = []
    clients = CloudflareClients(retry=RetryPolicy(deadline=1.0, initial_backoff=0.01, max_backoff=0.05))
    account = clients.for_account(fake.account_id, TOKEN, base_url=fake.base_url)
    texts += [repr(clients), repr(account), str(account.sdk.base_url)]

    namespace_id = await deployed_namespace(account)
    await account.applications.create(desired(), namespace_id)
    await account.applications.update(
        await observed(account, desired(image="registry.cloudflare.com/acct/web:2"), namespace_id)
    )
    await account.secrets.put(SCRIPT, "API_KEY", SECRET_VALUES[0])
    fake.inject("workers.scripts.secrets.update", Fault.server_error(500, times=1))
    await account.secrets.put(SCRIPT, "DB_URL", SECRET_VALUES[1])
    credentials = await account.registry.credentials("127.0.0.1:1")
    assert credentials.password == REGISTRY_PASSWORD
    texts += [repr(credentials), str(credentials)]

    failures: list[BaseException] = []
    fake.inject("workers.scripts.secrets.update", Fault.server_error(503, times=None))
    with pytest.raises(CloudflareError) as failed_put:
        await account.secrets.put(SCRIPT, "API_KEY", SECRET_VALUES[0])
    failures.append(failed_put.value)
    fake.clear_faults()
    fake.inject("workers.scripts.secrets.update", Fault.dropped(times=None))
    with pytest.raises(CloudflareError) as dropped_put:
        await account.secrets.put(SCRIPT, "API_KEY", SECRET_VALUES[0])
    failures.append(dropped_put.value)
    fake.clear_faults()
    wrong = clients.for_account(fake.account_id, TOKEN + "-rotated", base_url=fake.base_url)
    with pytest.raises(CloudflareError) as refused:
        await wrong.secrets.put(SCRIPT, "API_KEY", SECRET_VALUES[0])
    failures.append(refused.value)
    await clients.aclose()

    for failure in failures:
        texts += [str(failure), repr(failure), repr(failure.__cause__), repr(failure.__context__)]
    texts += [record.getMessage() for record in caplog.records]
    texts += [caplog.text]
    texts += [json.dumps([record.__dict__ for record in fake.requests()], default=str)]
    texts += [json.dumps(fake.snapshot(), default=str), repr(fake)]
    texts += [json.dumps(fake.script(SCRIPT), default=str)]

    assert any("Request options" in record.getMessage() for record in caplog.records), (
        "SDK debug log not captured"
    )
    assert fake.secret_value(SCRIPT, "DB_URL") == SECRET_VALUES[1]
    for text in texts:
        for needle in NEEDLES:
            assert needle not in text, f"{needle!r} leaked into {text[:200]!r}"
    puts = fake.requests("workers.scripts.secrets.update")
    assert len(puts) >= 4
    assert {put.body["text"] for put in puts if put.body} == {"<redacted>"}
