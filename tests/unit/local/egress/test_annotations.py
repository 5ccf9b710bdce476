from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lunora_operator.local.egress.annotations import (
    ALLOWED_HOSTS,
    ENABLE_INTERNET,
    AnnotationError,
    rules_annotations,
    rules_from_annotations,
)
from lunora_operator.local.egress.rules import EgressRules

HOSTS = st.none() | st.lists(st.text(alphabet="ab.*-", min_size=1, max_size=6).filter(str.strip), max_size=3)
FLAG = st.none() | st.booleans()


@given(FLAG, HOSTS, HOSTS, FLAG)
def test_declared_rules_survive_the_round_trip(
    internet: bool | None, allowed: list[str] | None, denied: list[str] | None, intercept: bool | None
) -> None:
    annotations = rules_annotations(
        enable_internet=internet, allowed_hosts=allowed, denied_hosts=denied, intercept_https=intercept
    )
    assert rules_from_annotations(annotations) == EgressRules(
        enable_internet=True if internet is None else internet,
        allowed_hosts=None if allowed is None else tuple(allowed),
        denied_hosts=None if denied is None else tuple(denied),
        intercept_https=bool(intercept),
    )


def test_nothing_declared_writes_nothing_and_reads_as_the_platform_defaults() -> None:
    assert (
        rules_annotations(enable_internet=None, allowed_hosts=None, denied_hosts=None, intercept_https=None)
        == {}
    )
    assert rules_from_annotations({}) == EgressRules(enable_internet=True)


def test_an_empty_allow_list_stays_set() -> None:
    annotations = rules_annotations(
        enable_internet=None, allowed_hosts=[], denied_hosts=None, intercept_https=None
    )
    assert annotations == {ALLOWED_HOSTS: "[]"}
    assert rules_from_annotations(annotations).allowed_hosts == ()


@pytest.mark.parametrize(
    ("annotations", "message"),
    [
        ({ENABLE_INTERNET: "yes"}, 'lunora.sh/enable-internet must be "true" or "false"'),
        ({ALLOWED_HOSTS: "a.test"}, "lunora.sh/allowed-hosts must be a JSON array"),
        (
            {ALLOWED_HOSTS: '["a.test", ""]'},
            "lunora.sh/allowed-hosts must be a JSON array of non-empty",
        ),
        ({ALLOWED_HOSTS: '{"a": 1}'}, "lunora.sh/allowed-hosts must be a JSON array of non-empty"),
    ],
)
def test_a_bad_annotation_is_named(annotations: dict[str, str], message: str) -> None:
    with pytest.raises(AnnotationError, match=message.replace(".", r"\.").replace("[", r"\[")):
        rules_from_annotations(annotations)
