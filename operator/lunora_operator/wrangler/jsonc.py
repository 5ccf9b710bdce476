"""Style-preserving JSONC (JSON with comments and trailing commas) parser and editor.

Edits work like the npm package ``jsonc-parser``'s ``modify()``/``applyEdits()``: only the bytes
that must change are rewritten, so comments, blank lines, key order, indentation and trailing
commas elsewhere in the document survive byte-for-byte.

No PyPI package was suitable (checked: jsonc-parser, json5, pyjson5, commentjson, jsoncomment,
json-five, json5kit, jsoncgx, jsonc-edit): most only parse; json-five round-trips but offers no
edit operations, json5kit rejects block comments, jsoncgx rejects trailing commas and is GPL,
jsonc-edit drives Node.js and installs npm packages at run time.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JsoncDocument", "JsoncError", "parse"]

JsonPath = Sequence[str | int]
_Edit = tuple[int, int, str]  # (start, end, replacement) on the current text

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_LITERAL = re.compile(r"(true|false|null)(?![A-Za-z0-9_$])")
_LITERAL_VALUES: dict[str, Any] = {"true": True, "false": False, "null": None}
_REST_OF_LINE = re.compile(r"[^\r\n]*")
_COLON = re.compile(r"[ \t]*:[ \t]*")
_WHITESPACE = " \t\r\n"


class JsoncError(ValueError):
    """Malformed JSONC; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} at line {line}, column {column}")
        self.message = message
        self.line = line
        self.column = column

    @classmethod
    def at(cls, text: str, offset: int, message: str) -> JsoncError:
        line_start = text.rfind("\n", 0, offset) + 1
        return cls(message, text.count("\n", 0, offset) + 1, offset - line_start + 1)


@dataclass
class _Node:
    kind: str  # "object", "array", "string", "number" or "literal"
    start: int
    end: int
    plain: Any
    items: list[_Item] = field(default_factory=list)


@dataclass
class _Item:
    """An object member or array element; ``start`` is where its key (or value) begins and
    ``lead`` where the blanks and comments before it begin (just after the previous comma or
    the opening bracket)."""

    key: str | None
    lead: int
    start: int
    key_end: int | None
    value: _Node
    comma: int | None  # offset of the comma that follows it, if any


