"""The instance Pod: one per run, owned by its LunoraContainer, sized by its instance type, with the
declared env, Secrets by reference only, and the variables a Cloudflare instance sees."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml

from lunora_operator.local.config import SecretEnv, Size
from lunora_operator.local.override import StartOverride
from lunora_operator.local.pod_spec import PodSettings, instance_pod, override_secret
from tests.unit.local.fakes import config

GOLDEN = Path(__file__).parent / "golden" / "instance-pod.yaml"
STARTED = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


def full_config():  # type: ignore[no-untyped-def]
    return config(
        "transcoder",
        uid="0b7e6a52-1111-4222-8333-944445555666",
        export_name="transcoder",
        image="127.0.0.1:15000/acme/transcoder:1.4",
        size=Size(0.5, 4096, 8000),
        default_port=8080,
        required_ports=(8080, 9090),
        env=(("LOG_LEVEL", "info"),),
        secrets=(SecretEnv("API_KEY", "transcoder", "api-key"),),
        entrypoint=("/bin/server", "--port", "8080"),
        labels={"tenant": "acme"},
        enable_internet=False,
        allowed_hosts=("*.stripe.com",),
        denied_hosts=("evil.example",),
        pull_secret="local-registry",
    )


def test_the_pod_matches_the_golden_file() -> None:
    pod = instance_pod(full_config(), "video-42", 3, STARTED)

    assert yaml.safe_dump(pod, sort_keys=False) == GOLDEN.read_text()


def test_secrets_are_referenced_never_copied_and_fail_closed() -> None:
    pod = instance_pod(full_config(), "video-42", 1, STARTED)
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}

    assert env["API_KEY"] == {
        "name": "API_KEY",
        "valueFrom": {"secretKeyRef": {"name": "transcoder", "key": "api-key"}},
    }
    assert "optional" not in env["API_KEY"]["valueFrom"]["secretKeyRef"]


def test_cloudflare_variables_are_set_unless_the_app_declares_its_own() -> None:
    pod = instance_pod(config(env=(("CLOUDFLARE_REGION", "WEUR"),)), "a", 1, STARTED)
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}

    assert env["CLOUDFLARE_REGION"] == "WEUR"
    assert [e["name"] for e in pod["spec"]["containers"][0]["env"]].count("CLOUDFLARE_REGION") == 1
    assert env["CLOUDFLARE_DEPLOYMENT_ID"] == {"fieldRef": {"fieldPath": "metadata.uid"}}
    assert env["CLOUDFLARE_APPLICATION_ID"] == "uid-web"
    assert len(env["CLOUDFLARE_DURABLE_OBJECT_ID"]) == 64
    assert {"CLOUDFLARE_LOCATION", "CLOUDFLARE_COUNTRY_A2"} <= set(env)


def test_122_a_start_override_replaces_env_and_secrets_and_sets_the_entrypoint_and_labels() -> None:
    override = StartOverride(
        env_vars={"ONLY": "s3cr3t-value"}, entrypoint=("sh",), labels={"job": "1"}, enable_internet=True
    )
    pod = instance_pod(full_config(), "video-42", 2, STARTED, override)
    container = pod["spec"]["containers"][0]
    names = [e["name"] for e in container["env"] if not e["name"].startswith("CLOUDFLARE_")]

    assert names == ["ONLY"]
    assert container["env"][-1]["valueFrom"]["secretKeyRef"]["key"] == "env.ONLY"
    assert "s3cr3t-value" not in str(pod), "override values stay in their Secret"
    assert container["command"] == ["sh"]
    assert pod["metadata"]["annotations"]["lunora.sh/labels"] == '{"job": "1"}'
    assert pod["metadata"]["annotations"]["lunora.sh/enable-internet"] == "true"


def test_sizes_grace_period_and_defaults() -> None:
    pod = instance_pod(config(), "a", 1, STARTED, settings=PodSettings(grace_seconds=2))

    assert pod["spec"]["containers"][0]["resources"]["limits"] == {
        "cpu": "63m",
        "memory": "256Mi",
        "ephemeral-storage": "2000M",
    }
    assert pod["spec"]["terminationGracePeriodSeconds"] == 2
    assert pod["spec"]["restartPolicy"] == "Never"
    assert "imagePullSecrets" not in pod["spec"]
    assert "command" not in pod["spec"]["containers"][0]


def test_the_override_secret_is_owned_and_labelled_like_its_pods() -> None:
    secret = override_secret(full_config(), "video-42", {"override": "{}"})
    pod = instance_pod(full_config(), "video-42", 1, STARTED)

    assert secret["metadata"]["ownerReferences"] == pod["metadata"]["ownerReferences"]
    assert (
        secret["metadata"]["labels"]["lunora.sh/instance"] == pod["metadata"]["labels"]["lunora.sh/instance"]
    )
    assert secret["metadata"]["labels"]["lunora.sh/role"] == "start-override"


EGRESS = PodSettings(egress_proxy="http://10.244.0.7:3128")
GOLDEN_EGRESS = Path(__file__).parent / "golden" / "instance-pod-egress.yaml"


def env_of(pod: dict) -> dict[str, object]:  # type: ignore[type-arg]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}


def test_with_a_proxy_the_pod_matches_the_golden_file() -> None:
    pod = instance_pod(config(intercept_https=True, enable_internet=False), "a", 1, STARTED, settings=EGRESS)

    assert yaml.safe_dump(pod, sort_keys=False) == GOLDEN_EGRESS.read_text()


def test_with_a_proxy_every_client_finds_it_in_upper_and_lower_case() -> None:
    env = env_of(instance_pod(config(), "a", 1, STARTED, settings=EGRESS))

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        assert env[name] == "http://10.244.0.7:3128", name
    assert env["NO_PROXY"] == env["no_proxy"] == "localhost,127.0.0.1,::1"


def test_without_a_proxy_the_pod_has_no_proxy_variables_and_no_ca() -> None:
    pod = instance_pod(config(intercept_https=True), "a", 1, STARTED)

    assert not {"HTTP_PROXY", "http_proxy", "NO_PROXY"} & set(env_of(pod))
    assert "volumes" not in pod["spec"]
    assert "volumeMounts" not in pod["spec"]["containers"][0]


def test_the_apps_ca_certificate_is_mounted_only_with_intercept_https() -> None:
    plain = instance_pod(config(), "a", 1, STARTED, settings=EGRESS)
    intercepted = instance_pod(config(intercept_https=True), "a", 1, STARTED, settings=EGRESS)

    assert "volumes" not in plain["spec"]
    (volume,) = intercepted["spec"]["volumes"]
    assert volume["secret"]["secretName"] == "demo-egress-ca"
    assert volume["secret"]["items"] == [{"key": "tls.crt", "path": "cloudflare-containers-ca.crt"}]
    (mount,) = intercepted["spec"]["containers"][0]["volumeMounts"]
    assert mount == {"name": volume["name"], "mountPath": "/etc/cloudflare/certs", "readOnly": True}


def test_a_declared_proxy_variable_wins_and_appears_once() -> None:
    pod = instance_pod(config(env=(("NO_PROXY", "internal.test"),)), "a", 1, STARTED, settings=EGRESS)
    names = [e["name"] for e in pod["spec"]["containers"][0]["env"]]

    assert env_of(pod)["NO_PROXY"] == "internal.test"
    assert names.count("NO_PROXY") == 1
    assert env_of(pod)["no_proxy"] == "localhost,127.0.0.1,::1"


def test_the_exec_helper_and_the_ca_share_the_pod() -> None:
    settings = PodSettings(exec_helper_image="helper:1", egress_proxy="http://10.244.0.7:3128")
    pod = instance_pod(config(intercept_https=True), "a", 1, STARTED, settings=settings)

    assert [v["name"] for v in pod["spec"]["volumes"]] == ["lunora-exec", "lunora-egress-ca"]
    assert [m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]] == [
        "/.lunora",
        "/etc/cloudflare/certs",
    ]
