"""The wire codec: identity on JSON, tagged leaves for what JSON cannot carry, exact round trips."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from lunora_operator.client.wire import (
    TAG,
    UNDEFINED,
    ArrayBuffer,
    BigInt,
    InvalidDate,
    TypedBytes,
    WireError,
    WireMap,
    WireSet,
    WireUrl,
    decode,
    encode,
)

PURE = {"count": 3, "flag": True, "nested": {"items": [1, 2.5, "three"], "missing": None}, "note": "hi"}


def test_pure_json_is_unchanged() -> None:
    assert encode(PURE) == PURE
    assert decode(PURE) == PURE


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (BigInt(5), [TAG, "bigint", "5"]),
        (BigInt(-(2**80)), [TAG, "bigint", str(-(2**80))]),
        (math.inf, [TAG, "inf"]),
        (-math.inf, [TAG, "-inf"]),
        (datetime(1970, 1, 1, 0, 0, 0, 5000, tzinfo=UTC), [TAG, "date", 5]),
        (b"\x00\xff", [TAG, "bytes", "AP8="]),
        (ArrayBuffer(b"ab"), [TAG, "bytes", "YWI=", "ArrayBuffer"]),
        (TypedBytes(b"\x00\x00\x80\x3f", "Float32Array"), [TAG, "bytes", "AACAPw==", "Float32Array"]),
        (WireUrl("https://example.com/a"), [TAG, "url", "https://example.com/a"]),
        (WireMap({"a": 1}), [TAG, "map", [["a", 1]]]),
        ({1: "one"}, [TAG, "map", [[1, "one"]]]),
        (WireSet([1, [2]]), [TAG, "set", [1, [2]]]),
        ([TAG, "bigint", "x"], [TAG, "arr", [TAG, "bigint", "x"]]),
        ([1, UNDEFINED], [1, [TAG, "undefined"]]),
        (WireError("TypeError", "boom", {"code": "E"}), [TAG, "error", "TypeError", "boom", {"code": "E"}]),
        (
            WireError("Error", "outer", {}, WireError("Error", "inner")),
            [TAG, "error", "Error", "outer", {}, [TAG, "error", "Error", "inner", {}]],
        ),
        (InvalidDate(math.nan), [TAG, "date", [TAG, "nan"]]),
    ],
)
def test_tagged_values_round_trip_exactly(value: object, wire: object) -> None:
    assert encode(value) == wire
    assert encode(decode(wire)) == wire
    assert type(decode(wire)) is type(value) or isinstance(value, dict | bytes)


def test_nan_round_trips() -> None:
    assert encode(math.nan) == [TAG, "nan"]
    assert math.isnan(decode([TAG, "nan"]))


def test_undefined_fields_are_dropped_and_sets_encode() -> None:
    assert encode({"a": 1, "b": UNDEFINED}) == {"a": 1}
    assert encode({3}) == [TAG, "set", [3]]


def test_unsafe_values_are_refused_with_the_fix() -> None:
    with pytest.raises(TypeError, match=r"wrap it in BigInt"):
        encode(2**60)
    with pytest.raises(TypeError, match="has no timezone"):
        encode(datetime(2026, 1, 1))
    with pytest.raises(TypeError, match="cannot encode a value of type object"):
        encode(object())


def test_depth_and_bigint_size_are_bounded() -> None:
    deep: list[object] = []
    cursor = deep
    for _ in range(70):
        cursor.append([])
        cursor = cursor[0]  # type: ignore[assignment]
    with pytest.raises(ValueError, match="deeper than 64"):
        encode(deep)
    with pytest.raises(ValueError, match="exceeds 1024"):
        decode([TAG, "bigint", "9" * 1025])


def test_an_unknown_tag_decodes_as_an_array() -> None:
    assert decode([TAG, "future", [TAG, "bigint", "1"]]) == [TAG, "future", BigInt(1)]
