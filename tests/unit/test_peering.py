import datetime

from lunora_operator.peering import LEASE_FIELD, _pointer, describe_peers


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
