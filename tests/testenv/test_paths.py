"""hack/lib.sh alone decides where the test environment lives; `make test`, the tests and
testenv-up all follow it, so they read the env file testenv-up wrote. (An environment check:
`make testenv-check`.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.testenv import REPO_ROOT, env_file

CACHE_VARIABLES = ("LUNORA_CACHE", "LUNORA_TESTENV_DIR", "XDG_CACHE_HOME")


@pytest.fixture
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No cache variables and a HOME of its own, so the real environment is never touched."""
    for name in CACHE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("LUNORA_TEST_")]:
        monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def outside_make() -> dict[str, str]:
    """This process's environment without what an enclosing `make test` passes to sub-makes."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, "home/.cache/lunora-operator/testenv/env"),
        ({"XDG_CACHE_HOME": "xdg"}, "xdg/lunora-operator/testenv/env"),
        ({"LUNORA_CACHE": "cache", "XDG_CACHE_HOME": "xdg"}, "cache/testenv/env"),
        ({"LUNORA_CACHE": "cache", "LUNORA_TESTENV_DIR": "mine"}, "mine/env"),
    ],
)
def test_tests_read_the_env_file_where_lib_sh_puts_it(
    clean_environ: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    expected: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, str(tmp_path / value))

    assert env_file() == tmp_path / expected


def test_make_test_sources_the_env_file_of_lunora_cache(clean_environ: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "testenv").mkdir(parents=True)
    (cache / "testenv" / "env").write_text("export LUNORA_TEST_KUBECONFIG=/from/lunora-cache\n")
    seen = tmp_path / "seen"
    probe = tmp_path / "probe.sh"
    probe.write_text(f'#!/bin/sh\necho "$LUNORA_TEST_KUBECONFIG" > {seen}\n')
    probe.chmod(0o755)

    # -o: neither set up the venv, nor start or check an environment (this check runs inside
    # `make test`); PYTEST: the probe instead of pytest.
    result = subprocess.run(
        [
            "make",
            "-C",
            str(REPO_ROOT),
            "-o",
            "setup",
            "-o",
            "testenv-up",
            "-o",
            "testenv-check",
            "test",
            f"PYTEST={probe}",
        ],
        env={**outside_make(), "LUNORA_CACHE": str(cache)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert seen.read_text() == "/from/lunora-cache\n"
