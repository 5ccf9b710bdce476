import asyncio
import datetime

import kopf
import pytest

from lunora_operator.peering import (
    LEASE_FIELD,
    NotActive,
    WriteLease,
    _pointer,
    clean_dead_peers,
    dead_record_removals,
    describe_peers,
    use_fresh_dead_peer_cleanup,
)


def _record(
    seconds_ago: float, lifetime: int = 10, priority: int = 0, lease: str | None = None
) -> dict[str, object]:
    seen = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=seconds_ago)
    record: dict[str, object] = {"priority": priority, "lifetime": lifetime, "lastseen": seen.isoformat()}
    if lease is not None:
        record[LEASE_FIELD] = lease
    return record


def test_peers_are_judged_as_kopf_judges_them_alive_or_gone_with_the_lease_holder_marked() -> None:
    body = {
        "status": {
            "active": _record(2, priority=5, lease="t"),
            "standby": _record(1, priority=1),
            "gone": _record(30, priority=9, lease="old"),
        }
    }
    peers = {peer.identity: peer for peer in describe_peers(body)}
    assert [peer.identity for peer in describe_peers(body)] == ["gone", "active", "standby"]  # by priority
    assert peers["active"].alive
    assert peers["active"].holds_lease
    assert peers["standby"].alive
    assert not peers["standby"].holds_lease
    assert not peers["gone"].alive  # 30 s after its last keep-alive, with a 10 s lifetime


def test_identities_are_escaped_for_json_patch_paths() -> None:
    assert _pointer("root@host/20261202/abc") == "root@host~120261202~1abc"
    assert _pointer("a~b") == "a~0b"


def test_only_records_dead_in_the_fresh_read_are_removed_and_only_as_read() -> None:
    body = {
        "status": {
            "holder": _record(1, lease="t"),  # a stale view called it dead: alive now
            "gone/pod": _record(30, lease="old"),
            "broken": {"priority": 1},
        }
    }
    operations = dead_record_removals(body, ["holder", "gone/pod", "broken", "absent"])
    assert operations == [
        {"op": "test", "path": "/status/gone~1pod/lastseen", "value": body["status"]["gone/pod"]["lastseen"]},
        {"op": "remove", "path": "/status/gone~1pod"},
    ]
    assert dead_record_removals({}, ["holder"]) == []


def test_kopfs_peering_cleans_dead_peers_from_a_fresh_read() -> None:
    from kopf._core.engines import peering as kopf_peering

    use_fresh_dead_peer_cleanup()
    assert kopf_peering.clean is clean_dead_peers


async def test_an_unreachable_api_server_is_retried_on_a_schedule_not_in_a_busy_loop() -> None:
    """A writer waiting in guard() pokes the lease loop; during an outage that must not turn into
    a renewal per poke (thousands a second, each logged)."""

    class Unreachable:
        calls = 0

        async def get(self) -> dict[str, object]:
            Unreachable.calls += 1
            raise ConnectionRefusedError("the API server is down")

    settings = kopf.OperatorSettings()
    settings.peering.lifetime = 4
    lease = WriteLease([Unreachable()], "alone", settings)  # type: ignore[list-item]
    task = asyncio.create_task(lease.run(lambda reason: None))
    try:
        with pytest.raises(NotActive):
            await lease.guard(wait=1.5)
    finally:
        task.cancel()
    assert 1 <= Unreachable.calls <= 6
