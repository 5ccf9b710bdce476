"""One editing interface over wrangler.toml (tomlkit) and wrangler.jsonc (our JSONC editor).

Both keep everything they are not told to change byte-for-byte: comments, ordering,
formatting. Paths are sequences of object keys and array indexes, as in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any, Literal, Protocol

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Array, InlineTable, Table

from lunora_operator.wrangler.jsonc import JsoncDocument, JsoncError

Format = Literal["toml", "jsonc"]
Path = Sequence[str | int]
SUFFIX_FORMATS: dict[str, Format] = {".toml": "toml", ".jsonc": "jsonc", ".json": "jsonc"}
FILE_NAMES: dict[Format, str] = {"toml": "wrangler.toml", "jsonc": "wrangler.jsonc"}


class WranglerConfigError(ValueError):
    """The wrangler config cannot be parsed; carries the 1-based line and column."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}")


class WranglerDocument(Protocol):
    format: Format

    @property
    def text(self) -> str: ...
    def get(self, path: Path) -> Any: ...
    def set(self, path: Path, value: Any) -> None: ...
    def append(self, path: Path, value: Any) -> None: ...
    def extend(self, path: Path, values: Sequence[Any]) -> None: ...
    def remove(self, path: Path) -> None: ...
    def remove_items(self, path: Path, indexes: Collection[int]) -> None: ...


def lookup(document: WranglerDocument, path: Path, default: Any = None) -> Any:
    """The plain value at path, or default when any part of the path is missing."""
    try:
        return document.get(path)
    except (KeyError, IndexError, TypeError):
        return default


class JsoncWranglerDocument(JsoncDocument):
    format: Format = "jsonc"

    def __init__(self, text: str) -> None:
        try:
            super().__init__(text)
        except JsoncError as error:
            raise WranglerConfigError(error.message, error.line, error.column) from None


class TomlWranglerDocument:
    format: Format = "toml"

    def __init__(self, text: str) -> None:
        try:
            self._doc = tomlkit.parse(text)
        except ParseError as error:
            raise WranglerConfigError(str(error).split(" at line ")[0], error.line, error.col) from None

    @property
    def text(self) -> str:
        return tomlkit.dumps(self._doc)

    def get(self, path: Path) -> Any:
        node: Any = self._doc
        for part in path:
            node = node[part]
        return node.unwrap() if hasattr(node, "unwrap") else node

    def set(self, path: Path, value: Any) -> None:
        *parents, key = path
        if _same(lookup(self, path, _MISSING), value):
            return
        container = self._container(parents, create=True)
        if isinstance(container, (AoT, Array)):
            assert isinstance(key, int)
            container[key] = _item(value, inline=True)
        else:
            item = _item(value, inline=not isinstance(container, (Table, tomlkit.TOMLDocument)))
            if isinstance(item, Table) and key not in container and not self.text.endswith("\n\n"):
                item.trivia.indent = "\n"
            container[key] = item

    def append(self, path: Path, value: Any) -> None:
        *parents, key = path
        parent = self._container(parents, create=True)
        if key not in parent:
            if isinstance(value, dict) and not isinstance(parent, InlineTable):
                parent[key] = tomlkit.aot()
            else:
                parent[key] = tomlkit.array()
        target = parent[key]
        if isinstance(target, AoT):
            table = _aot_table(value, target)
            if not target.body and not self.text.endswith("\n\n"):
                table.trivia.indent = "\n"  # a new section starts after a blank line
            target.append(table)
        else:
            target.append(_item(value, inline=True))
            if len(target) > 1 and "\n" in target.as_string():
                target.multiline(True)

    def extend(self, path: Path, values: Sequence[Any]) -> None:
        for value in values:
            self.append(path, value)

    def remove(self, path: Path) -> None:
        *parents, key = path
        container = self._container(parents, create=False)
        del container[key]

    def remove_items(self, path: Path, indexes: Collection[int]) -> None:
        for index in sorted(set(indexes), reverse=True):
            self.remove([*path, index])

    def _container(self, parents: Sequence[str | int], create: bool) -> Any:
        node: Any = self._doc
        for depth, part in enumerate(parents):
            if isinstance(part, str) and part not in node:
                if not create:
                    raise KeyError(part)
                if any(isinstance(earlier, int) for earlier in parents[:depth]):
                    # Inside an array element (a [[containers]] entry): `constraints = { … }`.
                    node[part] = tomlkit.inline_table()
                else:
                    # A table only holding other tables prints as [a.b] headers, not an empty [a].
                    node[part] = tomlkit.table(is_super_table=depth + 1 < len(parents) or None)
            node = node[part]
        return node


_MISSING = object()


def _same(current: Any, wanted: Any) -> bool:
    return current is not _MISSING and type(current) is type(wanted) and current == wanted


def _item(value: Any, inline: bool) -> Any:
    if isinstance(value, dict):
        table = tomlkit.inline_table() if inline else tomlkit.table()
        for key, child in value.items():
            table[key] = _item(child, inline=True)
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        for child in value:
            array.append(_item(child, inline=True))
        return array
    return tomlkit.item(value)


def _aot_table(value: dict[str, Any], aot: AoT) -> Table:
    """A new [[element]] that keeps one blank line between itself and its neighbours."""
    table = tomlkit.table()
    for key, child in value.items():
        table[key] = _item(child, inline=True)
    previous = aot.body[-1].as_string() if aot.body else ""
    if previous.endswith("\n\n"):
        table.add(tomlkit.nl())
    elif aot.body:
        table.trivia.indent = "\n"
    return table


def open_document(text: str, format: Format) -> WranglerDocument:
    if format == "toml":
        return TomlWranglerDocument(text)
    return JsoncWranglerDocument(text)


def empty_text(format: Format, worker_name: str) -> str:
    """A config to start from when the app names no base config."""
    if format == "toml":
        return tomlkit.dumps({"name": worker_name})
    return json.dumps({"name": worker_name}, indent=2) + "\n"


def format_of(file_name: str) -> Format | None:
    for suffix, fmt in SUFFIX_FORMATS.items():
        if file_name.endswith(suffix):
            return fmt
    return None