def parse(text: str) -> Any:
    """Parse JSONC into plain Python values; raise JsoncError on malformed input."""
    return _Parser(text).parse().plain


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 1 if text.startswith("\ufeff") else 0

    def error(self, message: str, offset: int | None = None) -> JsoncError:
        return JsoncError.at(self.text, self.pos if offset is None else offset, message)

    def parse(self) -> _Node:
        try:
            self.skip()
            root = self.value()
            self.skip()
        except RecursionError:
            raise self.error("nesting too deep") from None
        if self.pos < len(self.text):
            raise self.error("unexpected content after the top-level value")
        return root

    def skip(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text):
            if text[pos] in _WHITESPACE:
                pos += 1
            elif text.startswith("//", pos):
                pos = _line_comment_end(text, pos)
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2)
                if end < 0:
                    raise self.error("unterminated block comment", pos)
                pos = end + 2
            else:
                break
        self.pos = pos

    def peek(self) -> str:
        if self.pos >= len(self.text):
            raise self.error("unexpected end of input")
        return self.text[self.pos]

    def value(self) -> _Node:
        text, start = self.text, self.pos
        char = self.peek()
        if char in "{[":
            return self.container(char == "{")
        if char == '"':
            self.pos = self.string_end(start)
            return _Node("string", start, self.pos, json.loads(text[start : self.pos]))
        if number := _NUMBER.match(text, start):
            self.pos = number.end()
            raw = number.group()
            plain = float(raw) if any(c in raw for c in ".eE") else int(raw)
            return _Node("number", start, self.pos, plain)
        if literal := _LITERAL.match(text, start):
            self.pos = literal.end()
            return _Node("literal", start, self.pos, _LITERAL_VALUES[literal.group()])
        raise self.error(f"unexpected character {char!r}, expected a value")

    def string_end(self, start: int) -> int:
        if match := _STRING.match(self.text, start):
            return match.end()
        pos = start + 1  # find the reason the fast path failed, for the error position
        while pos < len(self.text):
            char = self.text[pos]
            if char == '"':
                return pos + 1
            if char in "\r\n":
                break
            if ord(char) < 0x20:
                raise self.error("control character in string", pos)
            if char == "\\":
                if not re.match(r'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})', self.text[pos : pos + 6]):
                    raise self.error("invalid escape sequence in string", pos)
                pos += 1
            pos += 1
        raise self.error("unterminated string", start)

    def container(self, is_object: bool) -> _Node:
        text, start = self.text, self.pos
        close = "}" if is_object else "]"
        items: list[_Item] = []
        plain: Any = {} if is_object else []
        self.pos += 1
        lead = self.pos
        self.skip()
        while self.peek() != close:
            item_start, key, key_end = self.pos, None, None
            if is_object:
                if self.peek() != '"':
                    raise self.error("expected a property name in double quotes")
                key_end = self.string_end(item_start)
                key = json.loads(text[item_start:key_end])
                self.pos = key_end
                self.skip()
                if self.peek() != ":":
                    raise self.error("expected ':' after the property name")
                self.pos += 1
                self.skip()
            value = self.value()
            self.skip()
            comma = None
            next_lead = self.pos
            if self.peek() == ",":
                comma = self.pos
                self.pos += 1
                next_lead = self.pos
                self.skip()
            items.append(_Item(key, lead, item_start, key_end, value, comma))
            lead = next_lead
            if is_object:
                plain[key] = value.plain  # a repeated key wins, as with json.loads
            else:
                plain.append(value.plain)
            if comma is None and self.peek() != close:
                raise self.error(f"expected ',' or '{close}'")
        self.pos += 1
        return _Node("object" if is_object else "array", start, self.pos, plain, items)


