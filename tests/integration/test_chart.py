"""The Helm chart and the kustomize base, with the pinned helm and kubectl and the real API server:
lint, the values schema, what each value renders, and server-side dry runs of every variant in a
namespace that enforces the restricted Pod Security Standard."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lunora_operator.testing.environment import TestEnvironment
from tests.support.chart import CHART, MANIFESTS, SYNC_SCRIPT, Helm, dump, find, parse
from tests.support.kube import KubeClients, Kubectl

pytestmark = [pytest.mark.apiserver]

SERVICE_MONITOR_API = "monitoring.coreos.com/v1/ServiceMonitor"


@pytest.fixture(scope="module")
def helm(testenv: TestEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(binary=testenv.helm, home=tmp_path_factory.mktemp("helm"))


@pytest.fixture
def restricted_namespace(kube: KubeClients, kubectl: Kubectl, namespace: str) -> str:
    """The test's namespace, enforcing the restricted Pod Security Standard."""
    kubectl("label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted")
    return namespace


@pytest.fixture
def second_namespace(kube: KubeClients) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:10]}"
    kube.create_namespace(name)
    yield name
    kube.delete_namespace(name)


def server_dry_run(kubectl: Kubectl, documents: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    """Every object through the real API server's validation and admission (Pod Security
    included: its warnings are errors), nothing stored."""
    return kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--dry-run=server",
        "--warnings-as-errors",
        "-f",
        "-",
        stdin=dump(documents),
        check=False,
    )


def container(documents: list[dict[str, Any]]) -> dict[str, Any]:
    (deployment,) = find(documents, "Deployment")
    (operator,) = deployment["spec"]["template"]["spec"]["containers"]
    return operator  # type: ignore[no-any-return]


def rules(role: dict[str, Any]) -> dict[str, set[str]]:
    """`group/resource` -> verbs."""
    found: dict[str, set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                found.setdefault(f"{group}/{resource}", set()).update(rule["verbs"])
    return found


# --- lint and one source of truth ------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"rbac": {"namespaced": True}, "watchNamespaces": ["apps"]},
        {"metrics": {"enabled": True, "serviceMonitor": {"enabled": True}}},
        {"peering": {"enabled": False}, "argocd": {"healthCheck": {"enabled": True}}},
    ],
    ids=["default", "namespaced", "metrics", "standalone-argocd"],
)
def test_chart_lints_strictly(helm: Helm, tmp_path: Path, values: dict[str, Any]) -> None:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = helm("lint", "--strict", str(CHART), "--values", str(values_file), check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_chart_crds_and_kustomize_base_are_generated_from_their_sources(testenv: TestEnvironment) -> None:
    """The chart's CRDs are crds/ (as `make crds` wrote them) and manifests/ is the chart
    rendered with its defaults: `make chart` regenerates both."""
    result = subprocess.run(
        [sys.executable, str(SYNC_SCRIPT), "--check", "--helm", str(testenv.helm)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"stale, run `make chart`:\n{result.stdout}{result.stderr}"


# --- the values schema and the template's own checks --------------------------------------------------


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"logFormat": "yaml"}, "at '/logFormat': value must be one of 'plain', 'full', 'json'"),
        ({"replicaCount": "two"}, "at '/replicaCount': got string, want integer"),
        ({"watchNamespace": ["apps"]}, "additional properties 'watchNamespace' not allowed"),
        ({"metrics": {"port": 70000}}, "at '/metrics/port': maximum"),
        ({"peering": {"priority": -1}}, "at '/peering/priority': minimum"),
        ({"image": {"digest": "latest"}}, "at '/image/digest'"),
        ({"metrics": {"serviceMonitor": {"renderMode": "sometimes"}}}, "/metrics/serviceMonitor/renderMode"),
        ({"localMode": {"egress": {"dns": "kube-dns"}}}, "at '/localMode/egress/dns'"),
    ],
    ids=[
        "log-format",
        "replicas-type",
        "misspelled-key",
        "port-range",
        "priority",
        "digest",
        "render-mode",
        "egress-dns",
    ],
)
def test_values_schema_rejects_a_bad_value_naming_it(
    helm: Helm, tmp_path: Path, values: dict[str, Any], words: str
) -> None:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = helm("template", "x", str(CHART), "--values", str(values_file), check=False)
    assert result.returncode != 0, result.stdout
    assert "don't meet the specifications of the schema" in result.stderr
    assert words in result.stderr


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"rbac": {"namespaced": True}}, "rbac.namespaced needs watchNamespaces"),
        (
            {"rbac": {"namespaced": True}, "watchNamespaces": ["team-*"]},
            'watchNamespaces: "team-*" is a pattern; rbac.namespaced needs exact namespace names',
        ),
        ({"peering": {"enabled": False}, "replicaCount": 2}, "replicaCount > 1 needs peering.enabled"),
        (
            {"peering": {"enabled": False}, "strategy": {"type": "RollingUpdate"}},
            "only Recreate keeps two operator Pods from running at once",
        ),
        (
            {"metrics": {"serviceMonitor": {"enabled": True}}},
            "metrics.serviceMonitor.enabled needs metrics.enabled",
        ),
        ({"serviceAccount": {"create": False}}, "serviceAccount.name: name the existing ServiceAccount"),
    ],
    ids=[
        "namespaced-without-namespaces",
        "namespaced-glob",
        "standalone-replicas",
        "standalone-rolling",
        "monitor-without-metrics",
        "no-service-account",
    ],
)
def test_contradicting_values_fail_with_the_fix(
    helm: Helm, tmp_path: Path, values: dict[str, Any], words: str
) -> None:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    result = helm("template", "x", str(CHART), "--values", str(values_file), check=False)
    assert result.returncode != 0, result.stdout
    assert words in result.stderr


