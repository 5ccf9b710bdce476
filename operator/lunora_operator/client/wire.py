"""Lunora's wire value codec: JSON with tagged arrays for the values JSON cannot carry.

A tagged leaf is an array whose first element is `"$lunora.wire$"`; pure JSON encodes to itself.
Python values map as: `BigInt` (an int) -> `bigint`; NaN / ±Infinity floats -> `nan` / `inf` /
`-inf`; aware `datetime` -> `date` (epoch ms); `bytes` -> `bytes` (base64, a `Uint8Array`),
`ArrayBuffer` -> `bytes` marked `ArrayBuffer`; `set` -> `set`; a dict with non-string keys or a
`WireMap` -> `map`; `WireUrl` -> `url`; `WireError` -> `error`; `UNDEFINED` -> `undefined` in a list
(dropped as a dict value); a list whose first element is the tag itself is escaped as `arr`.
Decoding gives back values that encode to the identical tags.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

TAG = "$lunora.wire$"
MAX_DEPTH = 64
MAX_BIGINT_DIGITS = 1024
# Integers past this lose precision as a JavaScript number: send them as `BigInt`.
MAX_SAFE_INTEGER = 2**53 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

JsonValue: TypeAlias = bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"] | None


class BigInt(int):
    """A JavaScript `bigint`."""


class ArrayBuffer(bytes):
    """Bytes that travel as a JavaScript `ArrayBuffer` rather than a `Uint8Array`."""


class TypedBytes(bytes):
    """Bytes of another typed array (`Float32Array`, ...), keeping its constructor's name."""

    ctor: str

    def __new__(cls, data: bytes, ctor: str) -> TypedBytes:
        instance = super().__new__(cls, data)
        instance.ctor = ctor
        return instance


class WireUrl(str):
    """A JavaScript `URL` (its href)."""


class WireMap(dict[Any, Any]):
    """A JavaScript `Map` (kept as a map even when every key is a string)."""


class WireSet(list[Any]):
    """A decoded JavaScript `Set`, in insertion order (its items need not be hashable)."""


class _Undefined:
    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED = _Undefined()


@dataclass
class WireError:
    """A JavaScript `Error`: name, message, own enumerable properties and an optional cause."""

    name: str
    message: str
    props: dict[str, Any] = field(default_factory=dict)
    cause: Any = UNDEFINED


@dataclass(frozen=True)
class InvalidDate:
    """A JavaScript `Date` whose time is not a number."""

    time: Any


def encode(value: Any, depth: int = 0) -> JsonValue:
    """`value` in wire form; TypeError names a value the wire cannot carry."""
    if depth > MAX_DEPTH:
        raise ValueError(f"wire: value nested deeper than {MAX_DEPTH} levels")
    if value is None or (isinstance(value, bool | str) and not isinstance(value, WireUrl)):
        return value
    if isinstance(value, BigInt):
        return [TAG, "bigint", str(int(value))]
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise TypeError(f"wire: {value} does not fit a JavaScript number; wrap it in BigInt({value})")
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return [TAG, "nan"]
        if math.isinf(value):
            return [TAG, "inf" if value > 0 else "-inf"]
        return value
    if isinstance(value, WireUrl):
        return [TAG, "url", str(value)]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"wire: datetime {value.isoformat()} has no timezone; give it one (UTC)")
        return [TAG, "date", encode((value - _EPOCH) // timedelta(milliseconds=1), depth + 1)]
    if isinstance(value, InvalidDate):
        return [TAG, "date", encode(value.time, depth + 1)]
    if isinstance(value, bytes | bytearray | memoryview):
        encoded: list[JsonValue] = [TAG, "bytes", base64.b64encode(bytes(value)).decode("ascii")]
        if isinstance(value, ArrayBuffer):
            encoded.append("ArrayBuffer")
        elif isinstance(value, TypedBytes):
            encoded.append(value.ctor)
        return encoded
    if isinstance(value, WireError):
        error: list[JsonValue] = [
            TAG,
            "error",
            value.name,
            value.message,
            _encode_object(value.props, depth),
        ]
        if value.cause is not UNDEFINED:
            error.append(encode(value.cause, depth + 1))
        return error
    if isinstance(value, set | frozenset | WireSet):
        return [TAG, "set", [encode(item, depth + 1) for item in value]]
    if isinstance(value, dict):
        if isinstance(value, WireMap) or not all(isinstance(key, str) for key in value):
            return [TAG, "map", [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]]
        return _encode_object(value, depth)
    if isinstance(value, list | tuple):
        items = [encode(item, depth + 1) for item in value]
        if value and value[0] == TAG:
            return [TAG, "arr", items]
        return items
    if value is UNDEFINED:
        return [TAG, "undefined"]
    raise TypeError(f"wire: cannot encode a value of type {type(value).__name__}")


def _encode_object(value: dict[str, Any], depth: int) -> dict[str, JsonValue]:
    return {key: encode(item, depth + 1) for key, item in value.items() if item is not UNDEFINED}


def decode(value: Any, depth: int = 0) -> Any:
    """The Python value of a wire-form JSON value."""
    if depth > MAX_DEPTH:
        raise ValueError(f"wire: value nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {key: decode(item, depth + 1) for key, item in value.items()}
    if not isinstance(value, list):
        return value
    if len(value) >= 2 and value[0] == TAG and isinstance(value[1], str):
        decoded = _decode_tag(value[1], value[2:], depth)
        if decoded is not _UNKNOWN:
            return decoded
    return [decode(item, depth + 1) for item in value]


_UNKNOWN = object()


def _decode_tag(tag: str, rest: list[Any], depth: int) -> Any:
    simple = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "undefined": UNDEFINED}
    if tag in simple and not rest:
        return simple[tag]
    if tag == "bigint" and len(rest) == 1 and isinstance(rest[0], str):
        digits = rest[0].lstrip("-")
        if len(digits) > MAX_BIGINT_DIGITS:
            raise ValueError(f"wire: bigint of {len(digits)} digits exceeds {MAX_BIGINT_DIGITS}")
        return BigInt(int(rest[0]))
    if tag == "date" and len(rest) == 1:
        time = decode(rest[0], depth + 1)
        if isinstance(time, int | float) and math.isfinite(time):
            return _EPOCH + timedelta(milliseconds=time)
        return InvalidDate(time)
    if tag == "url" and len(rest) == 1 and isinstance(rest[0], str):
        return WireUrl(rest[0])
    if tag == "bytes" and 1 <= len(rest) <= 2 and isinstance(rest[0], str):
        data = base64.b64decode(rest[0])
        if len(rest) == 1:
            return data
        return ArrayBuffer(data) if rest[1] == "ArrayBuffer" else TypedBytes(data, str(rest[1]))
    if tag == "set" and len(rest) == 1 and isinstance(rest[0], list):
        return WireSet(decode(item, depth + 1) for item in rest[0])
    if tag == "map" and len(rest) == 1 and isinstance(rest[0], list):
        return WireMap((_hashable(decode(k, depth + 1)), decode(v, depth + 1)) for k, v in rest[0])
    if tag == "arr" and len(rest) == 1 and isinstance(rest[0], list):
        return [decode(item, depth + 1) for item in rest[0]]
    if tag == "error" and len(rest) >= 3:
        props = decode(rest[2], depth + 1) if isinstance(rest[2], dict) else {}
        cause = decode(rest[3], depth + 1) if len(rest) > 3 else UNDEFINED
        return WireError(str(rest[0]), str(rest[1]), props, cause)
    return _UNKNOWN


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key