class JsoncDocument:
    """A JSONC text that can be edited in place, preserving everything an edit does not touch.

    Paths are sequences of object keys (str) and array indexes (int, negative counts from the end).

    Edits are batched: each one is computed against the last parsed tree and queued; the queue is
    applied, re-parsed and checked against the expected value once, when ``text`` is read or
    when an edit needs a part of the tree that a queued edit changes. A render of many
    containers therefore parses its document a few times, not once per edit.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._root = _Parser(text).parse()
        self._value = copy.deepcopy(self._root.plain)  # the value with every queued edit applied
        self._pending = _Queue()
        self._marks = _Marks()
        self._eol = "\r\n" if "\r\n" in text else "\n"
        self._unit = self._detect_indent_unit()

    @property
    def text(self) -> str:
        self._flush()
        return self._text

    def get(self, path: JsonPath) -> Any:
        """Return a copy of the plain value at ``path``; KeyError/IndexError if it is absent."""
        return copy.deepcopy(self._lookup(_check_path(path)))

    def _lookup(self, keys: list[str | int]) -> Any:
        current = self._value
        for segment in keys:
            if isinstance(segment, str):
                if not isinstance(current, dict):
                    raise KeyError(segment)
                current = current[segment]
            else:
                if not isinstance(current, list):
                    raise IndexError(f"array index {segment} on a non-array")
                current = current[segment]
        return current

    def set(self, path: JsonPath, value: Any) -> None:
        """Replace the value at ``path``, or add the missing object key (creating missing parents)."""
        keys = _check_path(path)
        new = _normalize(value)
        self._edit(lambda: self._set_edits(keys, new))

    def append(self, path: JsonPath, value: Any) -> None:
        """Append to the array at ``path``, creating it under a missing object key."""
        self.extend(path, [value])

    def extend(self, path: JsonPath, values: Sequence[Any]) -> None:
        """Append several values to the array at ``path`` in one edit, creating it when missing."""
        keys = _check_path(path)
        new = [_normalize(value) for value in values]
        if new:
            self._edit(lambda: self._extend_edits(keys, new))

    def remove_items(self, path: JsonPath, indexes: Collection[int]) -> None:
        """Remove several elements of the array at ``path`` at once (indexes into it as it is)."""
        keys = _check_path(path)
        if not indexes:
            return
        if self._edit(lambda: self._removals(keys, sorted(set(indexes)))) is None:
            for index in sorted(set(indexes), reverse=True):  # the items share lines: one by one
                self.remove([*keys, index])

    def remove(self, path: JsonPath) -> None:
        """Remove an object member (every occurrence of a repeated key) or an array element."""
        keys = _check_path(path)
        if not keys:
            raise ValueError("cannot remove the document root")
        self._lookup(keys)  # raises KeyError/IndexError when absent
        while (planned := self._edit(lambda: self._removal(keys[:-1], keys[-1]))) and planned.again:
            pass

    # -- queueing --------------------------------------------------------------------------------

    def _edit(self, plan: Callable[[], _Planned | None]) -> _Planned | None:
        """Runs ``plan`` against the parsed tree; when the part it reads has queued changes, the
        queue is applied first and ``plan`` runs again on the fresh tree."""
        try:
            planned = plan()
        except _Stale:
            self._flush()
            planned = plan()
        if planned is not None:
            self._marks.add(planned.marks)
            self._pending.add(planned.edits)
            self._value = planned.apply(self._value)
        return planned

    def _flush(self) -> None:
        if not self._pending:
            return
        text = _splice(self._text, self._pending.edits)
        try:
            root = _Parser(text).parse()
        except JsoncError as exc:  # pragma: no cover - a bug in this module, never in the input
            raise RuntimeError(f"jsonc edit produced invalid JSONC: {exc}") from exc
        if not _same(root.plain, self._value):  # pragma: no cover - same
            raise RuntimeError("jsonc edit produced an unexpected value")
        self._text, self._root = text, root
        self._pending, self._marks = _Queue(), _Marks()

    def _fresh(self, start: int, end: int) -> None:
        """Raises _Stale when a queued edit changes the text between start and end."""
        if self._pending.touches(start, end):
            raise _Stale

    # -- navigation ------------------------------------------------------------------------------

    def _child(self, node: _Node, segment: str | int) -> _Item | None:
        """The item at ``segment`` in ``node``, or None for a missing object key."""
        self._marks.check(node, segment)
        if node.kind == "object":
            if not isinstance(segment, str):
                raise TypeError(f"cannot use index {segment!r} on an object")
            return next((item for item in reversed(node.items) if item.key == segment), None)
        if node.kind == "array":
            if not isinstance(segment, int):
                raise TypeError(f"cannot use key {segment!r} on an array")
            return node.items[_index(node, segment)]
        raise TypeError(f"cannot look up {segment!r} in a {node.kind}")

    def _node_at(self, keys: list[str | int]) -> _Node:
        node = self._root
        for segment in keys:
            child = self._child(node, segment)
            if child is None:
                raise KeyError(segment)
            node = child.value
        return node

    # -- edit planning ---------------------------------------------------------------------------

    def _set_edits(self, keys: list[str | int], new: Any) -> _Planned | None:
        node, item = self._root, None
        for depth, segment in enumerate(keys):
            child = self._child(node, segment)
            if child is None:
                assert isinstance(segment, str)
                nested = new
                for key in reversed(keys[depth + 1 :]):
                    if isinstance(key, int):
                        raise IndexError(f"cannot create array index {key}: {keys[: depth + 1]} is missing")
                    nested = {key: nested}
                self._fresh(*self._tail(node))
                edits = self._insert_last(node, [self._member_maker(node, segment, nested)])
                marks = _Marks(keys={id(node): {segment}})
                return _Planned(edits, lambda value: _assigned(value, keys, new), marks)
            node, item = child.value, child
        self._fresh(node.start, node.end)
        if _same(node.plain, new):
            return None
        # A value that sits in a packed line, or a one-line non-empty container, stays on one line.
        one_line = (item is not None and not self._starts_line(item.start)) or _is_packed(self._text, node)
        if one_line:
            replacement = _inline(new, self._inline_style(node) if node.items else self._style_around(keys))
        else:
            replacement = self._dump(new, self._line_indent(node.start))
        marks = _Marks(replaced={id(node)})
        return _Planned(
            [(node.start, node.end, replacement)], lambda value: _assigned(value, keys, new), marks
        )

    def _extend_edits(self, keys: list[str | int], new: list[Any]) -> _Planned:
        node = self._root
        for depth, segment in enumerate(keys):
            child = self._child(node, segment)
            if child is None:
                # A missing array: create it holding the values.
                planned = self._set_edits(keys[: depth + 1], _nest(keys[depth + 1 :], list(new)))
                assert planned is not None
                return planned
            node = child.value
        self._marks.check(node, None)
        self._fresh(*self._tail(node))
        if node.kind != "array":
            raise TypeError(f"cannot append to a {node.kind} at {keys!r}")
        # Elements follow the last one's style: a packed container element gets a packed sibling.
        last = node.items[-1].value if node.items else None
        if last is not None and _is_packed(self._text, last):
            style = self._inline_style(last)
            makers = [_fixed(_inline(value, style)) for value in new]
        else:
            makers = [self._maker(value) for value in new]
        edits = self._insert_last(node, makers)

        def apply(value: Any) -> Any:
            _resolve(value, keys).extend(new)
            return value

        return _Planned(edits, apply, _Marks(appended={id(node)}))

    def _removal(self, parent_keys: list[str | int], last: str | int) -> _Planned:
        """Removes one item; for a repeated key the last occurrence, with `again` set so that
        the caller removes the others too."""
        parent = self._node_at(parent_keys)
        self._marks.check(parent, last)
        if isinstance(last, int):
            index = _index(parent, last)
            earlier = []
        else:
            index = max(i for i, item in enumerate(parent.items) if item.key == last)
            earlier = [item for item in parent.items[:index] if item.key == last]

        def apply(value: Any) -> Any:
            target = _resolve(value, parent_keys)
            if earlier:  # the value of an earlier occurrence of the key shows again
                target[last] = copy.deepcopy(earlier[-1].value.plain)
            else:
                del target[index if isinstance(last, int) else last]
            return value

        edits = self._removal_edits(parent, index)
        previous_comma = parent.items[index - 1].comma if index > 0 else None
        lead = parent.items[index].lead
        if len(parent.items) == 1:
            self._fresh(parent.start, parent.end)
        else:
            self._fresh(
                previous_comma if previous_comma is not None else lead, max(end for _, end, _ in edits)
            )
        removed = parent.items[index].value
        marks = (
            _Marks(keys={id(parent): {last}}, replaced={id(removed)})
            if isinstance(last, str)
            else _Marks(removed_from={id(parent): index}, replaced={id(removed)})
        )
        return _Planned(edits, apply, marks, again=bool(earlier))

    def _removals(self, keys: list[str | int], indexes: list[int]) -> _Planned | None:
        """One edit set removing several array items; None when their edits would overlap."""
        array = self._node_at(keys)
        self._marks.check(array, None)
        if array.kind != "array":
            raise TypeError(f"cannot remove items from a {array.kind} at {keys!r}")
        indexes = sorted({_index(array, index) for index in indexes})
        survivors = [i for i in range(len(array.items)) if i not in set(indexes)]
        if not survivors and len(array.items) > 1:
            text, items = self._text, array.items
            gaps = [text[array.start + 1 : items[0].start], text[_after(items[-1]) : array.end - 1]]
            gaps += [text[_after(a) : b.start] for a, b in itertools.pairwise(items)]
            if any(gap.strip() for gap in gaps):
                return None  # comments between the items: let each go with its own
            edits: list[_Edit] = [(array.start + 1, array.end - 1, "")]
        elif not survivors:
            edits = self._removal_edits(array, 0)
        else:
            edits = []
            for index in indexes:
                last = index == len(array.items) - 1
                edits += self._removal_edits(array, index, survivors[-1] if last else -1)
        edits.sort(key=lambda edit: edit[0])
        if any(a[1] > b[0] for a, b in itertools.pairwise(edits)):
            return None
        first = array.items[indexes[0]]
        before = array.items[indexes[0] - 1].comma if indexes[0] > 0 else None
        self._fresh(
            min(before if before is not None else first.lead, edits[0][0]), max(end for _, end, _ in edits)
        )

        def apply(value: Any) -> Any:
            target = _resolve(value, keys)
            for index in reversed(indexes):
                del target[index]
            return value

        replaced = {id(array.items[index].value) for index in indexes}
        return _Planned(edits, apply, _Marks(removed_from={id(array): indexes[0]}, replaced=replaced))

    def _tail(self, container: _Node) -> tuple[int, int]:
        """The text an insertion after a container's last item depends on."""
        return (container.items[-1].value.end if container.items else container.start, container.end)

    def _insert_last(self, container: _Node, makers: Sequence[Callable[[str | None], str]]) -> list[_Edit]:
        """Edits adding items after the last one; ``make(indent)`` renders one (None: one line)."""
        text, eol = self._text, self._eol
        open_, close = container.start, container.end - 1
        if not container.items:
            base = self._line_indent(open_)
            inner = base + self._unit
            body = ("," + eol + inner).join(make(inner) for make in makers)
            if not text[open_ + 1 : close].strip():
                return [(open_ + 1, close, eol + inner + body + eol + base)]
            close_line = _line_start(text, close)
            if not text[close_line:close].strip(" \t"):  # keep the comments inside above the items
                return [(close_line, close_line, inner + body + eol)]
            return [(close, close, eol + inner + body + eol + base)]
        last = container.items[-1]
        trailing = last.comma is not None
        if self._line_cut(last) is not None:
            indent = self._line_indent(last.start)
            after = last.comma + 1 if last.comma is not None else last.value.end
            # Insert past the comments on the last item's line so that they stay with it.
            last_comment, stop = self._same_line_trivia(after)
            anchor = stop if stop == len(text) or text[stop] in "\r\n" else last_comment
            body = ",".join(eol + indent + make(indent) for make in makers) + ("," if trailing else "")
            comma: list[_Edit] = [] if trailing else [(last.value.end, last.value.end, ",")]
            return [*comma, (anchor, anchor, body)]
        separator = " "
        if len(container.items) > 1:
            previous = container.items[-2]
            assert previous.comma is not None
            gap = text[previous.comma + 1 : last.start]
            if not gap.strip(" \t"):
                separator = gap
        body = ("," + separator).join(make(None) for make in makers)
        if last.comma is not None:
            return [(last.comma + 1, last.comma + 1, separator + body + ",")]
        return [(last.value.end, last.value.end, "," + separator + body)]

    def _removal_edits(self, container: _Node, index: int, previous: int | None = -1) -> list[_Edit]:
        """Removes the item with the comments that are its own: those on the lines only it
        occupies, or, when it shares a line, those between its key and its comma. ``previous``
        is the item that will come before it (None: none; the default: the one before it)."""
        text = self._text
        items = container.items
        item = items[index]
        after = item.comma + 1 if item.comma is not None else item.value.end
        rest = text[container.start + 1 : item.start] + text[after : container.end - 1]
        if len(items) == 1 and not rest.strip():  # the container becomes empty: collapse to {} or []
            return [(container.start + 1, container.end - 1, "")]
        if previous == -1:
            previous = index - 1 if index > 0 else None
        previous_comma = items[previous].comma if previous is not None else None
        drop_previous_comma = index == len(items) - 1 and item.comma is None and previous_comma is not None
        cut = self._line_cut(item)
        _, stop = self._same_line_trivia(after)
        if cut is not None and (stop == len(text) or text[stop] in "\r\n"):
            line_end = min(stop + (2 if text.startswith("\r\n", stop) else 1), len(text))
            edits: list[_Edit] = [(cut, line_end, "")]
        elif index < len(items) - 1:
            start, end = item.start, after  # its own text and comma, and the blanks up to the next item
            while end < len(text) and text[end] in " \t":
                end += 1
            if (end == len(text) or text[end] in "\r\n") and not text[item.lead : item.start].strip(" \t"):
                start = item.lead  # it ended its line: no blanks left dangling at the end of it
            edits = [(start, end, "")]
        else:
            # The last item: its text and the blanks before it (with the comma before it when it
            # has none of its own), but no comment, which may belong to the item before.
            start = item.start
            if previous_comma is not None and not text[previous_comma + 1 : item.start].strip():
                start = previous_comma if drop_previous_comma else previous_comma + 1
                drop_previous_comma = False
            edits = [(start, after, "")]
        if previous_comma is not None and drop_previous_comma:
            edits.append((previous_comma, previous_comma + 1, ""))
        return edits

    def _member_maker(self, obj: _Node, key: str, value: Any) -> Callable[[str | None], str]:
        colon = ": "
        if obj.items:
            last = obj.items[-1]
            assert last.key_end is not None
            gap = self._text[last.key_end : last.value.start]
            if _COLON.fullmatch(gap):
                colon = gap
        prefix = json.dumps(key, ensure_ascii=False) + colon
        style = self._inline_style(obj)
        return lambda indent: (
            prefix + (_inline(value, style) if indent is None else self._dump(value, indent))
        )

    def _maker(self, value: Any) -> Callable[[str | None], str]:
        return lambda indent: self._dump(value, indent)

    def _dump(self, value: Any, indent: str | None) -> str:
        """Serialize ``value`` on one line (indent None) or pretty, for a line indented by ``indent``."""
        if indent is None:
            return json.dumps(value, ensure_ascii=False)
        return json.dumps(value, ensure_ascii=False, indent=self._unit).replace("\n", self._eol + indent)

    # -- layout ----------------------------------------------------------------------------------

    def _inline_style(self, node: _Node) -> _InlineStyle:
        """How a packed container (and the containers inside it) is spaced."""
        text = self._text
        brace = bracket = None
        colon = comma = None
        pending = [node]
        while pending:
            current = pending.pop(0)
            if not current.items or _has_newline(text[current.start : current.end]):
                continue
            pad = text[current.start + 1 : current.items[0].start]
            pad = pad if not pad.strip(" \t") else ""
            first = current.items[0]
            if current.kind == "object":
                brace = pad if brace is None else brace
                assert first.key_end is not None
                gap = text[first.key_end : first.value.start]
                colon = gap if colon is None and _COLON.fullmatch(gap) else colon
            else:
                bracket = pad if bracket is None else bracket
            if comma is None and len(current.items) > 1 and first.comma is not None:
                gap = text[first.comma : current.items[1].start]
                comma = gap if not gap[1:].strip(" \t") else None
            pending += [item.value for item in current.items]
        return _InlineStyle(
            brace=brace if brace is not None else "",
            bracket=bracket if bracket is not None else "",
            colon=colon if colon is not None else ": ",
            comma=comma if comma is not None else ", ",
        )

    def _style_around(self, keys: list[str | int]) -> _InlineStyle:
        """The style of the innermost packed container holding ``keys``."""
        node, style = self._root, _InlineStyle()
        for segment in keys[:-1]:
            child = self._child(node, segment)
            if child is None:
                break
            node = child.value
            if _is_packed(self._text, node):
                style = self._inline_style(node)
        return style

    def _starts_line(self, offset: int) -> bool:
        return not self._text[_line_start(self._text, offset) : offset].strip(" \t")

    def _line_cut(self, item: _Item) -> int | None:
        """Where the line of ``item`` starts, when everything before it on that line is blanks
        and whole comments (which then belong to it); None when it shares the line with the
        token before it or a comment that began on an earlier line."""
        text, pos, cut = self._text, item.lead, None
        while pos < item.start:
            if text[pos] in "\r\n":
                pos += 1
                cut = pos
            elif text[pos] in " \t":
                pos += 1
            elif text.startswith("//", pos):
                pos = _line_comment_end(text, pos)
            else:  # a block comment: the parser has checked it is closed
                pos = text.index("*/", pos + 2) + 2
        return cut

    def _line_indent(self, offset: int) -> str:
        start = _line_start(self._text, offset)
        end = start
        while end < len(self._text) and self._text[end] in " \t":
            end += 1
        return self._text[start:end]

    def _same_line_trivia(self, offset: int) -> tuple[int, int]:
        """Skip blanks and comments on ``offset``'s line: (end of the last comment, where it stopped)."""
        text, pos, last = self._text, offset, offset
        while pos < len(text):
            if text[pos] in " \t":
                pos += 1
            elif text.startswith("//", pos):
                pos = last = _line_comment_end(text, pos)
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2) + 2
                if end < 2 or _has_newline(text[pos:end]):
                    break
                pos = last = end
            else:
                break
        return last, pos

    def _detect_indent_unit(self) -> str:
        """The most common indentation step between a container's line and its items' lines."""
        steps: Counter[str] = Counter()
        pending = [self._root]
        while pending:
            node = pending.pop()
            parent_indent = self._line_indent(node.start)
            for item in node.items:
                pending.append(item.value)
                if self._starts_line(item.start):
                    indent = self._line_indent(item.start)
                    step = indent[len(parent_indent) :]
                    if indent.startswith(parent_indent) and step and len(set(step)) == 1:
                        steps[step] += 1
        return steps.most_common(1)[0][0] if steps else "  "


