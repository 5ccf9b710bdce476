"""Where a request goes, decided once for both ways in: the instance and port, or the reply in
the platform's words (unknown container, reserved path, bad port header)."""

from __future__ import annotations

import json

from lunora_operator.local import errors, texts
from lunora_operator.local.destination import JSON, TEXT, Destination, Reply, answer, destination
from tests.unit.local.fakes import FakeKube, config, fleet_with


async def test_a_request_goes_to_its_instance_on_the_port_asked_for() -> None:
    fleet = fleet_with(FakeKube(), config(default_port=8080))

    found = destination(fleet, "/web/video%2F42/a/b?c=%20", "8081")
    default = destination(fleet, "/web/x", None)

    assert isinstance(found, Destination)
    assert (found.instance.id, found.port, found.path) == ("video/42", 8081, "/a/b?c=%20")
    assert isinstance(default, Destination)
    assert (default.port, default.path) == (8080, "/")


async def test_what_goes_nowhere_gets_the_platforms_reply() -> None:
    fleet = fleet_with(FakeKube(), config(default_port=None))

    no_target = destination(fleet, "/", None)
    unknown = destination(fleet, "/nope/a/", None)
    reserved = destination(fleet, "/web/a/%5F%5Flunora/exec", None)
    no_port = destination(fleet, "/web/a/", None)
    bad_port = destination(fleet, "/web/a/", "nine")

    assert isinstance(no_target, Reply)
    assert (no_target.status, no_target.content_type) == (404, JSON)
    assert isinstance(unknown, Reply)
    assert (unknown.status, json.loads(unknown.body)["code"]) == (404, "NOT_FOUND")
    assert reserved == Reply(403, texts.RESERVED_PATH.text.encode(), TEXT)
    assert isinstance(no_port, Reply)
    assert (no_port.status, no_port.body.decode()) == (500, texts.NO_PORT.text)
    assert isinstance(bad_port, Reply)
    assert bad_port.body.decode() == texts.PORT_NOT_A_NUMBER.text
    assert all(i.inflight == 0 for i in fleet.instances()), "looked up, not opened"


def test_an_answer_carries_the_routers_words_in_a_header_on_one_line() -> None:
    reply = answer(errors.no_instance("cap of 2 reached\nby web"))

    assert (reply.status, reply.body.decode()) == (503, texts.NO_INSTANCE.text)
    assert reply.headers == (("x-lunora-router-detail", "cap of 2 reached by web"),)
