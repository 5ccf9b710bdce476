"""Lists of names in messages (conditions, Events, log lines, errors) kept short: the first few
and a count, never one line of hundreds of names. Every message that names many objects goes
through here."""

from __future__ import annotations

from collections.abc import Iterable

SHOWN = 3
"""How many names a message shows before it counts the rest."""


def few(names: Iterable[str], shown: int = SHOWN, separator: str = ", ") -> str:
    """`a, b, c and 97 more`; every name when at most one more than `shown` would be left out
    (`and 1 more` says less than the name itself)."""
    listed = list(names)
    if len(listed) <= shown + 1:
        return separator.join(listed)
    return f"{separator.join(listed[:shown])} and {len(listed) - shown} more"


def counted(names: Iterable[str], noun: str, plural: str | None = None, shown: int = SHOWN) -> str:
    """`LunoraContainer web` for one; `100 LunoraContainers (c0x0, c0x1, c0x2 and 97 more)` for
    more. `plural` defaults to `noun` + "s"."""
    listed = list(names)
    if len(listed) == 1:
        return f"{noun} {listed[0]}"
    return f"{len(listed)} {plural or noun + 's'} ({few(listed, shown)})"