class _Stale(Exception):
    """An edit needs a part of the tree that queued edits have changed."""


@dataclass
class _Marks:
    """What queued edits change in the parsed tree, so that later edits know what they may still
    rely on: values replaced or removed, object keys added or removed, arrays appended to
    (their existing items keep their indexes) or with items removed (those before the first
    removed one keep theirs)."""

    replaced: set[int] = field(default_factory=set)
    keys: dict[int, set[str]] = field(default_factory=dict)
    appended: set[int] = field(default_factory=set)
    removed_from: dict[int, int] = field(default_factory=dict)  # array -> lowest index removed

    def add(self, other: _Marks) -> None:
        self.replaced |= other.replaced
        for node, keys in other.keys.items():
            self.keys.setdefault(node, set()).update(keys)
        self.appended |= other.appended
        for node, index in other.removed_from.items():
            self.removed_from[node] = min(index, self.removed_from.get(node, index))

    def check(self, node: _Node, segment: str | int | None) -> None:
        """Raises _Stale when ``node`` (or its item ``segment``) is not what the text now holds."""
        here = id(node)
        if here in self.replaced:
            raise _Stale
        if isinstance(segment, str) and segment in self.keys.get(here, ()):
            raise _Stale
        if here in self.appended and (not isinstance(segment, int) or not 0 <= segment < len(node.items)):
            raise _Stale
        if here in self.removed_from and (
            not isinstance(segment, int) or not 0 <= segment < self.removed_from[here]
        ):
            raise _Stale


