"""The resource corpora under tests/corpus: valid resources, and invalid ones that each break
one rule. An invalid file names what it breaks in header comments:

    # rule: <what is broken>
    # checklist: <the number of the Lunora conformance-checklist item it covers, when there is one>
    # field: <the field path every validator must name>
    # message: <text both validators must print, when the rule carries its own wording>
    # wrangler: <what the real wrangler says about the config entry the resource would give,
    #            for rules wrangler enforces too>
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from lunora_operator.api.base import ApiModel
from lunora_operator.api.resources import RESOURCE_TYPES
from lunora_operator.api.rules import FieldError, Rule
from lunora_operator.api.validation import ResourceInvalid, field_rules, validate_resource

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


@dataclass(frozen=True)
class CorpusCase:
    path: Path
    text: str
    document: dict[str, Any]
    headers: dict[str, str]

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def field(self) -> str:
        return self.headers["field"]

    @property
    def message(self) -> str | None:
        return self.headers.get("message")

    @property
    def wrangler_error(self) -> str | None:
        return self.headers.get("wrangler")

    @property
    def kind(self) -> str:
        return self.document["kind"]


def _load(path: Path) -> CorpusCase:
    text = path.read_text()
    headers = dict(
        line[2:].split(": ", 1) for line in text.splitlines() if line.startswith("# ") and ": " in line
    )
    return CorpusCase(path=path, text=text, document=yaml.safe_load(text), headers=headers)


def cases(kind: str) -> list[CorpusCase]:
    return [_load(path) for path in sorted((CORPUS / kind).glob("*.yaml"))]


def contains(whole: Any, part: Any) -> bool:
    """True when every value of `part` appears in `whole` at the same place (defaults may add more)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            key in whole and contains(whole[key], value) for key, value in part.items()
        )
    if isinstance(part, list):
        return isinstance(whole, list) and len(whole) == len(part) and all(map(contains, whole, part))
    return whole == part and type(whole) is type(part)


def every_rule() -> list[Rule]:
    """Every shared rule of both kinds: root rules, object rules and field rules, once each."""
    found: list[Rule] = []
    seen: set[type[Any]] = set()

    def walk(model: type[ApiModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        found.extend(model.object_rules)
        for field in model.model_fields.values():
            found.extend(field_rules(field))
            for nested in _models_in(field.annotation):
                walk(nested)

    for resource in RESOURCE_TYPES:
        found.extend(resource.root_rules)
        walk(resource.spec_model())
    unique: list[Rule] = []
    for rule in found:
        if not any(rule is other for other in unique):
            unique.append(rule)
    return unique


def _models_in(annotation: Any) -> list[type[ApiModel]]:
    if isinstance(annotation, type) and issubclass(annotation, ApiModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def offline_error(case: CorpusCase) -> FieldError:
    """The one rule an invalid case breaks, as the offline validator reports it."""
    with pytest.raises(ResourceInvalid) as rejected:
        validate_resource(case.document)
    assert len(rejected.value.errors) == 1, f"{case.id} breaks more than one rule: {rejected.value}"
    return rejected.value.errors[0]
