"""The bridge against a real server (items 133–145)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from lunora_operator.client import (
    BridgeRequestFailed,
    ContainerBridge,
    ContainerBridgeError,
    FunctionReference,
    LunoraError,
)
from lunora_operator.client.wire import ArrayBuffer, BigInt
from tests.unit.client.conformance.server import ConformanceServer, json_reply, status


def rpc(server: ConformanceServer) -> list[dict[str, object]]:
    return [json.loads(seen.body) for seen in server.seen if seen.route == "rpc"]


async def test_item_133_the_envelope_goes_to_the_rpc_path_with_the_bearer(server: ConformanceServer) -> None:
    server.rpc_responder = json_reply({"result": {"count": 3}})
    async with ContainerBridge(server.base_url + "//", token="t0ken") as bridge:
        assert await bridge.call("messages:count", {"room": "a"}) == {"count": 3}
    [seen] = server.seen
    assert (seen.route, seen.method) == ("rpc", "POST")
    assert seen.headers["authorization"] == "Bearer t0ken"
    assert seen.headers["content-type"] == "application/json"
    assert rpc(server) == [{"args": {"room": "a"}, "functionPath": "messages:count"}]


async def test_item_134_the_wire_codec_brackets_both_directions(server: ConformanceServer) -> None:
    sent = {
        "amount": BigInt(2**70),
        "due": datetime(2026, 6, 1, 12, tzinfo=UTC),
        "blob": ArrayBuffer(b"\x00\x01"),
    }

    async def echo(request, seen):  # type: ignore[no-untyped-def]
        return await json_reply({"result": json.loads(seen.body)["args"]})(request, seen)

    server.rpc_responder = echo
    async with ContainerBridge(server.base_url) as bridge:
        back = await bridge.call("echo:it", sent)
    assert rpc(server)[0]["args"] == {
        "amount": ["$lunora.wire$", "bigint", str(2**70)],
        "due": ["$lunora.wire$", "date", 1780315200000],
        "blob": ["$lunora.wire$", "bytes", "AAE=", "ArrayBuffer"],
    }
    assert back == sent
    assert isinstance(back["amount"], BigInt)
    assert isinstance(back["blob"], ArrayBuffer)


async def test_item_135_no_token_no_authorization(server: ConformanceServer) -> None:
    server.rpc_responder = json_reply({"result": None})
    async with ContainerBridge(server.base_url) as bridge:
        assert await bridge.call("x:y") is None
    assert "authorization" not in server.seen[0].headers
    assert rpc(server) == [{"args": {}, "functionPath": "x:y"}]


async def test_item_136_the_shard_key_is_forwarded(server: ConformanceServer) -> None:
    server.rpc_responder = json_reply({"result": 1})
    async with ContainerBridge(server.base_url) as bridge:
        await bridge.call("x:y", {}, "tenant-7")
    assert rpc(server)[0]["shardKey"] == "tenant-7"


async def test_item_137_an_error_envelope_becomes_container_bridge_error(server: ConformanceServer) -> None:
    server.rpc_responder = json_reply(
        {"error": {"code": "NOT_FOUND", "message": "no function x:y"}}, code=404
    )
    async with ContainerBridge(server.base_url) as bridge:
        with pytest.raises(ContainerBridgeError, match="no function x:y") as raised:
            await bridge.call("x:y")
    assert raised.value.code == "NOT_FOUND"
    assert isinstance(raised.value, LunoraError)


async def test_item_138_a_non_ok_status_without_envelope(server: ConformanceServer) -> None:
    server.rpc_responder = json_reply({"detail": "bad gateway"}, code=502)
    async with ContainerBridge(server.base_url) as bridge:
        with pytest.raises(BridgeRequestFailed, match=r'request to "x:y" failed \(status 502 Bad Gateway\)'):
            await bridge.call("x:y")


async def test_item_139_malformed_json_on_200(server: ConformanceServer) -> None:
    server.rpc_responder = status(200, "<html>")
    async with ContainerBridge(server.base_url) as bridge:
        with pytest.raises(LunoraError, match=r"returned a non-JSON response \(status 200\)") as raised:
            await bridge.call("x:y")
    assert raised.value.code == "INTERNAL"


async def test_item_140_malformed_json_on_a_non_ok_status(server: ConformanceServer) -> None:
    server.rpc_responder = status(502, "<html>")
    async with ContainerBridge(server.base_url) as bridge:
        with pytest.raises(BridgeRequestFailed, match="status 502"):
            await bridge.call("x:y")


@pytest.mark.parametrize("error", [{"code": 5, "message": "m"}, "boom", {"message": "only"}])
async def test_item_141_a_malformed_error_envelope(server: ConformanceServer, error: object) -> None:
    server.rpc_responder = json_reply({"error": error}, code=500)
    async with ContainerBridge(server.base_url) as bridge:
        with pytest.raises(LunoraError, match="malformed error envelope") as raised:
            await bridge.call("x:y")
    assert not isinstance(raised.value, ContainerBridgeError)
    assert json.dumps(error) in str(raised.value)


def test_item_142_query_mutation_action_are_call() -> None:
    assert ContainerBridge.query is ContainerBridge.call
    assert ContainerBridge.mutation is ContainerBridge.call
    assert ContainerBridge.action is ContainerBridge.call


async def test_item_143_run_sends_the_reference(server: ConformanceServer) -> None:
    server.rpc_responder = json_reply({"result": [1]})
    async with ContainerBridge(server.base_url) as bridge:
        assert await bridge.run(FunctionReference("messages:list"), {"limit": 2}) == [1]
        await bridge.run({"__lunoraRef": "messages:get"}, {}, "s1")
        with pytest.raises(TypeError, match="carries no `__lunoraRef`"):
            await bridge.run({}, {})
    assert [(b["functionPath"], b.get("shardKey")) for b in rpc(server)] == [
        ("messages:list", None),
        ("messages:get", "s1"),
    ]


@pytest.mark.parametrize("base_url", ["", None])
def test_item_144_an_empty_base_url_is_refused(base_url: object) -> None:
    with pytest.raises(TypeError, match="`base_url` must be a non-empty"):
        ContainerBridge(base_url)  # type: ignore[arg-type]


async def test_item_145_no_usable_fetch(server: ConformanceServer) -> None:
    client = httpx.AsyncClient()
    await client.aclose()
    bridge = ContainerBridge(server.base_url, client=client)
    with pytest.raises(TypeError, match="no `fetch` available"):
        await bridge.call("x:y")
    assert server.seen == []


def test_an_empty_token_is_refused() -> None:
    with pytest.raises(TypeError, match="`token` is empty"):
        ContainerBridge("http://127.0.0.1:1", token="")
