from __future__ import annotations

import copy
import difflib
import json
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lunora_operator.wrangler.jsonc import JsoncDocument, JsoncError, parse

# --- parse -------------------------------------------------------------------------------------


def test_parse_plain_json_values() -> None:
    text = '{"s": "x", "i": 42, "n": -7, "f": 1.5, "e": 2.5e-3, "E": -1E+2, "t": true, "F": false, "z": null}'
    assert parse(text) == {
        "s": "x",
        "i": 42,
        "n": -7,
        "f": 1.5,
        "e": 0.0025,
        "E": -100.0,
        "t": True,
        "F": False,
        "z": None,
    }
    assert type(parse("1")) is int
    assert type(parse("1.0")) is float
    assert type(parse("1e2")) is float
    assert parse("0") == 0
    assert parse("-0.5") == -0.5
    assert parse(" [ ] ") == []
    assert parse("{}") == {}
    assert parse('"top"') == "top"


def test_parse_comments_everywhere() -> None:
    text = """// leading line comment
/* leading block */ {
  // before a key
  "a": /* between colon and value */ 1, // after a value
  "b": [
    1, // inside an array
    /* before an element */ 2,
    /* multi
       line */
    3
  ] /* after array */,
  "c": { /* only a comment */ }
} // trailing
/* trailing block */
"""
    assert parse(text) == {"a": 1, "b": [1, 2, 3], "c": {}}


def test_parse_trailing_commas() -> None:
    assert parse('{"a": [1, 2,], "b": {"c": 1,},}') == {"a": [1, 2], "b": {"c": 1}}
    assert parse("[1, // c\n]") == [1]


def test_parse_strings_that_look_like_comments_or_escapes() -> None:
    text = r'{"url": "https://example.com/*", "c": "/* not a comment */", "q": "say \"hi\" // no", "b": "\\", "u": "\u00e9\n"}'
    assert parse(text) == {
        "url": "https://example.com/*",
        "c": "/* not a comment */",
        "q": 'say "hi" // no',
        "b": "\\",
        "u": "é\n",
    }
    assert parse('{"//": "key that looks like a comment"}') == {"//": "key that looks like a comment"}


def test_parse_nested_structures() -> None:
    text = '{"a": [{"b": [[], [{}], {"c": [1, [2, [3]]]}]}]}'
    assert parse(text) == json.loads(text)


def test_parse_repeated_key_keeps_the_last_value_like_json() -> None:
    assert parse('{"a": 1, "a": 2}') == {"a": 2}


