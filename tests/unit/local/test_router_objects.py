"""The router's objects: owned by the app, the Pod meeting the restricted Pod Security Standard,
the router command and readiness, the egress proxy beside it, a Role holding exactly what the
two call, and the NetworkPolicy leaving instances only the proxy."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lunora_operator.local import names
from lunora_operator.local.router_objects import (
    EXEC_RULE,
    ROUTER_RULES,
    RouterApp,
    RouterTemplate,
    deployment,
    network_policy,
    role,
    role_binding,
    router_objects,
    service,
)

APP = RouterApp("team-a", "demo", "uid-1", pull_secret="local-registry")
TEMPLATE = RouterTemplate("registry.example/lunora-operator:1.0", ("operator-pull",), (("A", "1"),))
DOCS = Path(__file__).resolve().parents[3] / "docs/local-mode.md"
GOLDEN = Path(__file__).parent / "golden" / "router-objects.yaml"


def pod_spec() -> dict:
    return deployment(APP, TEMPLATE)["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def test_the_pod_meets_the_restricted_pod_security_standard() -> None:
    spec = pod_spec()
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "hostNetwork" not in spec
    assert "hostPID" not in spec
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
    assert all("hostPath" not in volume for volume in spec["volumes"])


def containers() -> dict[str, dict]:  # type: ignore[type-arg]
    return {container["name"]: container for container in pod_spec()["containers"]}


def test_the_pod_runs_the_router_of_its_app_and_is_ready_on_healthz() -> None:
    container = containers()["router"]
    assert container["image"] == TEMPLATE.image
    assert [*container["command"], *container["args"]] == [
        "lunora-operator", "router", "--namespace", "team-a", "--app", "demo", "--listen", "0.0.0.0:8080",
        "--egress-control", "http://127.0.0.1:3129", "--egress-proxy", "http://$(POD_IP):3128",
    ]  # fmt: skip
    assert container["readinessProbe"]["httpGet"] == {"path": "/_api/healthz", "port": "http"}
    assert {"name": "A", "value": "1"} in container["env"]
    # $(POD_IP) in the arguments is expanded by the kubelet from this variable.
    assert {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}} in container["env"]
    assert pod_spec()["imagePullSecrets"] == [{"name": "operator-pull"}, {"name": "local-registry"}]
    assert pod_spec()["serviceAccountName"] == "demo-router"


def test_the_egress_proxy_runs_beside_the_router_its_control_api_on_loopback() -> None:
    proxy = containers()["egress-proxy"]
    assert proxy["image"] == TEMPLATE.image
    assert [*proxy["command"], *proxy["args"]] == [
        "lunora-operator", "egress-proxy", "--namespace", "team-a", "--app", "demo", "--app-uid", "uid-1",
        "--listen", "0.0.0.0:3128", "--control", "127.0.0.1:3129", "--health", "0.0.0.0:3130",
        "--refuse-host", "demo-router.team-a.svc",  # the router's API is no instance's destination
    ]  # fmt: skip
    assert [(p["name"], p["containerPort"]) for p in proxy["ports"]] == [
        ("egress-proxy", 3128),
        ("egress-health", 3130),
    ]
    assert proxy["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "egress-health"}
    assert {"name": "A", "value": "1"} in proxy["env"]
    assert proxy["resources"] == containers()["router"]["resources"]
    assert proxy["securityContext"] == containers()["router"]["securityContext"]


def test_extra_proxy_arguments_follow_the_operators_and_may_not_replace_them() -> None:
    template = RouterTemplate("img", egress_proxy_args=("--resolve", "a.test=10.0.0.5", "--upstream-ca=/ca"))
    args = deployment(APP, template)["spec"]["template"]["spec"]["containers"][1]["args"]
    assert args[-3:] == ["--resolve", "a.test=10.0.0.5", "--upstream-ca=/ca"]
    for flag in ("--listen", "--control=1.2.3.4:1", "--namespace", "--app", "--health", "--kubeconfig"):
        with pytest.raises(ValueError, match="the operator sets"):
            RouterTemplate("img", egress_proxy_args=(flag,))


def test_instances_may_reach_the_router_pods_proxy_port_and_dns_only() -> None:
    policy = network_policy(APP, TEMPLATE)
    assert policy["metadata"]["name"] == "demo-instance-egress"
    assert policy["spec"]["podSelector"] == {
        "matchLabels": {names.LABEL_APP: "demo", names.LABEL_ROLE: names.ROLE_INSTANCE}
    }
    assert policy["spec"]["policyTypes"] == ["Egress"]
    to_proxy, to_dns = policy["spec"]["egress"]
    (peer,) = to_proxy["to"]
    assert "namespaceSelector" not in peer, "the router Pods of this namespace only"
    router_pod_labels = deployment(APP, TEMPLATE)["spec"]["template"]["metadata"]["labels"]
    assert peer["podSelector"]["matchLabels"].items() <= router_pod_labels.items()
    assert peer["podSelector"]["matchLabels"][names.LABEL_ROLE] == names.ROLE_ROUTER
    proxy_port = containers()["egress-proxy"]["ports"][0]["containerPort"]
    assert to_proxy["ports"] == [{"protocol": "TCP", "port": proxy_port}]
    assert to_dns["to"] == [
        {
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        }
    ]


def test_without_dns_the_proxy_is_the_only_way_out() -> None:
    policy = network_policy(APP, RouterTemplate("img", egress_dns=None))
    assert len(policy["spec"]["egress"]) == 1


def test_the_objects_match_the_golden_file() -> None:
    assert yaml.safe_dump_all(router_objects(APP, TEMPLATE), sort_keys=False) == GOLDEN.read_text()


def test_one_router_at_a_time() -> None:
    spec = deployment(APP, TEMPLATE)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_router_pods_are_not_instance_pods() -> None:
    labels = deployment(APP, TEMPLATE)["spec"]["template"]["metadata"]["labels"]
    assert labels[names.LABEL_ROLE] == names.ROLE_ROUTER
    assert service(APP)["spec"]["selector"] == {names.LABEL_APP: "demo", names.LABEL_ROLE: "router"}


def test_every_object_is_owned_by_the_app_and_named_after_it() -> None:
    bodies = router_objects(APP, TEMPLATE)
    assert [b["kind"] for b in bodies] == [
        "ServiceAccount", "Role", "RoleBinding", "Service", "NetworkPolicy", "Deployment",
    ]  # fmt: skip
    for body in bodies:
        wanted = "demo-instance-egress" if body["kind"] == "NetworkPolicy" else "demo-router"
        assert body["metadata"]["name"] == wanted
        assert body["metadata"]["namespace"] == "team-a"
        assert body["metadata"]["ownerReferences"] == [
            {"apiVersion": "lunora.sh/v1alpha1", "kind": "LunoraApp", "name": "demo", "uid": "uid-1",
             "controller": True, "blockOwnerDeletion": True},
        ]  # fmt: skip


def test_the_role_is_what_the_router_calls_and_the_binding_gives_it_to_its_account() -> None:
    rules = {
        (r["apiGroups"][0], resource): tuple(r["verbs"])
        for r in role(APP, TEMPLATE)["rules"]
        for resource in r["resources"]
    }
    assert rules == {
        ("", "pods"): ("get", "list", "watch", "create", "patch", "delete"),
        ("", "secrets"): ("get", "create", "update", "delete"),
        ("", "events"): ("create",),
        ("lunora.sh", "lunoracontainers"): ("get", "list", "watch"),
        ("lunora.sh", "lunoraapps"): ("get", "list", "watch"),
    }
    binding = role_binding(APP)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "demo-router",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "demo-router", "namespace": "team-a"}]


def test_with_the_exec_helper_the_router_gets_its_image_and_pods_exec_and_not_without() -> None:
    with_exec = RouterTemplate(TEMPLATE.image, exec_helper_image="registry.example/lunora-exec@sha256:ab")
    container = deployment(APP, with_exec)["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "router"
    assert container["args"][-2:] == ["--exec-helper-image", "registry.example/lunora-exec@sha256:ab"]
    assert role(APP, with_exec)["rules"][-1] == {
        "apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"],
    }  # fmt: skip
    assert "--exec-helper-image" not in pod_spec()["containers"][0]["args"]
    assert all("pods/exec" not in rule["resources"] for rule in role(APP, TEMPLATE)["rules"])


def test_the_documented_role_is_the_one_created() -> None:
    text = DOCS.read_text()
    for rule in (*ROUTER_RULES, EXEC_RULE):
        for resource in rule["resources"]:
            assert f"| `{resource}` | {', '.join(rule['verbs'])} |" in text, resource


def test_the_url_is_the_services() -> None:
    assert APP.url == "http://demo-router.team-a.svc:8080"