class _Queue:
    """Queued edits, sorted by where they start; they never overlap."""

    def __init__(self) -> None:
        self.edits: list[_Edit] = []
        self._starts: list[int] = []

    def __bool__(self) -> bool:
        return bool(self.edits)

    def add(self, edits: list[_Edit]) -> None:
        for edit in edits:
            at = bisect.bisect_right(self._starts, edit[0])
            self._starts.insert(at, edit[0])
            self.edits.insert(at, edit)

    def touches(self, start: int, end: int) -> bool:
        """A queued edit changes text in [start, end] (an insertion at either end counts; a
        replacement ending at `start` or starting at `end` does not)."""
        at = bisect.bisect_left(self._starts, start)
        if at > 0 and self.edits[at - 1][1] > start:
            return True
        for edit_start, edit_end, _ in self.edits[at:]:
            if edit_start > end:
                break
            if edit_start < end or edit_start == edit_end:
                return True
        return False


@dataclass(frozen=True)
class _Planned:
    edits: list[_Edit]
    apply: Callable[[Any], Any]  # the same change on the plain value; returns the new value
    marks: _Marks = field(default_factory=_Marks)
    again: bool = False  # a repeated key has further occurrences to remove


@dataclass(frozen=True)
class _InlineStyle:
    """Spacing of a one-line container: `{ "a": 1 }` has brace " ", colon ": ", comma ", "."""

    brace: str = ""
    bracket: str = ""
    colon: str = ": "
    comma: str = ", "


