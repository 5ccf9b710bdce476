"""Validation rules written once and enforced twice.

Each `Rule` carries a CEL expression (emitted into the CRD as `x-kubernetes-validations`, so
the API server rejects bad input at `kubectl apply`) and a Python check (run offline by
`render` and by the operator). Both produce the same message from one printf-style template:
the server formats it with CEL's `format()`, Python with `%`. The invalid-resource corpus in
`tests/` runs every rule through both, which keeps the two halves honest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# What Python sees as "no offender": the rule holds.
OK: None = None


@dataclass(frozen=True)
class FieldError:
    """One problem with a resource: the field path (`spec.env`) and a message for a human;
    `rule` is the shared rule that found it (None for a schema error such as a wrong type)."""

    field: str
    message: str
    rule: Rule | None = dataclass_field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Rule:
    """A rule over one value (`self`).

    `cel` is true when the value is valid. `message` is a printf template (`%s` only);
    `cel_args` are CEL expressions for its arguments and `check` returns the same arguments
    (a tuple) when the value is invalid, or None when it is valid. `field_path` points a rule
    written on an object at one of its fields (`.secrets`), as CEL's `fieldPath` does.
    """

    cel: str
    message: str
    cel_args: tuple[str, ...]
    check: Callable[[Any], tuple[Any, ...] | None]
    field_path: str | None = None

    def cel_validation(self) -> dict[str, str]:
        validation = {"rule": self.cel}
        if self.cel_args:
            validation["messageExpression"] = (
                f"{cel_string(self.message)}.format([{', '.join(self.cel_args)}])"
            )
        else:
            validation["message"] = self.message
        if self.field_path:
            validation["fieldPath"] = self.field_path
        return validation

    def violation(self, value: Any) -> str | None:
        args = self.check(value)
        if args is None:
            return None
        return self.message % args

    # pydantic calls this for `Annotated[T, rule]`: the rule lands in the field's schema.
    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("x-kubernetes-validations", []).append(self.cel_validation())
        return json_schema


def rules_of(metadata: Sequence[Any]) -> list[Rule]:
    return [item for item in metadata if isinstance(item, Rule)]


def cel_string(text: str) -> str:
    """A CEL single-quoted string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- shared grammar -------------------------------------------------------------------------

ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
ENV_NAME_RE = re.compile(ENV_NAME_PATTERN)
ENV_NAME_HINT = "use letters, digits and _, starting with a letter or _"


def first(items: Any, predicate: Callable[[Any], bool]) -> Any:
    return next((item for item in items if predicate(item)), None)


def is_blank(text: str) -> bool:
    return text.strip() == ""


# --- rule factories (one per grammar; `label` is the field as Lunora's messages name it) -----


def env_name_keys(label: str, what: str) -> Rule:
    """Keys of a map must be environment-variable names."""
    return Rule(
        cel=f"self.all(k, k.matches('{ENV_NAME_PATTERN}'))",
        message=f'`{label}` has an invalid {what} "%s": {ENV_NAME_HINT}',
        cel_args=(f"self.filter(k, !k.matches('{ENV_NAME_PATTERN}'))[0]",),
        check=lambda value: (
            (bad,) if (bad := first(value, lambda k: not ENV_NAME_RE.match(k))) is not None else OK
        ),
    )


def env_name(label: str) -> Rule:
    """A string must be an environment-variable name."""
    return Rule(
        cel=f"self.matches('{ENV_NAME_PATTERN}')",
        message=f'`{label}` "%s" is not a valid environment variable name: {ENV_NAME_HINT}',
        cel_args=("self",),
        check=lambda value: OK if ENV_NAME_RE.match(value) else (value,),
    )


def port(label: str) -> Rule:
    return Rule(
        cel="self >= 1 && self <= 65535",
        message=f"`{label}` must be an integer in 1–65535 (got %s)",
        cel_args=("self",),
        check=lambda value: OK if 1 <= value <= 65535 else (value,),
    )


def int_range(label: str, low: int, high: int | None, wording: str) -> Rule:
    cel = f"self >= {low}" + (f" && self <= {high}" if high is not None else "")
    return Rule(
        cel=cel,
        message=f"`{label}` must be {wording} (got %s)",
        cel_args=("self",),
        check=lambda value: OK if value >= low and (high is None or value <= high) else (value,),
    )