# --- what the values render ---------------------------------------------------------------------------


def test_default_values_run_the_operator_cluster_wide_with_peering_liveness_and_json_logs(helm: Helm) -> None:
    documents = helm.template("lunora-operator", "ops")
    operator = container(documents)
    assert operator["command"] == ["lunora-operator"]
    assert operator["args"][0] == "run"
    for flag in ("--all-namespaces", "--log-format=json", "--peering=lunora-operator"):
        assert flag in operator["args"]
    assert "--liveness=http://0.0.0.0:8080/healthz" in operator["args"]
    assert not any(
        arg.startswith(("--standalone", "--metrics-port", "--namespace")) for arg in operator["args"]
    )
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    assert operator["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    assert "--peering-lifetime=10" in operator["args"]
    assert {"name": "healthz", "containerPort": 8080, "protocol": "TCP"} in operator["ports"]
    env = {e["name"]: e for e in operator["env"]}
    assert env["POD_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert "DOCKER_HOST" not in env
    # The image is the documented placeholder, never something that could resolve.
    assert operator["image"] == "example.invalid/lunora-operator:0.1.0"
    (deployment,) = find(documents, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "lunora-operator"
    # Cluster-wide: one ClusterRole with the cluster-wide peering kind, no Role.
    role = rules(find(documents, "ClusterRole", "lunora-operator")[0])
    assert role["kopf.dev/clusterkopfpeerings"] == {"create", "get", "list", "watch", "patch"}
    assert "kopf.dev/kopfpeerings" not in role
    assert role["apiextensions.k8s.io/customresourcedefinitions"] == {"list", "watch"}
    assert "/namespaces" not in role, "kopf lists namespaces only when watching named ones"
    assert find(documents, "Role") == []
    assert find(documents, "Service") == []
    assert find(documents, "ConfigMap") == []
    crds = {d["metadata"]["name"]: d for d in find(documents, "CustomResourceDefinition")}
    assert sorted(crds) == [
        "clusterkopfpeerings.kopf.dev",
        "kopfpeerings.kopf.dev",
        "lunoraapps.lunora.sh",
        "lunoracontainers.lunora.sh",
    ]
    assert all(c["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"} for c in crds.values())


@pytest.mark.parametrize("local_mode", [False, True])
def test_named_namespaces_with_namespaced_rbac_render_roles_only_there(helm: Helm, local_mode: bool) -> None:
    documents = helm.template(
        "lunora-operator",
        "ops",
        {
            "watchNamespaces": ["apps", "web"],
            "rbac": {"namespaced": True},
            "localMode": {"enabled": local_mode},
        },
    )
    operator = container(documents)
    assert "--namespace=apps" in operator["args"]
    assert "--namespace=web" in operator["args"]
    assert "--all-namespaces" not in operator["args"]
    roles = find(documents, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["apps", "web"]
    for role in roles:
        granted = rules(role)
        assert granted["kopf.dev/kopfpeerings"] == {"create", "get", "list", "watch", "patch"}
        # Local mode writes start-override Secrets; Cloudflare mode only reads the token's.
        assert granted["/secrets"] == ({"get", "create", "update", "delete"} if local_mode else {"get"})
        # Local mode makes each app's instance NetworkPolicy (the garbage collector deletes it).
        assert granted.get("networking.k8s.io/networkpolicies") == (
            {"get", "create", "patch"} if local_mode else None
        )
    bindings = find(documents, "RoleBinding")
    assert [b["subjects"] for b in bindings] == [
        [{"kind": "ServiceAccount", "name": "lunora-operator", "namespace": "ops"}]
    ] * 2
    # Cluster-wide, only kopf's scanning (and the aggregated user roles).
    scanning = rules(find(documents, "ClusterRole", "lunora-operator-scanning")[0])
    assert scanning == {
        "apiextensions.k8s.io/customresourcedefinitions": {"list", "watch"},
        "/namespaces": {"list", "watch"},
    }
    without_scanning = helm.template(
        "lunora-operator",
        "ops",
        {
            "watchNamespaces": ["apps"],
            "rbac": {"namespaced": True, "clusterScanning": False, "aggregateClusterRoles": False},
        },
    )
    assert find(without_scanning, "ClusterRole") == []
    assert find(without_scanning, "ClusterRoleBinding") == []


def test_standalone_runs_one_replica_with_recreate(helm: Helm) -> None:
    documents = helm.template("lunora-operator", "ops", {"peering": {"enabled": False}})
    operator = container(documents)
    assert "--standalone" in operator["args"]
    assert not any(arg.startswith("--peering") for arg in operator["args"])
    (deployment,) = find(documents, "Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    # Without peering neither the peering CRDs nor the peering rules.
    assert not any("kopf.dev" in d["metadata"]["name"] for d in find(documents, "CustomResourceDefinition"))
    assert not any(
        k.startswith("kopf.dev/") for k in rules(find(documents, "ClusterRole", "lunora-operator")[0])
    )


def test_operator_flags_and_environment_follow_the_values(helm: Helm) -> None:
    documents = helm.template(
        "lunora-operator",
        "ops",
        {
            "logFormat": "plain",
            "verbose": True,
            "resyncInterval": 120,
            "cloudflare": {"timeout": 10, "deadline": 30, "backoff": 0.25},
            "peering": {"name": "blue", "priority": 100},
            "livenessProbe": {"enabled": False},
            "readinessProbe": {"enabled": False},
            "docker": {"host": "tcp://buildkit:2376", "tlsSecretName": "engine-tls"},
            "image": {"repository": "registry.example.com/lunora-operator", "digest": "sha256:" + "a" * 64},
            "extraArgs": ["--build-root=/builds"],
        },
    )
    operator = container(documents)
    for flag in (
        "--log-format=plain",
        "--verbose",
        "--resync-interval=120",
        "--cloudflare-timeout=10",
        "--cloudflare-deadline=30",
        "--cloudflare-backoff=0.25",
        "--peering=blue",
        "--priority=100",
        "--build-root=/builds",
    ):
        assert flag in operator["args"]
    assert not any(arg.startswith("--liveness") for arg in operator["args"])
    assert "livenessProbe" not in operator
    assert "ports" not in operator
    env = {e["name"]: e.get("value") for e in operator["env"]}
    assert env["DOCKER_HOST"] == "tcp://buildkit:2376"
    assert env["DOCKER_TLS_VERIFY"] == "1"
    assert {"name": "docker-tls", "mountPath": env["DOCKER_CERT_PATH"], "readOnly": True} in operator[
        "volumeMounts"
    ]
    assert operator["image"] == "registry.example.com/lunora-operator@sha256:" + "a" * 64


def test_local_modes_egress_values_become_operator_flags(helm: Helm) -> None:
    default = container(helm.template("lunora-operator", "ops"))
    assert "--egress-dns=kube-system/k8s-app=kube-dns" in default["args"]
    assert not any(arg.startswith("--egress-proxy-arg") for arg in default["args"])
    egress = {"dns": "none", "proxyArgs": ["--resolve=api.test=10.0.0.5", "--upstream-ca=/ca.pem"]}
    operator = container(helm.template("lunora-operator", "ops", {"localMode": {"egress": egress}}))
    assert [a for a in operator["args"] if a.startswith("--egress-")] == [
        "--egress-dns=none",
        "--egress-proxy-arg=--resolve=api.test=10.0.0.5",
        "--egress-proxy-arg=--upstream-ca=/ca.pem",
    ]
    off = container(helm.template("lunora-operator", "ops", {"localMode": {"enabled": False}}))
    assert not any(arg.startswith("--egress-") for arg in off["args"])


def test_metrics_service_and_service_monitor_only_when_asked_and_served(helm: Helm) -> None:
    metrics = {"metrics": {"enabled": True, "serviceMonitor": {"enabled": True}}}
    documents = helm.template("lunora-operator", "ops", metrics)
    operator = container(documents)
    assert "--metrics-port=9090" in operator["args"]
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in operator["ports"]
    (service,) = find(documents, "Service")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert find(documents, "ServiceMonitor") == [], "the cluster does not serve ServiceMonitor"
    served = helm.template("lunora-operator", "ops", metrics, "--api-versions", SERVICE_MONITOR_API)
    (monitor,) = find(served, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    always = {"metrics": {"enabled": True, "serviceMonitor": {"enabled": True, "renderMode": "alwaysRender"}}}
    assert len(find(helm.template("lunora-operator", "ops", always), "ServiceMonitor")) == 1
    failing = {
        "metrics": {"enabled": True, "serviceMonitor": {"enabled": True, "renderMode": "failIfMissing"}}
    }
    with pytest.raises(AssertionError, match=r"does not serve monitoring\.coreos\.com/v1 ServiceMonitor"):
        helm.template("lunora-operator", "ops", failing)


def test_crds_follow_their_switches(helm: Helm) -> None:
    def crd_names(values: dict[str, Any]) -> list[str]:
        return sorted(
            d["metadata"]["name"] for d in find(helm.template("l", "ops", values), "CustomResourceDefinition")
        )

    assert crd_names({"crds": {"enabled": False}}) == []
    assert crd_names({"crds": {"kopfPeering": False}}) == [
        "lunoraapps.lunora.sh",
        "lunoracontainers.lunora.sh",
    ]
    unkept = find(helm.template("l", "ops", {"crds": {"keep": False}}), "CustomResourceDefinition")
    assert all("annotations" not in c["metadata"] for c in unkept)
    # The templates carry crds/ unchanged but for the chart's metadata.
    source = {
        d["metadata"]["name"]: d
        for path in sorted((CHART.parents[1] / "crds").rglob("*.yaml"))
        for d in parse(path.read_text())
    }
    for rendered in find(helm.template("l", "ops"), "CustomResourceDefinition"):
        assert rendered["spec"] == source[rendered["metadata"]["name"]]["spec"]


def test_argocd_health_configmap_carries_the_lua_for_both_kinds(helm: Helm) -> None:
    documents = helm.template(
        "lunora-operator", "ops", {"argocd": {"healthCheck": {"enabled": True, "namespace": "argocd"}}}
    )
    (config_map,) = find(documents, "ConfigMap")
    assert config_map["metadata"]["namespace"] == "argocd"
    lua = (CHART / "files" / "argocd-health.lua").read_text()
    assert config_map["data"] == {
        "resource.customizations.health.lunora.sh_LunoraContainer": lua,
        "resource.customizations.health.lunora.sh_LunoraApp": lua,
    }


# --- the real API server ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"metrics": {"enabled": True, "serviceMonitor": {"enabled": True}}},
        {"peering": {"enabled": False}, "argocd": {"healthCheck": {"enabled": True}}},
        {"docker": {"host": "tcp://buildkit:2376", "tlsSecretName": "engine-tls"}, "verbose": True},
    ],
    ids=["default", "metrics", "standalone-argocd", "docker-tls"],
)
def test_rendered_chart_is_accepted_by_the_api_server_under_restricted_pod_security(
    helm: Helm, kubectl: Kubectl, restricted_namespace: str, values: dict[str, Any]
) -> None:
    release = f"r{uuid.uuid4().hex[:8]}"
    # The `helm test` Pod is not installed with the release (its own check is below).
    documents = helm.template(release, restricted_namespace, values, "--skip-tests")
    result = server_dry_run(kubectl, documents)
    assert result.returncode == 0, result.stderr
    assert f"deployment.apps/{release}-lunora-operator serverside-applied (server dry run)" in result.stdout


def test_the_helm_test_pod_is_accepted_under_restricted_pod_security(
    helm: Helm, kubectl: Kubectl, restricted_namespace: str
) -> None:
    release = f"r{uuid.uuid4().hex[:8]}"
    documents = helm.template(release, restricted_namespace)
    tests = [d for d in find(documents, "Pod") if d["metadata"]["annotations"]["helm.sh/hook"] == "test"]
    kubectl("-n", restricted_namespace, "create", "serviceaccount", f"{release}-lunora-operator")
    result = server_dry_run(kubectl, tests)
    assert result.returncode == 0, result.stderr


def test_namespaced_rbac_is_accepted_by_the_api_server(
    helm: Helm, kubectl: Kubectl, restricted_namespace: str, second_namespace: str
) -> None:
    release = f"r{uuid.uuid4().hex[:8]}"
    documents = helm.template(
        release,
        restricted_namespace,
        {"watchNamespaces": [restricted_namespace, second_namespace], "rbac": {"namespaced": True}},
        "--skip-tests",
    )
    result = server_dry_run(kubectl, documents)
    assert result.returncode == 0, result.stderr
    applied = [line.split("/")[0] for line in result.stdout.splitlines()]
    assert applied.count("role.rbac.authorization.k8s.io") == 2
    assert applied.count("rolebinding.rbac.authorization.k8s.io") == 2


def test_pod_security_violation_is_caught_by_the_dry_run(
    helm: Helm, kubectl: Kubectl, restricted_namespace: str
) -> None:
    """The dry run above can fail: a security context below the restricted profile is refused."""
    documents = helm.template(
        "r", restricted_namespace, {"securityContext": {"allowPrivilegeEscalation": True}}
    )
    result = server_dry_run(kubectl, documents)
    assert result.returncode != 0
    assert 'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in result.stderr


def test_helm_installs_and_uninstalls_the_chart(
    helm: Helm, testenv: TestEnvironment, kubectl: Kubectl, namespace: str
) -> None:
    """A real `helm install` (no Pod: the image is a placeholder; the CRDs are shared by the test
    cluster, so this release leaves them out) prints the NOTES with the placeholder warning."""
    release = f"r{uuid.uuid4().hex[:8]}"
    kubeconfig = ["--kubeconfig", str(testenv.kubeconfig), "--namespace", namespace]
    installed = helm(
        "install", release, str(CHART), *kubeconfig,
        "--set", "crds.enabled=false", "--set", "replicaCount=0", "--set", f"watchNamespaces={{{namespace}}}",
    )  # fmt: skip
    try:
        assert "STATUS: deployed" in installed.stdout
        assert (
            "WARNING: image.repository is the placeholder example.invalid/lunora-operator" in installed.stdout
        )
        assert f"watching the namespaces {namespace}" in installed.stdout
        deployment = kubectl("get", "deployment", f"{release}-lunora-operator", "-n", namespace, "-o", "yaml")
        assert "--namespace=" + namespace in deployment.stdout
        kubectl("get", "clusterrole", f"{release}-lunora-operator")
    finally:
        helm("uninstall", release, *kubeconfig)
    gone = kubectl("get", "clusterrole", f"{release}-lunora-operator", check=False)
    assert gone.returncode != 0


def test_kustomize_base_applies_in_an_overlay_that_sets_namespace_and_image(
    kubectl: Kubectl, restricted_namespace: str, tmp_path: Path
) -> None:
    """`kubectl apply -k manifests/` as users extend it: an overlay with its own namespace and
    the real image. (The base's own namespace is left out: a dry run cannot create it.)"""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "namespace": restricted_namespace,
                "resources": [os.path.relpath(MANIFESTS, overlay)],
                "images": [
                    {
                        "name": "example.invalid/lunora-operator",
                        "newName": "registry.example.com/lunora-operator",
                        "newTag": "0.1.0",
                    }
                ],
                "patches": [
                    {
                        "patch": "$patch: delete\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: lunora-system\n"
                    }
                ],
            }
        )
    )
    built = kubectl("kustomize", str(overlay))
    documents = parse(built.stdout)
    assert find(documents, "Namespace") == []
    assert container(documents)["image"] == "registry.example.com/lunora-operator:0.1.0"
    (binding,) = find(documents, "ClusterRoleBinding", "lunora-operator")
    assert binding["subjects"][0]["namespace"] == restricted_namespace
    result = server_dry_run(kubectl, documents)
    assert result.returncode == 0, result.stderr


def test_kustomize_base_holds_the_same_objects_as_the_chart(helm: Helm) -> None:
    """manifests/ is the chart's default render in lunora-system plus the namespace."""
    base = [
        d
        for path in sorted(MANIFESTS.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for d in parse(path.read_text())
    ]
    chart = helm.template("lunora-operator", "lunora-system", None, "--skip-tests")  # no test runner there
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, base)) == sorted([*map(key, chart), ("Namespace", "lunora-system")])
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in MANIFESTS.glob("*.yaml") if p.name != "kustomization.yaml"
    )