def test_parse_accepts_a_byte_order_mark() -> None:
    assert parse('\ufeff{"a": 1}') == {"a": 1}


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('{\n  "a": 1\n  "b": 2\n}', 3, 3, "expected ',' or '}'"),
        ("[1, 2", 1, 6, "unexpected end of input"),
        ("[1,, 2]", 1, 4, "expected a value"),
        ("[,]", 1, 2, "expected a value"),
        ("{\n  a: 1\n}", 2, 3, "property name"),
        ('{"a" 1}', 1, 6, "expected ':'"),
        ('{"a": tru}', 1, 7, "expected a value"),
        ('{"a": 01}', 1, 8, "expected ',' or '}'"),
        ('{\n  "a": "unterminated\n}', 2, 8, "unterminated string"),
        ('"bad \\x escape"', 1, 6, "invalid escape"),
        ('"tab\there"', 1, 5, "control character"),
        ("{} /* never closed", 1, 4, "unterminated block comment"),
        ("{} {}", 1, 4, "unexpected content"),
        ("", 1, 1, "unexpected end of input"),
        ("// only a comment\n", 2, 1, "unexpected end of input"),
        ("[1, 'single']", 1, 5, "expected a value"),
    ],
)
def test_parse_errors_report_line_and_column(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(JsoncError) as caught:
        parse(text)
    error = caught.value
    assert (error.line, error.column) == (line, column)
    assert message in error.message
    assert f"line {line}, column {column}" in str(error)
    assert isinstance(error, ValueError)


def test_document_constructor_raises_jsonc_error() -> None:
    with pytest.raises(JsoncError, match="line 1, column 7"):
        JsoncDocument('{"a": }')


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(JsoncError, match="nesting too deep"):
        parse("[" * 100_000 + "]" * 100_000)


# --- a realistic wrangler.jsonc -----------------------------------------------------------------

WRANGLER = """/**
 * For more details on how to configure Wrangler, refer to:
 * https://developers.cloudflare.com/workers/wrangler/configuration/
 */
{
\t"$schema": "node_modules/wrangler/config-schema.json",
\t"name": "lunora-app", // the Worker name
\t"main": "src/index.ts",
\t"compatibility_date": "2025-04-01",
\t"compatibility_flags": ["nodejs_compat"],
\t"routes": [{ "pattern": "example.com/*", "zone_name": "example.com" }],

\t// Containers run next to the Worker.
\t"containers": [
\t\t{
\t\t\t"class_name": "AppContainer",
\t\t\t"image": "./Dockerfile", // built by wrangler
\t\t\t"max_instances": 5
\t\t},
\t\t{
\t\t\t"class_name": "SidecarContainer",
\t\t\t"image": "registry.example.com/sidecar:1.2.3",
\t\t\t"max_instances": 1,
\t\t},
\t\t/* a third slot, unused for now */
\t\t{ "class_name": "SpareContainer", "image": "./spare/Dockerfile" }
\t],
\t"durable_objects": {
\t\t"bindings": [
\t\t\t{ "class_name": "AppContainer", "name": "APP" },
\t\t\t{ "class_name": "SidecarContainer", "name": "SIDECAR" }, // sidecar DO
\t\t],
\t},
\t/*
\t * Migrations must be append-only.
\t */
\t"migrations": [
\t\t{
\t\t\t"tag": "v1",
\t\t\t"new_sqlite_classes": ["AppContainer"]
\t\t},
\t\t// v2 added the sidecar
\t\t{
\t\t\t"tag": "v2",
\t\t\t"new_sqlite_classes": ["SidecarContainer"]
\t\t},
\t],
\t"observability": {
\t\t"enabled": true
\t},
\t"vars": {},
}
"""

CONTAINERS_BLOCK = WRANGLER[WRANGLER.index("\t// Containers") : WRANGLER.index('\t"durable_objects"')]
WRANGLER_WITHOUT_CONTAINERS = WRANGLER.replace(CONTAINERS_BLOCK, "")

WRANGLER_VALUE: dict[str, Any] = {
    "$schema": "node_modules/wrangler/config-schema.json",
    "name": "lunora-app",
    "main": "src/index.ts",
    "compatibility_date": "2025-04-01",
    "compatibility_flags": ["nodejs_compat"],
    "routes": [{"pattern": "example.com/*", "zone_name": "example.com"}],
    "containers": [
        {"class_name": "AppContainer", "image": "./Dockerfile", "max_instances": 5},
        {"class_name": "SidecarContainer", "image": "registry.example.com/sidecar:1.2.3", "max_instances": 1},
        {"class_name": "SpareContainer", "image": "./spare/Dockerfile"},
    ],
    "durable_objects": {
        "bindings": [
            {"class_name": "AppContainer", "name": "APP"},
            {"class_name": "SidecarContainer", "name": "SIDECAR"},
        ]
    },
    "migrations": [
        {"tag": "v1", "new_sqlite_classes": ["AppContainer"]},
        {"tag": "v2", "new_sqlite_classes": ["SidecarContainer"]},
    ],
    "observability": {"enabled": True},
    "vars": {},
}

COMMENTS = [
    " * For more details on how to configure Wrangler, refer to:",
    "// the Worker name",
    "// Containers run next to the Worker.",
    "// built by wrangler",
    "/* a third slot, unused for now */",
    "// sidecar DO",
    " * Migrations must be append-only.",
    "// v2 added the sidecar",
]


def _spaces(text: str) -> str:
    """The same document indented with two spaces per level instead of tabs."""
    return re.sub(r"(?m)^\t+", lambda m: "  " * len(m.group()), text)


STYLES = {"tabs": lambda text: text, "spaces": _spaces}


@pytest.fixture(params=sorted(STYLES))
def style(request: pytest.FixtureRequest) -> Any:
    return STYLES[request.param]


def _changed_lines(old: str, new: str) -> tuple[list[str], list[str]]:
    """(old lines that were removed or rewritten, new lines that were added or rewritten)."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    removed: list[str] = []
    added: list[str] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag != "equal":
            removed += old_lines[a0:a1]
            added += new_lines[b0:b1]
    return removed, added


def _assert_comments_kept(text: str, comments: list[str] = COMMENTS) -> None:
    for comment in comments:
        assert comment in text


def test_wrangler_fixture_parses(style: Any) -> None:
    doc = JsoncDocument(style(WRANGLER))
    assert parse(doc.text) == WRANGLER_VALUE
    assert doc.get([]) == WRANGLER_VALUE
    assert doc.get(["containers", 0, "image"]) == "./Dockerfile"
    assert doc.get(["containers", -1, "class_name"]) == "SpareContainer"
    assert doc.text == style(WRANGLER)


def test_set_container_image_rewrites_only_that_string(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.set(["containers", 0, "image"], "registry.example.com/app@sha256:abc")

    assert doc.text == original.replace('"./Dockerfile"', '"registry.example.com/app@sha256:abc"')
    removed, added = _changed_lines(original, doc.text)
    assert [line.strip() for line in removed] == ['"image": "./Dockerfile", // built by wrangler']
    assert [line.strip() for line in added] == [
        '"image": "registry.example.com/app@sha256:abc", // built by wrangler'
    ]
    expected = copy.deepcopy(WRANGLER_VALUE)
    expected["containers"][0]["image"] = "registry.example.com/app@sha256:abc"
    assert parse(doc.text) == expected


def test_set_escapes_strings_as_json() -> None:
    doc = JsoncDocument('{"a": "x"}')
    doc.set(["a"], 'quote " backslash \\ newline \n é')
    assert doc.text == '{"a": "quote \\" backslash \\\\ newline \\n é"}'
    assert doc.get(["a"]) == 'quote " backslash \\ newline \n é'


def test_append_to_migrations_keeps_every_comment(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.append(["migrations"], {"tag": "v3", "new_sqlite_classes": ["SpareContainer"]})

    anchor = style('\t\t\t"new_sqlite_classes": ["SidecarContainer"]\n\t\t},\n')
    new_element = style(
        '\t\t{\n\t\t\t"tag": "v3",\n\t\t\t"new_sqlite_classes": [\n\t\t\t\t"SpareContainer"\n\t\t\t]\n\t\t},\n'
    )
    assert doc.text == original.replace(anchor, anchor + new_element)
    removed, _ = _changed_lines(original, doc.text)
    assert removed == []
    _assert_comments_kept(doc.text)
    expected = copy.deepcopy(WRANGLER_VALUE)
    expected["migrations"].append({"tag": "v3", "new_sqlite_classes": ["SpareContainer"]})
    assert parse(doc.text) == expected


def test_append_to_missing_containers_creates_the_array(style: Any) -> None:
    original = style(WRANGLER_WITHOUT_CONTAINERS)
    doc = JsoncDocument(original)

    doc.append(["containers"], {"class_name": "AppContainer", "image": "./Dockerfile"})

    # Added as the last root member, indented like its siblings, keeping the trailing comma style.
    created = style(
        '\t"containers": [\n\t\t{\n\t\t\t"class_name": "AppContainer",\n\t\t\t"image": "./Dockerfile"\n\t\t}\n\t],\n'
    )
    assert doc.text == original.replace(style('\t"vars": {},\n'), style('\t"vars": {},\n') + created)
    removed, _ = _changed_lines(original, doc.text)
    assert removed == []
    _assert_comments_kept(doc.text, [c for c in COMMENTS if c not in CONTAINERS_BLOCK])
    expected = {k: v for k, v in WRANGLER_VALUE.items() if k != "containers"}
    expected["containers"] = [{"class_name": "AppContainer", "image": "./Dockerfile"}]
    assert parse(doc.text) == expected


def test_remove_containers_1_leaves_the_others_intact(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.remove(["containers", 1])

    sidecar = style(
        '\t\t{\n\t\t\t"class_name": "SidecarContainer",\n'
        '\t\t\t"image": "registry.example.com/sidecar:1.2.3",\n\t\t\t"max_instances": 1,\n\t\t},\n'
    )
    assert sidecar in original
    assert doc.text == original.replace(sidecar, "")
    _assert_comments_kept(doc.text)
    expected = copy.deepcopy(WRANGLER_VALUE)
    del expected["containers"][1]
    assert parse(doc.text) == expected


def test_remove_last_element_drops_the_comma_before_it(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.remove(["containers", -1])

    spare = style('\t\t{ "class_name": "SpareContainer", "image": "./spare/Dockerfile" }\n')
    before = style('\t\t\t"max_instances": 1,\n\t\t},\n\t\t/* a third slot, unused for now */\n')
    after = style('\t\t\t"max_instances": 1,\n\t\t}\n\t\t/* a third slot, unused for now */\n')
    assert doc.text == original.replace(before + spare, after)
    expected = copy.deepcopy(WRANGLER_VALUE)
    del expected["containers"][-1]
    assert parse(doc.text) == expected


def test_remove_member_with_its_same_line_comment(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.remove(["name"])

    assert doc.text == original.replace(style('\t"name": "lunora-app", // the Worker name\n'), "")
    expected = copy.deepcopy(WRANGLER_VALUE)
    del expected["name"]
    assert parse(doc.text) == expected


def test_remove_a_whole_section_keeps_the_comment_above_the_next_one(style: Any) -> None:
    doc = JsoncDocument(style(WRANGLER))

    doc.remove(["durable_objects"])

    assert "durable_objects" not in doc.text
    _assert_comments_kept(doc.text, [c for c in COMMENTS if c != "// sidecar DO"])
    assert parse(doc.text) == {k: v for k, v in WRANGLER_VALUE.items() if k != "durable_objects"}


def test_set_into_empty_object_uses_the_document_indentation(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.set(["vars", "API_URL"], "https://api.example.com")

    assert doc.text == original.replace(
        style('\t"vars": {},'), style('\t"vars": {\n\t\t"API_URL": "https://api.example.com"\n\t},')
    )


def test_set_new_key_after_the_last_member(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.set(["observability", "head_sampling_rate"], 0.5)

    assert doc.text == original.replace(
        style('\t\t"enabled": true\n'), style('\t\t"enabled": true,\n\t\t"head_sampling_rate": 0.5\n')
    )


def test_set_creates_missing_parents(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.set(["limits", "cpu_ms"], 50)

    assert doc.text == original.replace(
        style('\t"vars": {},\n'), style('\t"vars": {},\n\t"limits": {\n\t\t"cpu_ms": 50\n\t},\n')
    )
    assert doc.get(["limits"]) == {"cpu_ms": 50}


def test_append_to_single_line_array_stays_on_one_line(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.append(["compatibility_flags"], "nodejs_als")

    assert doc.text == original.replace('["nodejs_compat"]', '["nodejs_compat", "nodejs_als"]')


def test_append_to_packed_elements_on_their_own_lines(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.append(["durable_objects", "bindings"], {"class_name": "SpareContainer", "name": "SPARE"})

    old = style('\t\t\t{ "class_name": "SidecarContainer", "name": "SIDECAR" }, // sidecar DO\n')
    new = style('\t\t\t{ "class_name": "SpareContainer", "name": "SPARE" },\n')  # the neighbours' spacing
    assert doc.text == original.replace(old, old + new)


def test_set_replaces_a_nested_value_pretty_at_the_right_depth(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)

    doc.set(["observability"], {"enabled": False, "logs": {"enabled": True}})

    assert doc.text == original.replace(
        style('\t"observability": {\n\t\t"enabled": true\n\t},'),
        style(
            '\t"observability": {\n\t\t"enabled": false,\n\t\t"logs": {\n\t\t\t"enabled": true\n\t\t}\n\t},'
        ),
    )


def test_set_keeps_a_single_line_container_on_one_line() -> None:
    doc = JsoncDocument('{\n  "flags": ["a"], // flags\n  "x": 1\n}\n')
    doc.set(["flags"], ["a", "b"])
    assert doc.text == '{\n  "flags": ["a", "b"], // flags\n  "x": 1\n}\n'


def test_every_edit_is_idempotent_when_the_value_is_unchanged(style: Any) -> None:
    original = style(WRANGLER)
    doc = JsoncDocument(original)
    for path in (["containers", 0, "image"], ["containers"], ["observability"], ["vars"], []):
        doc.set(path, doc.get(path))
        assert doc.text == original
    # Same value, different spelling in the file: still untouched.
    spelled = JsoncDocument('{"a": 1E2, "b": "\\u00e9", "c": [1, 2]}')
    spelled.set(["a"], 100.0)
    spelled.set(["b"], "é")
    spelled.set(["c"], (1, 2))
    assert spelled.text == '{"a": 1E2, "b": "\\u00e9", "c": [1, 2]}'


def test_set_distinguishes_int_float_and_bool() -> None:
    doc = JsoncDocument('{"a": 1}')
    doc.set(["a"], 1.0)
    assert doc.text == '{"a": 1.0}'
    doc.set(["a"], True)
    assert doc.text == '{"a": true}'
    doc.set(["a"], 1)
    assert doc.text == '{"a": 1}'


def test_crlf_documents_stay_crlf() -> None:
    original = WRANGLER.replace("\n", "\r\n")
    doc = JsoncDocument(original)
    doc.append(["migrations"], {"tag": "v3"})
    doc.set(["vars", "A"], "1")
    doc.remove(["containers", 1])
    assert "\n" not in doc.text.replace("\r\n", "")
    _assert_comments_kept(doc.text)
    assert doc.get(["migrations", -1]) == {"tag": "v3"}


# --- edge cases of the editing API --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "value", "expected"),
    [
        ("{}", ["a"], 1, '{\n  "a": 1\n}'),
        ("{ }", ["a"], 1, '{\n  "a": 1\n}'),
        ("{\n  // keep\n}", ["a"], 1, '{\n  // keep\n  "a": 1\n}'),
        ("{ // keep\n}", ["a"], 1, '{ // keep\n  "a": 1\n}'),
        ('{"a": 1}', ["b"], 2, '{"a": 1, "b": 2}'),
        ('{"a":1,"b":2}', ["c"], 3, '{"a":1,"b":2,"c":3}'),
        ('{"a": 1,}', ["b"], 2, '{"a": 1, "b": 2,}'),
        (
            '{\n    "a": 1 /* one */\n}',
            ["b"],
            [2],
            '{\n    "a": 1, /* one */\n    "b": [\n        2\n    ]\n}',
        ),
        ('{\n  "a": {\n    "b": 1\n  }\n}', ["a", "c"], 2, '{\n  "a": {\n    "b": 1,\n    "c": 2\n  }\n}'),
        ('{"a": 1}', [], {"b": 2}, '{"b": 2}'),
        ('{\n  "a": 1\n}', [], {"b": [2]}, '{\n  "b": [\n    2\n  ]\n}'),
        ("// c\n[1, 2] // d", [0], 9, "// c\n[9, 2] // d"),
        ('{"a": /* c */ 1}', ["a"], "x", '{"a": /* c */ "x"}'),
        ('{"a": 1, "a": 2}', ["a"], 3, '{"a": 1, "a": 3}'),
        ('{"k": 1}', ["k"], None, '{"k": null}'),
    ],
)
def test_set_cases(text: str, path: list[str | int], value: Any, expected: str) -> None:
    doc = JsoncDocument(text)
    doc.set(path, value)
    assert doc.text == expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("[]", 1, "[\n  1\n]"),
        ('{"a": []}', "x", '{"a": [\n  "x"\n]}'),
        ("[1,2]", 3, "[1,2,3]"),
        ("[1, 2,]", 3, "[1, 2, 3,]"),
        ("[\n  1,\n  2\n]", 3, "[\n  1,\n  2,\n  3\n]"),
        ("[\n  1,\n  2, // two\n]", 3, "[\n  1,\n  2, // two\n  3,\n]"),
        ("[\n  1, 2,\n  3, 4\n]", 5, "[\n  1, 2,\n  3, 4, 5\n]"),
        ("[\n  [1, 2]\n]", [3], "[\n  [1, 2],\n  [3]\n]"),
        ("[\n  {}\n]", {"a": 1}, '[\n  {},\n  {\n    "a": 1\n  }\n]'),
    ],
)
def test_append_cases(text: str, value: Any, expected: str) -> None:
    doc = JsoncDocument(text)
    path: list[str | int] = ["a"] if text.startswith("{") else []
    doc.append(path, value)
    assert doc.text == expected


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        ("[1, 2, 3]", [1], "[1, 3]"),
        ("[1, 2, 3]", [2], "[1, 2]"),
        ("[1, 2, 3,]", [2], "[1, 2,]"),
        ("[1, 2, 3]", [0], "[2, 3]"),
        ("[1]", [0], "[]"),
        ("[\n  1\n]", [0], "[]"),
        ("[ /* keep */ 1 ]", [0], "[ /* keep */  ]"),
        ("[\n  // keep\n  1\n]", [0], "[\n  // keep\n]"),
        ('{"a": 1, "b": 2}', ["a"], '{"b": 2}'),
        ('{"a": 1, "b": 2}', ["b"], '{"a": 1}'),
        ('{\n  "a": 1, // one\n  "b": 2 // two\n}', ["b"], '{\n  "a": 1 // one\n}'),
        ('{\n  "a": 1, // one\n  "b": 2, // two\n}', ["b"], '{\n  "a": 1, // one\n}'),
        ('{\n  "a": 1, // one\n  "b": 2\n}', ["a"], '{\n  "b": 2\n}'),
        ('{"a": 1, "b": 2, "a": 3}', ["a"], '{"b": 2}'),
        ('{"a": {"b": 1, "c": 2}}', ["a", "c"], '{"a": {"b": 1}}'),
    ],
)
def test_remove_cases(text: str, path: list[str | int], expected: str) -> None:
    doc = JsoncDocument(text)
    doc.remove(path)
    assert doc.text == expected


@pytest.mark.parametrize(
    ("text", "indexes", "expected"),
    [
        ("[1, 2, 3, 4]", [1, 2], "[1, 4]"),
        ("[1, 2, 3, 4]", [2, 3], "[1, 2 ]"),
        ("[1, 2, 3]", [0, 1, 2], "[]"),
        ("[\n  1,\n  2, // two\n  3\n]", [1, 2], "[\n  1\n]"),
        ("[\n  1, // one\n  2,\n  3,\n]", [0, 2], "[\n  2,\n]"),
        ("[\n  // keep\n  1,\n  2\n]", [0, 1], "[\n  // keep\n]"),
        ("[\n  1,\n  2\n]", [], "[\n  1,\n  2\n]"),
    ],
)
def test_remove_items_cases(text: str, indexes: list[int], expected: str) -> None:
    doc = JsoncDocument(text)
    doc.remove_items([], indexes)
    assert doc.text == expected


def test_errors_for_absent_or_mistyped_paths() -> None:
    doc = JsoncDocument('{"a": [1], "s": "x"}')
    with pytest.raises(KeyError):
        doc.get(["missing"])
    with pytest.raises(IndexError):
        doc.get(["a", 5])
    with pytest.raises(KeyError):
        doc.get(["s", "x"])
    with pytest.raises(KeyError):
        doc.remove(["missing"])
    with pytest.raises(IndexError):
        doc.remove(["a", 1])
    with pytest.raises(IndexError):
        doc.set(["a", 3], 1)
    with pytest.raises(IndexError):
        doc.set(["new", 0], 1)
    with pytest.raises(TypeError):
        doc.set(["a", "key"], 1)
    with pytest.raises(TypeError):
        doc.set(["s", "key"], 1)
    with pytest.raises(TypeError):
        doc.append(["s"], 1)
    with pytest.raises(TypeError):
        doc.get("a")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        doc.set(["a", True], 1)
    with pytest.raises(ValueError, match="root"):
        doc.remove([])
    with pytest.raises(ValueError, match="JSON compliant"):
        doc.set(["f"], float("nan"))
    with pytest.raises(TypeError):
        doc.set(["f"], object())
    assert doc.text == '{"a": [1], "s": "x"}'


def test_get_returns_a_copy() -> None:
    doc = JsoncDocument('{"a": [1]}')
    doc.get(["a"]).append(2)
    assert doc.get(["a"]) == [1]


# --- property-based ------------------------------------------------------------------------------

_TRICKY = st.sampled_from(["//", "/*", "*/", '"', "\\", "a\nb", "é", "{", "]", ",", ""])
_KEYS = st.text(max_size=6) | _TRICKY
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | _TRICKY
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=4),
    max_leaves=12,
)

# A comment's owner: ("item", path of the member or element it sits beside), ("end", path of the
# container it closes), or OUTSIDE the root value. Markers are longer than any generated string,
# so no value can contain one.
Owner = tuple[str, tuple[str | int, ...]] | None
OUTSIDE: Owner = None


class _CommentedDumper:
    """Writes a value as JSONC with random comments; remembers who owns each comment."""

    def __init__(self, rnd: random.Random, indent: str | None) -> None:
        self.rnd = rnd
        self.indent = indent
        self.comments: list[tuple[str, Owner]] = []

    def comment(self, owner: Owner, line: bool) -> str:
        if self.rnd.random() < 0.6:
            return ""
        marker = f"<comment-{len(self.comments)}>"
        text = (
            f"// {marker}"
            if line and self.indent is not None and self.rnd.random() < 0.5
            else f"/* {marker} */"
        )
        self.comments.append((text, owner))
        return text

    def document(self, value: Any) -> str:
        head = self.comment(OUTSIDE, line=True)
        tail = self.comment(OUTSIDE, line=True)
        return (head + "\n" if head else "") + self.value(value, (), 0) + (" " + tail if tail else "") + "\n"

    def value(self, value: Any, path: tuple[str | int, ...], depth: int) -> str:
        if isinstance(value, dict):
            entries = [(k, json.dumps(k, ensure_ascii=False) + ": ", v) for k, v in value.items()]
            return self.container("{", "}", entries, path, depth)
        if isinstance(value, list):
            return self.container("[", "]", [(i, "", v) for i, v in enumerate(value)], path, depth)
        return json.dumps(value, ensure_ascii=False)

    def container(
        self,
        open_: str,
        close: str,
        entries: list[tuple[Any, str, Any]],
        path: tuple[str | int, ...],
        depth: int,
    ) -> str:
        trailing = self.rnd.random() < 0.5
        parts = []
        for position, (key, prefix, child) in enumerate(entries):
            owner = ("item", (*path, key))
            before = self.comment(owner, line=False)
            inline = self.comment(owner, line=False)
            body = (before + " " if before else "") + prefix + (inline + " " if inline else "")
            body += self.value(child, (*path, key), depth + 1)
            body += "," if position < len(entries) - 1 or trailing else ""
            after = self.comment(owner, line=True)
            parts.append(body + (" " + after if after else ""))
        if self.indent is None:
            end = self.comment(("end", path), line=False)
            return open_ + " ".join(parts) + (" " + end if end else "") + close
        inner, outer = self.indent * (depth + 1), self.indent * depth
        end = self.comment(("end", path), line=True)
        lines = [inner + part for part in parts] + ([inner + end] if end else [])
        return open_ + "".join("\n" + line for line in lines) + "\n" + outer + close


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


_TOKENS = re.compile(r'("(?:[^"\\]|\\.)*")|//[^\n]*|/\*.*?\*/', re.DOTALL)
_TRAILING_COMMA = re.compile(r'("(?:[^"\\]|\\.)*")|,(\s*[\]}])')


def oracle(text: str) -> Any:
    """An independent reading of JSONC: strip comments, then trailing commas (both outside
    strings), and hand the rest to the standard library's json."""
    without_comments = _TOKENS.sub(lambda m: m.group(1) or " ", text)
    return json.loads(_TRAILING_COMMA.sub(lambda m: m.group(1) or m.group(2), without_comments))


def _under(path: tuple[str | int, ...], prefix: tuple[str | int, ...]) -> bool:
    return path[: len(prefix)] == prefix


def _inside_value(owner: Owner, path: tuple[str | int, ...]) -> bool:
    """Comments within the value at path: its items' and its containers' own."""
    if owner is None:
        return False
    kind, where = owner
    return _under(where, path) and (kind == "end" or len(where) > len(path))


def _owned_by_item(owner: Owner, path: tuple[str | int, ...]) -> bool:
    """Comments of the item at path: beside it, or anywhere inside its value."""
    return owner is not None and _under(owner[1], path)


INDENTS = st.sampled_from([None, "  ", "    ", "\t", " "])
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(value=JSON_VALUES, indent=INDENTS, rnd=st.randoms(use_true_random=False))
def test_commented_documents_parse_to_their_value(value: Any, indent: str | None, rnd: random.Random) -> None:
    dumper = _CommentedDumper(rnd, indent)
    text = dumper.document(value)
    assert _canonical(parse(text)) == _canonical(value)
    assert _canonical(oracle(text)) == _canonical(value)


@PROPERTY_SETTINGS
@given(
    data=st.data(), value=JSON_VALUES, indent=INDENTS, new=JSON_VALUES, rnd=st.randoms(use_true_random=False)
)
def test_random_set_matches_the_plain_python_edit(
    data: st.DataObject, value: Any, indent: str | None, new: Any, rnd: random.Random
) -> None:
    dumper = _CommentedDumper(rnd, indent)
    text = dumper.document(value)
    targets = _paths(value)
    for path in list(targets):
        if isinstance(_resolve(value, path), dict):
            targets += [(*path, "new key"), (*path, "new", "nested")]
    path = data.draw(st.sampled_from(targets))

    doc = JsoncDocument(text)
    doc.set(list(path), new)

    assert _canonical(oracle(doc.text)) == _canonical(_assoc(value, path, new))
    assert _canonical(doc.get(list(path))) == _canonical(new)
    for comment, owner in dumper.comments:
        if not _inside_value(owner, path):
            assert comment in doc.text


@PROPERTY_SETTINGS
@given(
    data=st.data(), value=JSON_VALUES, indent=INDENTS, new=JSON_VALUES, rnd=st.randoms(use_true_random=False)
)
def test_random_append_and_remove_match_the_plain_python_edit(
    data: st.DataObject, value: Any, indent: str | None, new: Any, rnd: random.Random
) -> None:
    dumper = _CommentedDumper(rnd, indent)
    text = dumper.document(value)
    paths = _paths(value)
    arrays = [path for path in paths if isinstance(_resolve(value, path), list)]
    members = [path for path in paths if path]
    assume(arrays or members)

    doc = JsoncDocument(text)
    if arrays and (not members or data.draw(st.booleans())):
        path = data.draw(st.sampled_from(arrays))
        doc.append(list(path), new)
        expected = _assoc(value, path, [*_resolve(value, path), new])
        kept = dumper.comments
    else:
        path = data.draw(st.sampled_from(members))
        doc.remove(list(path))
        expected = _dissoc(value, path)
        # Only the removed item's own comments may go: those beside it and inside its value.
        kept = [(comment, owner) for comment, owner in dumper.comments if not _owned_by_item(owner, path)]

    assert _canonical(oracle(doc.text)) == _canonical(expected)
    for comment, _ in kept:
        assert comment in doc.text


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["set", "append", "extend", "remove", "remove_items"]),
        st.integers(0, 10**6),
        JSON_VALUES,
    ),
    min_size=1,
    max_size=8,
)