def one_of_ints(label: str, allowed: Sequence[int], why: str) -> Rule:
    listed = ", ".join(str(v) for v in allowed)
    return Rule(
        cel=f"self in [{listed}]",
        message=f"`{label}` must be one of {listed} ({why}) (got %s)",
        cel_args=("self",),
        check=lambda value: OK if value in allowed else (value,),
    )


def one_of_strings(label: str, allowed: Sequence[str], noun: str, hint: str) -> Rule:
    listed = ", ".join(allowed)
    cel_list = ", ".join(cel_string(v) for v in allowed)
    return Rule(
        cel=f"self in [{cel_list}]",
        message=f'unknown `{label}` "%s": {noun} {listed}{hint}',
        cel_args=("self",),
        check=lambda value: OK if value in allowed else (value,),
    )


def items_one_of(label: str, allowed: Sequence[str], noun: str) -> Rule:
    """Every string of a list is one of `allowed`; names the first that is not."""
    listed = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
    cel_list = "[" + ", ".join(cel_string(v) for v in allowed) + "]"
    return Rule(
        cel=f"self.all(s, s in {cel_list})",
        message=f'`{label}` entry "%s" is not {noun}: use {listed}',
        cel_args=(f"self.filter(s, !(s in {cel_list}))[0]",),
        check=lambda value: OK if (bad := first(value, lambda s: s not in allowed)) is None else (bad,),
    )


def non_blank(label: str, message: str | None = None) -> Rule:
    return Rule(
        cel="self.trim() != ''",
        message=message or f"`{label}` must be a non-empty string",
        cel_args=(),
        check=lambda value: () if is_blank(value) else OK,
    )


def non_blank_items(label: str, message: str) -> Rule:
    """Every string of a list is non-blank; names the index of the first blank one."""
    return Rule(
        cel="self.all(s, s.trim() != '')",
        message=f"{message} (entry %s is blank)",
        cel_args=("self.indexOf(self.filter(s, s.trim() == '')[0])",),
        check=lambda value: (
            OK if (i := first(range(len(value)), lambda n: is_blank(value[n]))) is None else (i,)
        ),
    )


def non_blank_keys(label: str, message: str) -> Rule:
    return Rule(
        cel="self.all(k, k.trim() != '')",
        message=message,
        cel_args=(),
        check=lambda value: () if any(is_blank(k) for k in value) else OK,
    )


def non_empty_list(message: str) -> Rule:
    return Rule(cel="size(self) > 0", message=message, cel_args=(), check=lambda value: OK if value else ())


def no_surrounding_whitespace(label: str) -> Rule:
    """Blank strings are left to the non-blank rule, so one mistake gets one message."""
    return Rule(
        cel="self.trim() == '' || self == self.trim()",
        message=f'`{label}` "%s" must not have leading or trailing whitespace',
        cel_args=("self",),
        check=lambda value: OK if is_blank(value) or value == value.strip() else (value,),
    )


def matches(pattern: str, message: str, unless_blank: bool = False) -> Rule:
    """A string matches a regular expression (RE2 and Python `re` agree on the ones used).
    With `unless_blank`, blank strings pass: a non-blank rule on the same field reports them."""
    compiled = re.compile(pattern)
    cel = f"self.matches({cel_string(pattern)})"
    return Rule(
        cel=f"self.trim() == '' || {cel}" if unless_blank else cel,
        message=message,
        cel_args=("self",),
        check=lambda value: OK if (unless_blank and is_blank(value)) or compiled.search(value) else (value,),
    )


def list_items_match(pattern: str, message: str) -> Rule:
    """Every non-blank string of a list matches a regular expression (blank entries are another
    rule's business); names the first that does not."""
    compiled = re.compile(pattern)
    literal = cel_string(pattern)

    def check(value: Any) -> tuple[Any, ...] | None:
        bad = first(value, lambda s: not is_blank(s) and not compiled.search(s))
        return OK if bad is None else (bad,)

    return Rule(
        cel=f"self.all(s, s.trim() == '' || s.matches({literal}))",
        message=message,
        cel_args=(f"self.filter(s, s.trim() != '' && !s.matches({literal}))[0]",),
        check=check,
    )
