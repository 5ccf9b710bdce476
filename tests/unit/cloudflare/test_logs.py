"""What the libraries under the layer log: one line per HTTP request only at DEBUG, and never a
request body."""

from __future__ import annotations

import logging

import pytest

from lunora_operator.cloudflare import AccountClient
from lunora_operator.testing import FakeCloudflare

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