@PROPERTY_SETTINGS
@given(value=JSON_VALUES, indent=INDENTS, edits=EDITS, rnd=st.randoms(use_true_random=False))
def test_a_batch_of_edits_read_once_matches_the_plain_python_edits(
    value: Any, indent: str | None, edits: list[tuple[str, int, Any]], rnd: random.Random
) -> None:
    """Edits are queued and applied together when the text is read: the result is the same as
    making each edit on the plain value, and comments outside every edited value survive."""
    dumper = _CommentedDumper(rnd, indent)
    doc = JsoncDocument(dumper.document(value))
    expected = copy.deepcopy(value)
    for operation, pick, new in edits:
        paths = _paths(expected)
        arrays = [path for path in paths if isinstance(_resolve(expected, path), list)]
        members = [path for path in paths if path]
        if operation == "set":
            path = paths[pick % len(paths)]
            doc.set(list(path), new)
            expected = _assoc(expected, path, new)
        elif operation in ("append", "extend") and arrays:
            path = arrays[pick % len(arrays)]
            values = [new] if operation == "append" else [new, new]
            doc.extend(list(path), values) if operation == "extend" else doc.append(list(path), new)
            expected = _assoc(expected, path, [*_resolve(expected, path), *values])
        elif operation == "remove" and members:
            path = members[pick % len(members)]
            doc.remove(list(path))
            expected = _dissoc(expected, path)
        elif operation == "remove_items" and arrays:
            path = arrays[pick % len(arrays)]
            items = _resolve(expected, path)
            doomed = {i for i in range(len(items)) if (pick >> i) & 1}
            doc.remove_items(list(path), doomed)
            expected = _assoc(expected, path, [item for i, item in enumerate(items) if i not in doomed])
        assert _canonical(doc.get([])) == _canonical(expected)

    assert _canonical(oracle(doc.text)) == _canonical(expected)
    assert _canonical(parse(doc.text)) == _canonical(expected)
    for comment, owner in dumper.comments:
        if owner is OUTSIDE:
            assert comment in doc.text


