from __future__ import annotations

import asyncio
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunora_operator.local.egress.annotations import (
    RUNTIME_RULES,
    runtime_annotation,
    runtime_from_annotations,
)
from lunora_operator.local.egress.instances import (
    InstanceDirectory,
    RuleChange,
    UnknownInstance,
    parse_change,
)
from lunora_operator.local.egress.rules import EgressRules, InstanceRules
from tests.unit.local.egress.support import declared, pod


def test_an_address_resolves_to_the_live_pod_holding_it() -> None:
    directory = InstanceDirectory()
    directory.replace_all([pod("old", "10.0.0.5", deleting=True), pod("done", "10.0.0.5", phase="Failed")])
    assert directory.resolve("10.0.0.5") is None
    directory.apply("ADDED", pod("new", "10.0.0.5"))
    instance = directory.resolve("10.0.0.5")
    assert instance is not None
    assert instance.uid == "new"


def test_an_address_two_live_pods_claim_resolves_to_nobody() -> None:
    directory = InstanceDirectory()
    directory.replace_all([pod("a", "10.0.0.5"), pod("b", "10.0.0.5")])
    assert directory.resolve("10.0.0.5") is None
    directory.apply("DELETED", pod("a", "10.0.0.5"))
    assert directory.resolve("10.0.0.5").uid == "b"  # type: ignore[union-attr]


EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["ADDED", "MODIFIED", "DELETED"]),
        st.sampled_from(["u1", "u2", "u3"]),
        st.sampled_from(["10.0.0.1", "10.0.0.2", None]),
        st.sampled_from(["Pending", "Running", "Succeeded", "Failed"]),
        st.booleans(),
    ),
    max_size=12,
)


@given(EVENTS)
def test_resolution_names_a_pod_only_when_exactly_one_live_pod_holds_the_address(events: list) -> None:  # type: ignore[type-arg]
    directory = InstanceDirectory()
    latest: dict[str, tuple[str | None, str, bool]] = {}
    for kind, uid, ip, phase, deleting in events:
        directory.apply(kind, pod(uid, ip, phase=phase, deleting=deleting))
        if kind == "DELETED":
            latest.pop(uid, None)
        else:
            latest[uid] = (ip, phase, deleting)
    for ip in ("10.0.0.1", "10.0.0.2"):
        holders = [u for u, (i, p, d) in latest.items() if i == ip and p in ("Pending", "Running") and not d]
        found = directory.resolve(ip)
        assert (found.uid if found else None) == (holders[0] if len(holders) == 1 else None)


async def test_waiting_for_an_address_the_watch_reports_late() -> None:
    directory = InstanceDirectory()
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, directory.apply, "ADDED", pod("u1", "10.0.0.9"))
    instance = await directory.wait_resolve("10.0.0.9", 5)
    assert instance is not None
    assert instance.uid == "u1"
    assert await directory.wait_resolve("10.0.0.10", 0.05) is None


def test_runtime_changes_stay_with_the_uid_and_go_with_it() -> None:
    directory = InstanceDirectory()
    directory.apply("ADDED", pod("u1", "10.0.0.5", annotations=declared(enable_internet=False)))
    changed = directory.change("u1", RuleChange("allow", host="a.test"))
    assert changed.effective.allowed_hosts == ("a.test",)
    # A new annotation value is seen; the override stays on top of it.
    directory.apply("MODIFIED", pod("u1", "10.0.0.5", annotations=declared(enable_internet=True)))
    assert directory.rules("u1").effective.allowed_hosts == ("a.test",)  # type: ignore[union-attr]
    assert directory.rules("u1").effective.enable_internet  # type: ignore[union-attr]
    directory.apply("DELETED", pod("u1", "10.0.0.5"))
    with pytest.raises(UnknownInstance):
        directory.rules("u1")
    directory.apply("ADDED", pod("u1", "10.0.0.5"))
    assert directory.rules("u1").effective.allowed_hosts is None  # type: ignore[union-attr]


