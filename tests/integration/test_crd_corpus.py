"""The generated CRDs make the real API server enforce the same rules as the models."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lunora_operator.api.validation import validate_resource
from tests.support.corpus import CorpusCase, cases, contains, offline_error
from tests.support.kube import KubeClients, Kubectl, install_lunora_crds

CRDS = Path(__file__).resolve().parents[2] / "crds"
GROUP, VERSION = "lunora.sh", "v1alpha1"
PLURALS = {"LunoraContainer": "lunoracontainers", "LunoraApp": "lunoraapps"}


@pytest.fixture(scope="session")
def lunora_crds(kubectl: Kubectl) -> None:
    install_lunora_crds(kubectl)


NOT_CHECKED = "some validation rules were not checked because the object was invalid"


def server_errors(stderr: str) -> list[str]:
    """The errors of a rejected `kubectl apply`, each as `<field>: <text>`: unknown fields from
    the strict decoder, else the "is invalid" list (one inline, several as `* ` lines) without
    the notice that CEL rules were skipped because of a schema error."""
    if "strict decoding error: " in stderr:
        return [
            f'{field}: unknown field "{field}"' for field in re.findall(r'unknown field "([^"]+)"', stderr)
        ]
    _, found, rest = stderr.partition(" is invalid: ")
    assert found, stderr
    rest = rest.strip()
    errors = (
        [line[2:] for line in rest.splitlines() if line.startswith("* ")] if rest.startswith("* ") else [rest]
    )
    fields = {error.split(": ", 1)[0] for error in errors}
    # A type error is also reported once more without a field ("<nil>: … in spec.x"): one problem.
    return [
        error
        for error in errors
        if NOT_CHECKED not in error
        and not (error.startswith("<nil>: ") and any(error.endswith(f" in {field}") for field in fields))
    ]


@pytest.mark.parametrize("case", cases("invalid"), ids=lambda case: case.id)
def test_invalid_resource_breaks_the_same_one_rule_on_the_api_server(
    lunora_crds: None, kubectl: Kubectl, namespace: str, case: CorpusCase
) -> None:
    offline = offline_error(case)

    result = kubectl("apply", "-n", namespace, "-f", "-", stdin=case.text, check=False)

    assert result.returncode != 0, f"the API server accepted {case.id}"
    errors = server_errors(result.stderr)
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{case.field}: "), errors[0]
    if offline.rule is not None:
        # A shared rule: the server words it exactly as the offline validator does. Every rule
        # is broken by some file (tests/unit/test_api_corpus.py), so every rule fires here too.
        assert errors[0].endswith(f": {offline.message}"), (errors[0], offline.message)
    if case.message:
        assert case.message in errors[0]


@pytest.mark.parametrize("case", cases("valid"), ids=lambda case: case.id)
def test_valid_resource_is_accepted_and_round_trips_without_loss(
    lunora_crds: None, kubectl: Kubectl, kube: KubeClients, namespace: str, case: CorpusCase
) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", stdin=case.text)

    stored = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURALS[case.kind], case.document["metadata"]["name"]
    )

    parsed = validate_resource(stored)
    expected = validate_resource(case.document)
    assert parsed.spec == expected.spec
    assert contains(stored["spec"], case.document["spec"])


def test_server_applies_the_model_defaults(
    lunora_crds: None, kubectl: Kubectl, kube: KubeClients, namespace: str
) -> None:
    minimal = next(case for case in cases("valid") if case.id == "container-minimal")
    kubectl("apply", "-n", namespace, "-f", "-", stdin=minimal.text)

    stored = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "lunoracontainers", "transcoder"
    )

    assert stored["spec"]["deletionPolicy"] == "Delete"
    assert stored["spec"]["suspend"] is False
    assert stored["spec"] == validate_resource(minimal.document).spec.to_wire()


def test_get_lc_shows_the_printer_columns(lunora_crds: None, kubectl: Kubectl, namespace: str) -> None:
    manifest = yaml.safe_load(
        next(case for case in cases("valid") if case.id == "container-every-option").text
    )
    kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(manifest))

    plain = kubectl("get", "lc", "-n", namespace).stdout.splitlines()
    wide = kubectl("get", "lc", "-n", namespace, "-o", "wide").stdout.splitlines()
    by_category = kubectl("get", "lunora", "-n", namespace).stdout

    assert plain[0].split() == ["NAME", "READY", "REASON", "MODE", "RUNNING", "MAX", "AGE"]
    assert plain[1].split()[0] == "image-resizer"
    assert "5" in plain[1].split()
    assert wide[0].split() == ["NAME", "READY", "REASON", "MODE", "RUNNING", "MAX", "AGE", "IMAGE", "MESSAGE"]
    assert "lunoracontainer.lunora.sh/image-resizer" in by_category


def test_get_lapp_shows_the_printer_columns(lunora_crds: None, kubectl: Kubectl, namespace: str) -> None:
    app = next(case for case in cases("valid") if case.id == "app-local")
    kubectl("apply", "-n", namespace, "-f", "-", stdin=app.text)

    plain = kubectl("get", "lapp", "-n", namespace).stdout.splitlines()

    assert plain[0].split() == ["NAME", "READY", "REASON", "MODE", "WORKER", "CONTAINERS", "AGE"]
    assert plain[1].split()[:3] == ["dev", "local", "dev"]


def test_kubectl_explain_describes_fields(lunora_crds: None, kubectl: Kubectl) -> None:
    explained = kubectl("explain", "lunoracontainer.spec.sleepAfter").stdout
    nested = kubectl("explain", "lunoracontainer.spec.secrets.valueFrom").stdout
    flags = kubectl("explain", "lunoraapp.spec.worker.compatibilityFlags").stdout

    assert "Idle time before the container stops" in explained
    assert "a key of a Secret in the same namespace" in nested
    assert "Workers compatibility flags" in flags


def test_status_subresource_keeps_conditions_and_facts(
    lunora_crds: None, kubectl: Kubectl, kube: KubeClients, namespace: str
) -> None:
    from lunora_operator.api.resources import LunoraContainer

    minimal = next(case for case in cases("valid") if case.id == "container-minimal")
    kubectl("apply", "-n", namespace, "-f", "-", stdin=minimal.text)
    status = {
        "observedGeneration": 1,
        "mode": "local",
        "className": "TranscoderContainer",
        "bindingName": "CONTAINER_TRANSCODER",
        "image": {"ref": "docker.io/acme/transcoder:1.4"},
        "instances": {"max": 3, "running": 1},
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Succeeded",
                "message": "",
                "observedGeneration": 1,
                "lastTransitionTime": "2026-11-27T10:00:00Z",
            }
        ],
    }

    kube.custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "lunoracontainers", "transcoder", {"status": status}
    )
    stored = kube.custom.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "lunoracontainers", "transcoder"
    )

    assert stored["status"] == status
    parsed = LunoraContainer.model_validate(stored)
    assert parsed.status is not None
    assert parsed.status.conditions[0].reason == "Succeeded"
    row = kubectl("get", "lc", "transcoder", "-n", namespace, "--no-headers").stdout.split()
    assert row[1:5] == ["True", "Succeeded", "local", "1"]
