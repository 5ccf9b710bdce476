"""The proxy in-process, in front of local test servers; the client connects from 127.0.0.1,
which the directory gives to one instance Pod."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from lunora_operator.local.egress.instances import RuleChange
from tests.unit.local.egress.support import Harness, declared, harness, pod


@pytest.fixture
async def proxy(tmp_path: Any) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as running:
        yield running


async def get(
    h: Harness, url: str, tls: ssl.SSLContext | None = None, method: str = "GET", data: bytes | None = None
) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, url, proxy=h.proxy_url, ssl=tls if tls is not None else True, data=data
        ) as response,
    ):
        return response.status, await response.text()


def add(h: Harness, uid: str = "u1", **rules: Any) -> None:
    h.directory.apply("ADDED", pod(uid, "127.0.0.1", annotations=declared(**rules)))


async def test_internet_off_and_no_lists_is_refused_with_cloudflares_answer(proxy: Harness) -> None:
    add(proxy, enable_internet=False)
    assert await get(proxy, f"http://other.test:{proxy.http_port}/x") == (520, "Origin is disallowed")


async def test_an_allowed_request_reaches_its_host_with_path_method_and_body(proxy: Harness) -> None:
    add(proxy, enable_internet=False, allowed_hosts=["*.allowed.test"])
    status, body = await get(
        proxy, f"http://a.allowed.test:{proxy.http_port}/p?q=1", method="POST", data=b"abc"
    )
    assert (status, body) == (200, f"POST a.allowed.test:{proxy.http_port} /p?q=1 3")
    assert await get(proxy, f"http://other.test:{proxy.http_port}/") == (520, "Origin is disallowed")


async def test_denied_overrides_allowed_and_internet(proxy: Harness) -> None:
    add(proxy, enable_internet=True, allowed_hosts=["*.allowed.test"], denied_hosts=["a.allowed.test"])
    assert await get(proxy, f"http://a.allowed.test:{proxy.http_port}/") == (520, "Origin is disallowed")
    assert (await get(proxy, f"http://b.allowed.test:{proxy.http_port}/"))[0] == 200


async def test_a_client_no_instance_pod_holds_is_refused(proxy: Harness) -> None:
    status, body = await get(proxy, f"http://a.allowed.test:{proxy.http_port}/")
    assert status == 403
    assert "no lunora instance Pod holds the address 127.0.0.1" in body


async def test_a_finished_pod_no_longer_holds_its_address(proxy: Harness) -> None:
    proxy.directory.apply("ADDED", pod("u1", "127.0.0.1", phase="Succeeded"))
    assert (await get(proxy, f"http://a.allowed.test:{proxy.http_port}/"))[0] == 403


async def test_a_runtime_allow_applies_to_the_next_request(proxy: Harness) -> None:
    add(proxy, enable_internet=False)
    url = f"http://other.test:{proxy.http_port}/"
    assert (await get(proxy, url))[0] == 520
    proxy.directory.change("u1", RuleChange("allow", host="other.test"))
    assert (await get(proxy, url))[0] == 200


async def test_runtime_changes_belong_to_the_pod_uid_not_its_address(proxy: Harness) -> None:
    add(proxy, "old", enable_internet=False)
    proxy.directory.change("old", RuleChange("allow", host="other.test"))
    proxy.directory.apply("DELETED", pod("old", "127.0.0.1"))
    add(proxy, "new", enable_internet=False)  # the restarted instance, same address
    assert (await get(proxy, f"http://other.test:{proxy.http_port}/"))[0] == 520


async def test_decisions_are_counted_per_instance(proxy: Harness) -> None:
    add(proxy, enable_internet=False, allowed_hosts=["*.allowed.test"])
    await get(proxy, f"http://a.allowed.test:{proxy.http_port}/")
    await get(proxy, f"http://other.test:{proxy.http_port}/")
    summary = proxy.recorder.summary("u1")
    assert summary is not None
    assert summary.to_json() | {"uid": None} == {
        "uid": None,
        "pod": "ns/pod-u1",
        "container": "web",
        "allowed": 1,
        "denied": 1,
        "byRule": {"allow:allowedHosts": 1, "deny:allowedHosts": 1},
        "recentDenied": ["other.test"],
    }


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("127.0.0.1", "is the egress proxy's host or its router"),
        ("a.allowed.test", "is the egress proxy itself"),
    ],
)
async def test_the_proxy_will_not_connect_to_itself(proxy: Harness, host: str, why: str) -> None:
    # Else an instance could reach the control API through the proxy (here: its own port).
    add(proxy, enable_internet=True)
    status, body = await get(proxy, f"http://{host}:{proxy.proxy_port}/")
    assert status == 403
    assert why in body
    with pytest.raises(aiohttp.ClientHttpProxyError) as refused:
        await get(proxy, f"https://{host}:{proxy.proxy_port}/", proxy.client_tls(proxy.upstream_ca))
    assert refused.value.status == 403


async def test_unintercepted_https_follows_enable_internet_alone(proxy: Harness) -> None:
    # Without interceptHttps, Cloudflare never sees inside TLS: the lists do not apply to HTTPS,
    # only enableInternet does.
    tls = proxy.client_tls(proxy.upstream_ca)
    url = f"https://secure.allowed.test:{proxy.https_port}/tls"
    add(proxy, enable_internet=False, allowed_hosts=["secure.allowed.test"])
    with pytest.raises(aiohttp.ClientHttpProxyError) as refused:
        await get(proxy, url, tls)
    assert refused.value.status == 520
    proxy.directory.apply("DELETED", pod("u1", "127.0.0.1"))
    add(proxy, "u2", enable_internet=True, denied_hosts=["secure.allowed.test"])
    assert await get(proxy, url, tls) == (200, f"GET secure.allowed.test:{proxy.https_port} /tls 0")


async def test_intercepted_https_is_decided_per_request_with_the_app_ca(proxy: Harness) -> None:
    add(proxy, enable_internet=False, allowed_hosts=["secure.allowed.test"], intercept_https=True)
    tls = proxy.client_tls(proxy.app_ca)  # the client trusts the app's CA, not the upstream's
    url = f"https://secure.allowed.test:{proxy.https_port}/inside?x=1"
    assert await get(proxy, url, tls) == (200, f"GET secure.allowed.test:{proxy.https_port} /inside?x=1 0")
    proxy.directory.change("u1", RuleChange("deny", host="secure.allowed.test"))
    assert await get(proxy, url, tls) == (520, "Origin is disallowed")
    channels = {rule for rule in proxy.recorder.summary("u1").by_rule}  # type: ignore[union-attr]
    assert channels == {"allow:allowedHosts", "deny:deniedHosts"}


async def test_intercepted_https_refuses_a_host_outside_the_allow_list(proxy: Harness) -> None:
    add(proxy, enable_internet=True, allowed_hosts=["a.allowed.test"], intercept_https=True)
    tls = proxy.client_tls(proxy.app_ca)
    assert await get(proxy, f"https://denied.test:{proxy.https_port}/", tls) == (520, "Origin is disallowed")


async def test_an_https_url_asked_in_plain_text_is_unintercepted_https(proxy: Harness) -> None:
    # busybox wget sends `GET https://…` to the proxy instead of CONNECT.
    add(proxy, enable_internet=False, allowed_hosts=["secure.allowed.test"])
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.proxy_port)
    writer.write(
        f"GET https://secure.allowed.test:{proxy.https_port}/ HTTP/1.1\r\nHost: secure.allowed.test\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 520 Origin is disallowed\r\n")
    assert answer.endswith(b"Origin is disallowed")


async def test_keep_alive_requests_are_each_decided(proxy: Harness) -> None:
    add(proxy, enable_internet=False, allowed_hosts=["a.allowed.test"])
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        for host, status in [("a.allowed.test", 200), ("other.test", 520), ("a.allowed.test", 200)]:
            async with session.get(f"http://{host}:{proxy.http_port}/", proxy=proxy.proxy_url) as response:
                assert response.status == status
                await response.read()


async def test_an_origin_form_request_to_the_proxy_is_explained(proxy: Harness) -> None:
    add(proxy)
    async with aiohttp.ClientSession() as session, session.get(proxy.proxy_url + "/") as response:
        assert response.status == 400
        assert "not an absolute http(s) URL" in await response.text()


async def test_unreadable_annotations_refuse_everything(proxy: Harness) -> None:
    proxy.directory.apply("ADDED", pod("u1", "127.0.0.1", annotations={"lunora.sh/allowed-hosts": "x"}))
    assert (await get(proxy, f"http://a.allowed.test:{proxy.http_port}/"))[0] == 520


async def test_an_unreachable_host_is_a_bad_gateway(proxy: Harness) -> None:
    add(proxy)
    status, body = await get(proxy, "http://a.allowed.test:9/")
    assert status == 502
    assert "a.allowed.test:9" in body


def own_address() -> str:
    """This host's address on its default route (no packet is sent); loopback without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return "127.0.0.2"
        return str(probe.getsockname()[0])