def test_a_relist_drops_the_overrides_of_pods_that_are_gone() -> None:
    directory = InstanceDirectory()
    gone: list[str] = []
    directory.on_gone(gone.append)
    directory.replace_all([pod("u1", "10.0.0.5"), pod("u2", "10.0.0.6")])
    directory.change("u1", RuleChange("deny", host="a.test"))
    directory.change("u2", RuleChange("deny", host="a.test"))
    directory.replace_all([pod("u2", "10.0.0.6")])
    assert directory.rules("u2").effective.denied_hosts == ("a.test",)  # type: ignore[union-attr]
    directory.replace_all([pod("u1", "10.0.0.5")])
    assert directory.rules("u1").effective.denied_hosts is None  # type: ignore[union-attr]
    directory.apply("DELETED", pod("u1", "10.0.0.5"))
    assert gone == ["u1", "u2", "u1"]


def test_a_restarted_proxy_reads_the_runtime_changes_back_from_the_pod() -> None:
    first = InstanceDirectory()
    first.apply("ADDED", pod("u1", "10.0.0.5", annotations=declared(enable_internet=False)))
    changed = first.change("u1", RuleChange("allow", host="a.test"))
    changed = first.change("u1", RuleChange("set_denied", hosts=("b.test",)))
    on_pod = {**declared(enable_internet=False), RUNTIME_RULES: runtime_annotation(changed)}

    restarted = InstanceDirectory()
    restarted.replace_all([pod("u1", "10.0.0.5", annotations=on_pod)])
    assert restarted.rules("u1") == changed
    # Its own next change is ahead of the watch, which still shows the Pod's earlier value.
    newer = restarted.change("u1", RuleChange("remove_allowed", host="a.test"))
    restarted.apply("MODIFIED", pod("u1", "10.0.0.5", annotations=on_pod))
    assert restarted.rules("u1") == newer
    assert newer.effective.allowed_hosts == ()


@given(
    st.one_of(st.none(), st.lists(st.text(min_size=1).filter(str.strip), max_size=3)),
    st.one_of(st.none(), st.lists(st.text(min_size=1).filter(str.strip), max_size=3)),
)
def test_the_runtime_annotation_reads_back_what_was_written(
    allowed: list[str] | None, denied: list[str] | None
) -> None:
    rules = InstanceRules(
        EgressRules(),
        None if allowed is None else tuple(allowed),
        None if denied is None else tuple(denied),
    )
    read = runtime_from_annotations({RUNTIME_RULES: runtime_annotation(rules)})
    assert read == (rules.allowed_override, rules.denied_override)
    assert runtime_from_annotations({}) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{", "must be a JSON object"),
        ('["a.test"]', 'may hold only "allowedHosts" and "deniedHosts"'),
        ('{"allowHosts": []}', 'may hold only "allowedHosts" and "deniedHosts"'),
        ('{"deniedHosts": "a.test"}', "deniedHosts must be a list of non-empty host names"),
    ],
)
def test_an_unreadable_runtime_annotation_refuses_the_instance_everything(value: str, message: str) -> None:
    directory = InstanceDirectory()
    directory.apply("ADDED", pod("u1", "10.0.0.5", annotations={RUNTIME_RULES: value}))
    assert directory.rules("u1") is None
    assert message in (directory.instance("u1").annotation_error or "")


def test_changing_an_unknown_or_unreadable_instance_says_why() -> None:
    directory = InstanceDirectory()
    with pytest.raises(UnknownInstance, match="no instance Pod with uid nope"):
        directory.change("nope", RuleChange("allow", host="a.test"))
    directory.apply("ADDED", pod("bad", "10.0.0.5", annotations={"lunora.sh/enable-internet": "maybe"}))
    assert directory.rules("bad") is None
    with pytest.raises(UnknownInstance, match="unreadable egress annotations"):
        directory.change("bad", RuleChange("allow", host="a.test"))


@pytest.mark.parametrize(
    ("op", "body", "message"),
    [
        ("allow", {}, '{"host": "<host name or glob>"}'),
        ("deny", {"host": " "}, '{"host": "<host name or glob>"}'),
        ("set_allowed", {"hosts": "a.test"}, '{"hosts": ["<host name or glob>", ...]}'),
        ("set_denied", {"hosts": [1]}, "of non-empty strings"),
        ("allowHost", {"host": "a"}, "unknown egress change 'allowHost'; one of allow, deny, remove_allowed"),
    ],
)
def test_a_bad_change_names_the_body_it_needs(op: str, body: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_change(op, body)


def test_changes_parse() -> None:
    assert parse_change("remove_denied", {"host": " a.test "}) == RuleChange("remove_denied", host="a.test")
    assert parse_change("set_allowed", {"hosts": []}) == RuleChange("set_allowed", hosts=())
