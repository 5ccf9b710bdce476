from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunora_operator.local.egress.rules import (
    EgressRules,
    InstanceRules,
    Rule,
    allow_host,
    deny_host,
    evaluate,
    evaluate_tls_tunnel,
    glob_match,
    normalize_host,
    remove_allowed_host,
    remove_denied_host,
    set_allowed_hosts,
    set_denied_hosts,
)

# Short alphabets make collisions (and so matches) likely.
LABEL = st.text(alphabet="abAB", min_size=1, max_size=3)
HOST = (
    st.lists(LABEL, min_size=1, max_size=4)
    .map(".".join)
    .flatmap(lambda host: st.sampled_from([host, host + ".", host + ".."]))
)
PATTERN = st.text(alphabet="abAB.*", min_size=1, max_size=8)
PATTERNS = st.none() | st.lists(PATTERN, max_size=3).map(tuple)
RULES = st.builds(EgressRules, enable_internet=st.booleans(), allowed_hosts=PATTERNS, denied_hosts=PATTERNS)


def reference_glob(pattern: str, value: str) -> bool:
    """Cloudflare's simpleGlobMatch, transcribed, over normalised inputs."""
    pattern, value = normalize_host(pattern), normalize_host(value)
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == value
    if not value.startswith(parts[0]) or not value.endswith(parts[-1]):
        return False
    pos = len(parts[0])
    for part in parts[1:-1]:
        idx = value.find(part, pos)
        if idx == -1:
            return False
        pos = idx + len(part)
    return pos <= len(value) - len(parts[-1])


def fnmatch_glob(pattern: str, value: str) -> bool:
    """An independent definition: `*` is any sequence, nothing else is special."""
    import re

    regex = ".*".join(re.escape(p) for p in normalize_host(pattern).split("*"))
    return re.fullmatch(regex, normalize_host(value), re.DOTALL) is not None


@given(PATTERN, HOST)
def test_glob_is_cloudflares_glob_and_a_plain_star_glob(pattern: str, host: str) -> None:
    assert glob_match(pattern, host) == reference_glob(pattern, host) == fnmatch_glob(pattern, host)


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("example.com", "example.com", True),
        ("example.com", "sub.example.com", False),
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("google.*", "google.co.uk", True),
        ("google.*", "maps.google.com", False),
        ("api.*.com", "api.stripe.com", True),
        ("api.*.com", "api.stripe.co.uk", False),
        ("*", "anything.at.all", True),
        ("a*a", "a", False),
        ("Example.COM", "example.com.", True),
        ("example.com.", "EXAMPLE.com", True),
    ],
)
def test_glob_table(pattern: str, host: str, matches: bool) -> None:
    assert glob_match(pattern, host) is matches


def cloudflare_order(rules: EgressRules, host: str) -> tuple[bool, Rule]:
    """The evaluation order written out once more, step by step."""
    denied = rules.denied_hosts
    allowed = rules.allowed_hosts
    if denied is not None and any(reference_glob(p, host) for p in denied):
        return False, Rule.DENIED_HOSTS
    if allowed is not None and not any(reference_glob(p, host) for p in allowed):
        return False, Rule.ALLOWED_HOSTS
    if allowed is not None:
        return True, Rule.ALLOWED_HOSTS
    if rules.enable_internet:
        return True, Rule.ENABLE_INTERNET
    return False, Rule.DEFAULT


@given(RULES, HOST)
def test_evaluation_follows_cloudflares_order(rules: EgressRules, host: str) -> None:
    decision = evaluate(rules, host)
    assert (decision.allowed, decision.rule) == cloudflare_order(rules, host)


@given(RULES, HOST)
def test_a_denied_host_is_refused_whatever_else_allows_it(rules: EgressRules, host: str) -> None:
    rules = EgressRules(
        enable_internet=True,
        allowed_hosts=(*(rules.allowed_hosts or ()), host),
        denied_hosts=(*(rules.denied_hosts or ()), host.upper()),
    )
    assert evaluate(rules, host).rule is Rule.DENIED_HOSTS
    assert not evaluate(rules, host).allowed


@given(st.lists(PATTERN, max_size=3).map(tuple), HOST)
def test_an_allow_list_gates_even_with_internet_on(allowed: tuple[str, ...], host: str) -> None:
    rules = EgressRules(enable_internet=True, allowed_hosts=allowed)
    assert evaluate(rules, host).allowed == any(glob_match(p, host) for p in allowed)


@given(HOST)
def test_an_allowed_host_reaches_the_internet_with_internet_off(host: str) -> None:
    assert evaluate(EgressRules(enable_internet=False, allowed_hosts=(host,)), host).allowed


