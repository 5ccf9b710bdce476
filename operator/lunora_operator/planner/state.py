"""The state record (`lunora-render.json` offline, a key of the app's output ConfigMap in the
cluster): the containers a render owns and the orphans whose entries it keeps carrying, so the
next render can delete a container whose resource is gone according to its deletionPolicy."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

STATE_FILE = "lunora-render.json"
"""The record's name: the file beside an offline render's output, the output ConfigMap's key."""


class StateRecordInvalid(ValueError):
    """The record cannot be read; `problems` are (line or None, message) pairs."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))

    def located(self, source: str) -> list[str]:
        """The problems prefixed with where the record came from (`out/lunora-render.json:3`)."""
        return [
            f"{source}:{line}: {message}" if line else f"{source}: {message}"
            for line, message in self.problems
        ]


class _Record(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True, frozen=True
    )


class OwnedContainer(_Record):
    resource: str
    export_name: str
    class_name: str
    binding_name: str
    deletion_policy: Literal["Delete", "Orphan"]
    entry_keys: list[str] | None = None
    """The keys of the containers[] entry the render wrote (`constraints.regions` for nested
    ones). Records written before this field existed lack it: then nothing is known to be ours."""


class OrphanedContainer(_Record):
    resource: str
    class_name: str
    binding_name: str


class RenderState(_Record):
    """What one render of an app owns. Delete an entry of `orphaned` to let its config go."""

    app: str
    worker_name: str | None
    containers: list[OwnedContainer] = []
    orphaned: list[OrphanedContainer] = []

    def to_json(self) -> str:
        record = self.model_dump(by_alias=True, mode="json")
        for owned in record["containers"]:
            if owned["entryKeys"] is None:
                del owned["entryKeys"]
        return json.dumps(record, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RenderState:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise StateRecordInvalid([(error.lineno, f"not valid JSON: {error.msg}")]) from None
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            problems: list[tuple[int | None, str]] = []
            for item in error.errors(include_url=False):
                where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in item["loc"])
                problems.append((None, f"{where.lstrip('.') or 'the record'}: {item['msg']}"))
            raise StateRecordInvalid(problems) from None
