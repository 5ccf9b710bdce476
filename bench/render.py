"""Render cost per container: one app with N registry containers, both config formats.

Not a test: it prints numbers. Each render goes into the previous one's output, as the offline
command does in place and the operator does on every change:

- first: into a config holding only the Worker's name;
- again: the same resources again (nothing changes; every resync);
- changed: every container's image and size changed;
- deleted: a third of the containers removed (deletionPolicy Delete).

Targets: 1000 containers under 2 s in either format, JSONC within 2x of TOML.

    .venv/bin/python bench/render.py [N ...]
"""

from __future__ import annotations

import sys
import time
from typing import Any

from lunora_operator.api.resources import LunoraApp, LunoraContainer
from lunora_operator.api.validation import validate_resource
from lunora_operator.planner import Plan, PlanInput, plan
from lunora_operator.wrangler.document import Format, empty_text

SIZES = (10, 100, 1000)
FORMATS: tuple[Format, ...] = ("toml", "jsonc")
STEPS = ("first", "again", "changed", "deleted")


def app() -> LunoraApp:
    made = validate_resource(
        {
            "apiVersion": "lunora.sh/v1alpha1",
            "kind": "LunoraApp",
            "metadata": {"name": "demo"},
            "spec": {"workerName": "demo", "mode": "local"},
        }
    )
    assert isinstance(made, LunoraApp)
    return made


def containers(count: int, version: int = 1) -> list[LunoraContainer]:
    made = []
    for i in range(count):
        spec: dict[str, Any] = {
            "app": "demo",
            "image": {"registry": f"registry.example.com/acme/c{i:04d}:{version}.{i}"},
            "maxInstances": 2 + version,
        }
        if version == 1:
            spec["instanceType"] = "standard-1"
        resource = validate_resource(
            {
                "apiVersion": "lunora.sh/v1alpha1",
                "kind": "LunoraContainer",
                "metadata": {"name": f"c{i:04d}"},
                "spec": spec,
            }
        )
        assert isinstance(resource, LunoraContainer)
        made.append(resource)
    return made


def measure(fmt: Format, count: int) -> dict[str, float]:
    the_app = app()
    wanted = {
        "first": containers(count),
        "again": containers(count),
        "changed": containers(count, version=2),
        "deleted": containers(count, version=2)[: count - count // 3],
    }
    times: dict[str, float] = {}
    last: Plan | None = None
    for step in STEPS:
        request = PlanInput(
            app_name="demo",
            app=the_app,
            containers=wanted[step],
            base_text=last.config_text if last else empty_text(fmt, "demo"),
            format=fmt,
            previous_config_text=None,
            previous_state=last.state if last else None,
            in_place=last is not None,
        )
        start = time.perf_counter()
        result = plan(request)
        times[step] = time.perf_counter() - start
        if step == "again":
            assert last is not None
            assert result.config_text == last.config_text, "an unchanged render changed"
        assert len(result.config["containers"]) == len(wanted[step])
        last = result
    return times


def main(sizes: tuple[int, ...]) -> None:
    for fmt in FORMATS:  # warm up: imports, compiled patterns, first-call costs
        measure(fmt, 5)
    print("seconds (milliseconds per container)")
    print(f"{'N':>6}  {'format':<6}" + "".join(f"  {step:>15}" for step in STEPS))
    results: dict[tuple[int, Format], dict[str, float]] = {}
    for count in sizes:
        for fmt in FORMATS:
            times = results[count, fmt] = measure(fmt, count)
            cells = "".join(f"  {times[s]:>6.3f} ({times[s] / count * 1000:5.2f})" for s in STEPS)
            print(f"{count:>6}  {fmt:<6}{cells}")
    print("\nJSONC / TOML")
    for count in sizes:
        ratios = "".join(
            f"  {step} {results[count, 'jsonc'][step] / results[count, 'toml'][step]:4.2f}x" for step in STEPS
        )
        print(f"{count:>6}{ratios}")


if __name__ == "__main__":
    main(tuple(int(arg) for arg in sys.argv[1:]) or SIZES)
