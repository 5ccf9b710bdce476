"""Render cost per container: one app with N registry containers, both config formats.

Not a test: it prints numbers. `first` renders into a config holding only the Worker's name;
`re-render` renders again into that output, unchanged (what the operator does on every resync).
Targets: 1000 containers under 2 s in either format, JSONC within 2x of TOML.

    .venv/bin/python bench/render.py [N ...]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.validation import validate_resource
from lunora_operator.planner import Plan, PlanInput, plan
from lunora_operator.wrangler.document import Format, empty_text

SIZES = (10, 100, 1000)
FORMATS: tuple[Format, ...] = ("toml", "jsonc")


def resource(document: dict[str, Any]) -> Any:
    return validate_resource({"apiVersion": "lunora.sh/v1alpha1", **document})


def app() -> LunoraApp:
    made = resource(
        {"kind": "LunoraApp", "metadata": {"name": "demo"}, "spec": {"workerName": "demo", "mode": "local"}}
    )
    assert isinstance(made, LunoraApp)
    return made


def containers(count: int) -> list[LunoraContainer]:
    made = [
        resource(
            {
                "kind": "LunoraContainer",
                "metadata": {"name": f"c{i:04d}"},
                "spec": {
                    "app": "demo",
                    "image": {"registry": f"registry.example.com/acme/c{i:04d}:1.{i}"},
                    "instanceType": "standard-1",
                    "maxInstances": 3,
                },
            }
        )
        for i in range(count)
    ]
    assert all(isinstance(c, LunoraContainer) for c in made)
    return made


def timed(run: Callable[[], Plan]) -> tuple[float, Plan]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def measure(fmt: Format, count: int) -> tuple[float, float]:
    the_app, members = app(), containers(count)

    def request(base: str, last: Plan | None) -> PlanInput:
        return PlanInput(
            app_name="demo",
            app=the_app,
            containers=members,
            base_text=base,
            format=fmt,
            previous_config_text=None,
            previous_state=last.state if last else None,
            in_place=last is not None,
        )

    first_time, first = timed(lambda: plan(request(empty_text(fmt, "demo"), None)))
    again_time, again = timed(lambda: plan(request(first.config_text, first)))
    assert again.config_text == first.config_text, "a re-render of an unchanged config changed it"
    assert len(first.config["containers"]) == count
    return first_time, again_time


def main(sizes: tuple[int, ...]) -> None:
    for fmt in FORMATS:  # warm up: imports, compiled patterns, first-call costs
        measure(fmt, 5)
    print(
        f"{'N':>6}  {'format':<6}  {'first s':>8}  {'ms/container':>12}  {'re-render s':>11}  {'ms/container':>12}"
    )
    results: dict[tuple[int, Format], tuple[float, float]] = {}
    for count in sizes:
        for fmt in FORMATS:
            first, again = results[count, fmt] = measure(fmt, count)
            print(
                f"{count:>6}  {fmt:<6}  {first:>8.3f}  {first / count * 1000:>12.3f}  "
                f"{again:>11.3f}  {again / count * 1000:>12.3f}"
            )
    print("\nJSONC / TOML")
    for count in sizes:
        (toml_first, toml_again), (jsonc_first, jsonc_again) = results[count, "toml"], results[count, "jsonc"]
        print(
            f"{count:>6}  first {jsonc_first / toml_first:5.2f}x   re-render {jsonc_again / toml_again:5.2f}x"
        )


if __name__ == "__main__":
    main(tuple(int(arg) for arg in sys.argv[1:]) or SIZES)