@pytest.mark.parametrize(
    "target", ["127.0.0.1:{http}", "localhost:{http}", "[::1]:{http}", "{own}:{http}", "169.254.169.254:80"]
)
async def test_an_instance_cannot_reach_the_proxys_host_or_link_local_addresses(
    proxy: Harness, target: str
) -> None:
    """The router's API listens beside the proxy in its Pod: an instance allowed everything must
    still not reach it (nor a cloud metadata address) through the proxy, by any name."""
    add(proxy, enable_internet=True)
    authority = target.format(http=proxy.http_port, own=own_address())
    status, body = await get(proxy, f"http://{authority}/")
    assert status == 403, body
    assert "is the egress proxy's host or its router" in body
    with pytest.raises(aiohttp.ClientHttpProxyError) as refused:
        await get(proxy, f"https://{authority}/", proxy.client_tls(proxy.upstream_ca))
    assert refused.value.status == 403


async def test_a_refused_host_name_is_refused_by_its_addresses(proxy: Harness) -> None:
    """The router's Service (`--refuse-host`): refused by address, so every name for it is."""
    add(proxy, enable_internet=True)
    proxy.upstream.settings = replace(
        proxy.upstream.settings, refused_hosts=("localhost",), internal=lambda ip: False
    )
    status, _ = await get(proxy, f"http://127.0.0.1:{proxy.http_port}/")
    assert status == 200, "looked up in the background, not per request"
    await proxy.upstream.refresh_refused()
    status, body = await get(proxy, f"http://127.0.0.1:{proxy.http_port}/")
    assert (status, "is the egress proxy's host or its router" in body) == (403, True)
    proxy.upstream.settings = replace(proxy.upstream.settings, refused_hosts=())
    await proxy.upstream.refresh_refused()
    status, _ = await get(proxy, f"http://127.0.0.1:{proxy.http_port}/")
    assert status == 200