def _inline(value: Any, style: _InlineStyle) -> str:
    if isinstance(value, dict) and value:
        members = (
            json.dumps(k, ensure_ascii=False) + style.colon + _inline(v, style) for k, v in value.items()
        )
        return "{" + style.brace + style.comma.join(members) + style.brace + "}"
    if isinstance(value, list) and value:
        return "[" + style.bracket + style.comma.join(_inline(v, style) for v in value) + style.bracket + "]"
    return json.dumps(value, ensure_ascii=False)


def _after(item: _Item) -> int:
    return item.comma + 1 if item.comma is not None else item.value.end


def _fixed(rendered: str) -> Callable[[str | None], str]:
    return lambda indent: rendered


def _nest(keys: Sequence[str | int], value: Any) -> Any:
    for key in reversed(keys):
        value = {key: value}
    return value


def _assigned(plain: Any, keys: list[str | int], value: Any) -> Any:
    """``plain`` with ``value`` at ``keys`` (changed in place), creating missing objects on the way."""
    if not keys:
        return value
    current = plain
    for key in keys[:-1]:
        if isinstance(current, dict) and key not in current:
            current[key] = {}
        current = current[key]
    current[keys[-1]] = value
    return plain


def _splice(text: str, edits: list[_Edit]) -> str:
    """Apply non-overlapping edits; insertions at the same offset keep their list order."""
    parts, pos = [], 0
    for start, end, replacement in sorted(edits, key=lambda edit: edit[0]):
        assert start >= pos, "overlapping edits"
        parts += [text[pos:start], replacement]
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _line_start(text: str, offset: int) -> int:
    return max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1


