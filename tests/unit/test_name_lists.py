"""Lists of names in messages stay short: the first few names and a count."""

from __future__ import annotations

from lunora_operator.name_lists import counted, few


def test_a_long_list_shows_the_first_three_names_and_counts_the_rest() -> None:
    names = [f"c0x{i}" for i in range(100)]

    assert few(names) == "c0x0, c0x1, c0x2 and 97 more"
    assert counted(names, "LunoraContainer") == "100 LunoraContainers (c0x0, c0x1, c0x2 and 97 more)"


def test_a_message_of_thousands_of_names_stays_as_short_as_one_of_a_hundred() -> None:
    assert len(few(f"name-{i}" for i in range(10_000))) < 40


def test_short_lists_are_shown_whole_and_one_name_is_not_counted() -> None:
    assert few([]) == ""
    assert few(["a", "b", "c"]) == "a, b, c"
    assert few(["a", "b", "c", "d"]) == "a, b, c, d"  # `and 1 more` would say less than the name
    assert few(["a", "b", "c", "d", "e"]) == "a, b, c and 2 more"
    assert counted(["web"], "LunoraContainer") == "LunoraContainer web"
    assert (
        counted(["WebContainer", "ApiContainer"], "class", "classes")
        == "2 classes (WebContainer, ApiContainer)"
    )


def test_the_order_given_is_kept_and_the_number_shown_can_be_chosen() -> None:
    assert few(["z", "a", "m"], shown=1) == "z and 2 more"
    assert few(iter(["z", "a"]), shown=1) == "z, a"


def test_sentences_can_be_listed_with_another_separator() -> None:
    problems = [f"problem {i}" for i in range(6)]
    assert few(problems, separator="; ") == "problem 0; problem 1; problem 2 and 3 more"