def test_the_readiness_probe_alone_keeps_the_health_endpoint(helm: Helm) -> None:
    operator = container(helm.template("lunora-operator", "ops", {"livenessProbe": {"enabled": False}}))
    assert "--liveness=http://0.0.0.0:8080/healthz" in operator["args"]
    assert "livenessProbe" not in operator
    assert operator["readinessProbe"]["httpGet"]["port"] == "healthz"


def test_the_helm_test_pod_checks_the_installation_with_the_operators_image_and_account(helm: Helm) -> None:
    documents = helm.template(
        "lunora-operator", "ops", {"watchNamespaces": ["team-a"], "imagePullSecrets": [{"name": "pull"}]}
    )
    (pod,) = [d for d in find(documents, "Pod") if d["metadata"]["annotations"]["helm.sh/hook"] == "test"]
    (check,) = pod["spec"]["containers"]
    assert check["command"] == ["lunora-operator"]
    assert check["args"] == ["status", "--namespace=team-a", "--peering=lunora-operator"]
    assert check["image"] == container(documents)["image"]
    assert pod["spec"]["serviceAccountName"] == "lunora-operator"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "pull"}]
    assert check["securityContext"]["readOnlyRootFilesystem"] is True
    assert not find(helm.template("lunora-operator", "ops", {"tests": {"enabled": False}}), "Pod")