def _line_comment_end(text: str, offset: int) -> int:
    match = _REST_OF_LINE.match(text, offset)
    assert match is not None
    return match.end()


def _has_newline(text: str) -> bool:
    return "\n" in text or "\r" in text


def _is_packed(text: str, node: _Node) -> bool:
    """A non-empty container written on one line."""
    return bool(node.items) and not _has_newline(text[node.start : node.end])


def _index(array: _Node, segment: int) -> int:
    index = segment + len(array.items) if segment < 0 else segment
    if not 0 <= index < len(array.items):
        raise IndexError(f"array index {segment} out of range")
    return index


def _check_path(path: JsonPath) -> list[str | int]:
    if isinstance(path, str):
        raise TypeError("path must be a sequence of keys and indexes, not a string")
    keys = list(path)
    for key in keys:
        if isinstance(key, bool) or not isinstance(key, str | int):
            raise TypeError(f"path segments must be str or int, got {key!r}")
    return keys


def _normalize(value: Any) -> Any:
    """Round-trip through JSON: rejects what cannot be written, turns tuples into lists."""
    return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))


def _resolve(plain: Any, keys: list[str | int]) -> Any:
    for key in keys:
        plain = plain[key]
    return plain


def _same(a: Any, b: Any) -> bool:
    """Equality that also tells 1, 1.0, True and 0.0, -0.0 apart."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and repr(a) == repr(b)
