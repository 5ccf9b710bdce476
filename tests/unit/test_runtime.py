"""The operator's process, as the image runs it: the image leaves out the official client's
asyncio copy (`kubernetes.aio`), so nothing the process imports may need it."""

from __future__ import annotations

import subprocess
import sys

LEFT_OUT_OF_THE_IMAGE = ("kubernetes.aio",)


def test_the_operator_process_imports_nothing_the_image_leaves_out() -> None:
    program = (
        "import sys\n"
        "import lunora_operator.cli, lunora_operator.handlers, lunora_operator.runtime\n"
        "import lunora_operator.local.router, lunora_operator.testing.fake_cloudflare\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert "lunora_operator.runtime" in loaded
    assert "kubernetes.client" in loaded
    for left_out in LEFT_OUT_OF_THE_IMAGE:
        assert not [name for name in loaded if name == left_out or name.startswith(left_out + ".")]


def test_the_exec_helper_image_reaches_the_router_template() -> None:
    from lunora_operator.runtime import RunOptions

    settings = RunOptions(router_image="op:1", router_exec_helper_image="exec@sha256:ab").local_settings()
    assert settings is not None
    assert settings.router is not None
    assert settings.router.exec_helper_image == "exec@sha256:ab"
    plain = RunOptions(router_image="op:1").local_settings()
    assert plain is not None
    assert plain.router is not None
    assert plain.router.exec_helper_image is None


def test_the_egress_settings_reach_the_router_template() -> None:
    from lunora_operator.local.egress.network_policy import KUBE_DNS
    from lunora_operator.runtime import RunOptions

    settings = RunOptions(
        router_image="op:1", egress_proxy_args=("--resolve=a.test=10.0.0.5",), egress_dns=None
    ).local_settings()
    assert settings is not None
    assert settings.router is not None
    assert tuple(settings.router.egress_proxy_args) == ("--resolve=a.test=10.0.0.5",)
    assert settings.router.egress_dns is None
    plain = RunOptions(router_image="op:1").local_settings()
    assert plain is not None
    assert plain.router is not None
    assert plain.router.egress_dns == KUBE_DNS
    assert tuple(plain.router.egress_proxy_args) == ()
