"""The router's objects: owned by the app, the Pod meeting the restricted Pod Security Standard,
the router command and readiness, and a Role holding exactly what the router calls."""

from __future__ import annotations

from pathlib import Path

from lunora_operator.local import names
from lunora_operator.local.router_objects import (
    EXEC_RULE,
    ROUTER_RULES,
    RouterApp,
    RouterTemplate,
    deployment,
    role,
    role_binding,
    router_objects,
    service,
)

APP = RouterApp("team-a", "demo", "uid-1", pull_secret="local-registry")
TEMPLATE = RouterTemplate("registry.example/lunora-operator:1.0", ("operator-pull",), (("A", "1"),))
DOCS = Path(__file__).resolve().parents[3] / "docs/local-mode.md"


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


def test_the_pod_runs_the_router_of_its_app_and_is_ready_on_healthz() -> None:
    (container,) = pod_spec()["containers"]
    assert container["image"] == TEMPLATE.image
    assert [*container["command"], *container["args"]] == [
        "lunora-operator", "router", "--namespace", "team-a", "--app", "demo", "--listen", "0.0.0.0:8080",
    ]  # fmt: skip
    assert container["readinessProbe"]["httpGet"] == {"path": "/_api/healthz", "port": "http"}
    assert {"name": "A", "value": "1"} in container["env"]
    assert pod_spec()["imagePullSecrets"] == [{"name": "operator-pull"}, {"name": "local-registry"}]
    assert pod_spec()["serviceAccountName"] == "demo-router"


def test_one_router_at_a_time() -> None:
    spec = deployment(APP, TEMPLATE)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_router_pods_are_not_instance_pods() -> None:
    labels = deployment(APP, TEMPLATE)["spec"]["template"]["metadata"]["labels"]
    assert labels[names.LABEL_ROLE] == names.ROLE_ROUTER
    assert service(APP)["spec"]["selector"] == {names.LABEL_APP: "demo", names.LABEL_ROLE: "router"}


def test_every_object_is_owned_by_the_app_and_named_after_it() -> None:
    for body in router_objects(APP, TEMPLATE):
        assert body["metadata"]["name"] == "demo-router"
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
        ("", "pods"): ("get", "list", "watch", "create", "delete"),
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
    (container,) = deployment(APP, with_exec)["spec"]["template"]["spec"]["containers"]
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
