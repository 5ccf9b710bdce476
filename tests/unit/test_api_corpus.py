"""The offline validator (pydantic models + shared rules) against the resource corpora."""

from __future__ import annotations

import pytest

from lunora_operator.api.validation import ResourceInvalid, validate_resource
from tests.support.corpus import CorpusCase, cases, contains

INVALID = cases("invalid")
VALID = cases("valid")


def test_the_invalid_corpus_covers_at_least_forty_rules() -> None:
    assert len(INVALID) >= 40
    assert all("field" in case.headers and "rule" in case.headers for case in INVALID)


@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.id)
def test_invalid_resource_is_rejected_naming_the_field(case: CorpusCase) -> None:
    with pytest.raises(ResourceInvalid) as rejected:
        validate_resource(case.document)

    messages = [error.message for error in rejected.value.errors if error.field == case.field]
    assert messages, f"expected an error for {case.field}, got {rejected.value}"
    if case.message:
        assert any(case.message in message for message in messages), messages


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