def test_an_empty_allow_list_refuses_every_host() -> None:
    decision = evaluate(EgressRules(enable_internet=True, allowed_hosts=()), "example.com")
    assert (decision.allowed, decision.rule) == (False, Rule.ALLOWED_HOSTS)


def test_nothing_declared_follows_enable_internet() -> None:
    assert evaluate(EgressRules(), "example.com").allowed  # the platform default is true
    assert not evaluate(EgressRules(enable_internet=False), "example.com").allowed
    assert evaluate(EgressRules(enable_internet=False), "example.com").rule is Rule.DEFAULT


@given(RULES)
def test_unintercepted_tls_follows_enable_internet_alone(rules: EgressRules) -> None:
    # Without interceptHttps Cloudflare never sees an HTTPS request's host: neither list applies.
    assert evaluate_tls_tunnel(rules).allowed is rules.enable_internet


DECLARED = st.builds(InstanceRules, declared=RULES)
CHANGES = st.lists(
    st.tuples(
        st.sampled_from(["allow", "deny", "remove_allowed", "remove_denied", "set_allowed", "set_denied"]),
        HOST,
        st.lists(HOST, max_size=2),
    ),
    max_size=6,
)


def apply(rules: InstanceRules, op: str, host: str, hosts: list[str]) -> InstanceRules:
    match op:
        case "allow":
            return allow_host(rules, host)
        case "deny":
            return deny_host(rules, host)
        case "remove_allowed":
            return remove_allowed_host(rules, host)
        case "remove_denied":
            return remove_denied_host(rules, host)
        case "set_allowed":
            return set_allowed_hosts(rules, hosts)
        case _:
            return set_denied_hosts(rules, hosts)


@given(DECLARED, CHANGES)
def test_runtime_changes_keep_the_declared_rules_and_only_override_lists(
    rules: InstanceRules, changes: list[tuple[str, str, list[str]]]
) -> None:
    for op, host, hosts in changes:
        rules = apply(rules, op, host, hosts)
    assert rules.effective.enable_internet is rules.declared.enable_internet
    if rules.allowed_override is None:
        assert rules.effective.allowed_hosts == rules.declared.allowed_hosts


@given(DECLARED, HOST, HOST)
def test_allow_lets_a_host_through_unless_denied(rules: InstanceRules, host: str, other: str) -> None:
    allowed = allow_host(rules, host)
    denied = rules.effective.denied_hosts is not None and any(
        glob_match(p, host) for p in rules.effective.denied_hosts
    )
    assert evaluate(allowed.effective, host).allowed is not denied
    # After an allow, the allow list is set: a host it does not match is refused.
    if not any(glob_match(p, other) for p in allowed.effective.allowed_hosts or ()):
        assert not evaluate(allowed.effective, other).allowed


@given(DECLARED, HOST)
def test_deny_refuses_a_host_at_once(rules: InstanceRules, host: str) -> None:
    assert not evaluate(deny_host(rules, host).effective, host).allowed


def test_allow_twice_changes_nothing_the_second_time() -> None:
    rules = allow_host(InstanceRules(EgressRules(enable_internet=False)), "a.test")
    assert allow_host(rules, "a.test") == rules
    assert rules.effective.allowed_hosts == ("a.test",)


def test_allow_of_a_declared_host_sets_no_override() -> None:
    rules = InstanceRules(EgressRules(allowed_hosts=("a.test",)))
    assert allow_host(rules, "a.test").allowed_override is None


def test_removing_an_allowed_host_without_a_list_sets_an_empty_list_that_refuses_all() -> None:
    rules = remove_allowed_host(InstanceRules(EgressRules(enable_internet=True)), "a.test")
    assert rules.effective.allowed_hosts == ()
    assert not evaluate(rules.effective, "b.test").allowed


def test_removing_a_denied_host_lets_it_through_again() -> None:
    rules = InstanceRules(EgressRules(enable_internet=True, denied_hosts=("a.test", "b.test")))
    changed = remove_denied_host(rules, "a.test")
    assert evaluate(changed.effective, "a.test").allowed
    assert not evaluate(changed.effective, "b.test").allowed


def test_set_lists_replace_the_declared_ones() -> None:
    rules = InstanceRules(EgressRules(enable_internet=False, allowed_hosts=("a.test",)))
    changed = set_denied_hosts(set_allowed_hosts(rules, ["b.test"]), ["b.test"])
    assert changed.effective.allowed_hosts == ("b.test",)
    assert not evaluate(changed.effective, "a.test").allowed
    assert evaluate(changed.effective, "b.test").rule is Rule.DENIED_HOSTS
