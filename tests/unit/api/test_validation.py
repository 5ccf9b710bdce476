"""The offline validator (pydantic models + shared rules) against the resource corpora."""

from __future__ import annotations

import pytest

from lunora_operator.api.validation import ResourceInvalid, validate_resource
from tests.support.corpus import CorpusCase, cases, contains, every_rule, offline_error

INVALID = cases("invalid")
VALID = cases("valid")


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.id)
def test_invalid_resource_breaks_exactly_one_rule_naming_the_field(case: CorpusCase) -> None:
    error = offline_error(case)

    assert error.field == case.field, str(error)
    if case.message:
        assert case.message in error.message


def test_every_shared_rule_is_broken_by_some_invalid_file() -> None:
    fired = [offline_error(case).rule for case in INVALID]

    never = [rule.message for rule in every_rule() if not any(rule is hit for hit in fired)]
    assert not never, f"no file in tests/corpus/invalid breaks: {never}"
    assert all("field" in case.headers and "rule" in case.headers for case in INVALID)


@pytest.mark.parametrize("case", VALID, ids=lambda case: case.id)
def test_valid_resource_is_accepted_and_round_trips(case: CorpusCase) -> None:
    resource = validate_resource(case.document)

    wire = resource.to_wire()
    assert validate_resource(wire) == resource
    assert contains(wire["spec"], case.document["spec"])


def test_errors_name_every_broken_field_at_once() -> None:
    document = {
        "apiVersion": "lunora.sh/v1alpha1",
        "kind": "LunoraContainer",
        "metadata": {"name": "web"},
        "spec": {"app": "demo", "image": {"registry": "a/b:1"}, "defaultPort": 0, "sleepAfter": "5 minutes"},
    }

    with pytest.raises(ResourceInvalid) as rejected:
        validate_resource(document)

    assert {error.field for error in rejected.value.errors} == {"spec.defaultPort", "spec.sleepAfter"}
    assert str(rejected.value).startswith('LunoraContainer "web" is invalid:')


def test_unknown_kind_is_named() -> None:
    with pytest.raises(ResourceInvalid) as rejected:
        validate_resource({"kind": "Deployment", "metadata": {"name": "x"}})

    assert rejected.value.errors[0].field == "kind"
