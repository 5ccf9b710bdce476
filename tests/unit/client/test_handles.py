"""Accessor wiring over a scripted transport: jurisdiction (items 48, 49) and copies (item 52)."""

from __future__ import annotations

import httpx
import pytest

from lunora_operator.client import Containers
from lunora_operator.client.transport import InstanceTarget
from tests.unit.client.support import ScriptedTransport


class Regional(ScriptedTransport):
    """A backend with jurisdictions: `jurisdiction(j)` gives the restricted one."""

    def __init__(self) -> None:
        super().__init__(script=[httpx.Response(200)])
        self.derived: dict[str, ScriptedTransport] = {}

    def jurisdiction(self, name: str) -> ScriptedTransport:
        self.derived[name] = ScriptedTransport(script=[httpx.Response(200)])
        return self.derived[name]


async def test_item_48_a_jurisdiction_routes_through_the_restricted_backend() -> None:
    root = Regional()
    containers = Containers(transport=root, jurisdiction="us")
    await containers["transcoder"].get("a").fetch("/")
    await containers["transcoder"].get("a").destroy()
    assert root.sent == []
    assert root.calls == []
    assert [sent.target for sent in root.derived["us"].sent] == [InstanceTarget("transcoder", "a")]
    assert [method for _, method, _ in root.derived["us"].calls] == ["destroy"]


def test_item_49_a_backend_without_jurisdictions_fails_closed_at_construction() -> None:
    with pytest.raises(TypeError, match="does not support jurisdiction 'eu'"):
        Containers("http://127.0.0.1:1", jurisdiction="eu")
    with pytest.raises(TypeError, match="is not one of eu, fedramp, us"):
        Containers(transport=Regional(), jurisdiction="mars")


async def test_item_52_host_lists_are_fresh_copies() -> None:
    transport = ScriptedTransport()
    hosts = ["a.example"]
    await Containers(transport=transport)["transcoder"].get("a").egress.set_allowed(hosts)
    [(_, method, argument)] = transport.calls
    assert method == "setAllowedHosts"
    assert argument == hosts
    assert argument is not hosts