@PROPERTY_SETTINGS
@given(value=JSON_VALUES, indent=INDENTS, rnd=st.randoms(use_true_random=False))
def test_setting_every_value_to_itself_changes_nothing(
    value: Any, indent: str | None, rnd: random.Random
) -> None:
    text = _CommentedDumper(rnd, indent).document(value)
    doc = JsoncDocument(text)
    for path in _paths(value):
        doc.set(list(path), _resolve(value, path))
    assert doc.text == text


def _resolve(value: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def _assoc(value: Any, path: tuple[str | int, ...], new: Any) -> Any:
    """A new value equal to `value` with `new` at `path` (missing objects created), built
    functionally, unlike the editor's in-place update."""
    if not path:
        return copy.deepcopy(new)
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        assert isinstance(head, int)
        return [_assoc(item, rest, new) if i == head else item for i, item in enumerate(value)]
    child = value.get(head, {}) if isinstance(value, dict) else {}
    return {**value, head: _assoc(child, rest, new)}


def _dissoc(value: Any, path: tuple[str | int, ...]) -> Any:
    """A new value equal to `value` without the member or element at `path`."""
    head, rest = path[0], path[1:]
    if not rest:
        if isinstance(value, list):
            return [item for i, item in enumerate(value) if i != head]
        return {key: item for key, item in value.items() if key != head}
    if isinstance(value, list):
        return [_dissoc(item, rest) if i == head else item for i, item in enumerate(value)]
    return {key: _dissoc(item, rest) if key == head else item for key, item in value.items()}
