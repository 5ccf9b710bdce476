from __future__ import annotations

from pathlib import Path

import pytest

from lunora_operator.testing.environment import TestEnvironment, TestEnvironmentMissing, parse_env_file

FULL = {
    "LUNORA_TEST_KUBECONFIG": "/k/admin.kubeconfig",
    "LUNORA_TEST_KUBECTL": "/t/kubectl",
    "LUNORA_TEST_HELM": "/t/helm",
    "LUNORA_TEST_NODE_TOOLS": "/t/node",
    "LUNORA_TEST_DOCKER_HOST": "unix:///var/run/docker.sock",
    "LUNORA_TEST_BASE_IMAGE": "lunora-test/busybox:1",
    "LUNORA_TEST_REGISTRY": "127.0.0.1:15000",
    "LUNORA_TEST_REGISTRY_USER": "lunora",
    "LUNORA_TEST_REGISTRY_PASSWORD": "pw",
    "LUNORA_TEST_KUBE_NODE_NAME": "lunora-node",
    "LUNORA_TEST_KUBE_NODE_IP": "10.244.0.1",
    "LUNORA_TEST_CONTAINERD_SOCKET": "/n/containerd.sock",
    "LUNORA_TEST_LOAD_IMAGE": "/r/hack/load-image.sh",
}


def test_settings_come_from_the_environment_first(tmp_path: Path) -> None:
    (tmp_path / "env").write_text("export LUNORA_TEST_REGISTRY=127.0.0.1:1\n")

    loaded = TestEnvironment.load(FULL, tmp_path / "env")

    assert loaded.registry == "127.0.0.1:15000"
    assert loaded.kubeconfig == Path("/k/admin.kubeconfig")
    assert loaded.containerd_socket == Path("/n/containerd.sock")
    assert loaded.kube_node_name == "lunora-node"
    assert "pw" not in repr(loaded)


def test_settings_fall_back_to_the_env_file(tmp_path: Path) -> None:
    (tmp_path / "env").write_text("".join(f"export {k}={v}\n" for k, v in FULL.items()))

    assert TestEnvironment.load({}, tmp_path / "env").registry_password == "pw"


def test_missing_settings_name_the_variables_and_the_fix(tmp_path: Path) -> None:
    partial = {k: v for k, v in FULL.items() if k not in ("LUNORA_TEST_HELM", "LUNORA_TEST_LOAD_IMAGE")}

    with pytest.raises(
        TestEnvironmentMissing, match=r"LUNORA_TEST_HELM, LUNORA_TEST_LOAD_IMAGE .*make testenv-up"
    ):
        TestEnvironment.load(partial, tmp_path / "env")


def test_env_file_parser_ignores_comments_and_other_lines() -> None:
    assert parse_env_file("# comment\nexport A=1\nB=2\nexport C='x y'\n") == {"A": "1", "C": "x y"}
