"""Compare-then-patch: what the API server adds is not drift, what someone changed is, and the
patch carries each drifted section whole."""

from __future__ import annotations

from lunora_operator.kube.drift import drift_patch, holds, owned_by

DESIRED = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "r",
        "namespace": "ns",
        "labels": {"a": "1"},
        "ownerReferences": [{"kind": "LunoraApp", "name": "demo", "uid": "u1"}],
    },
    "spec": {"selector": {"a": "1"}, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]},
}
AS_STORED = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {
        "name": "r",
        "namespace": "ns",
        "uid": "s1",
        "resourceVersion": "7",
        "labels": {"a": "1", "added-by-someone": "x"},
        "ownerReferences": [
            {"kind": "LunoraApp", "name": "demo", "uid": "u1", "apiVersion": "lunora.sh/v1alpha1"}
        ],
    },
    "spec": {
        "selector": {"a": "1"},
        "ports": [{"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}],
        "clusterIP": "10.0.0.9",
        "type": "ClusterIP",
    },
    "status": {"loadBalancer": {}},
}


def test_what_the_server_adds_is_not_drift() -> None:
    assert holds(DESIRED, AS_STORED)
    assert drift_patch(DESIRED, AS_STORED) == {}


def test_a_changed_value_in_a_list_sends_the_section_whole() -> None:
    edited = {
        **AS_STORED,
        "spec": {**AS_STORED["spec"], "ports": [{"name": "http", "port": 9090, "targetPort": "http"}]},
    }
    assert drift_patch(DESIRED, edited) == {"spec": DESIRED["spec"]}


def test_a_list_of_another_length_is_drift() -> None:
    extra = {**AS_STORED, "spec": {**AS_STORED["spec"], "ports": [*AS_STORED["spec"]["ports"], {"port": 1}]}}
    assert "spec" in drift_patch(DESIRED, extra)


def test_metadata_fields_are_patched_one_by_one_never_the_name() -> None:
    relabelled = {
        **AS_STORED,
        "metadata": {**AS_STORED["metadata"], "labels": {"a": "2"}, "ownerReferences": []},
    }
    assert drift_patch(DESIRED, relabelled) == {
        "metadata": {"labels": {"a": "1"}, "ownerReferences": DESIRED["metadata"]["ownerReferences"]}
    }


def test_a_missing_field_is_drift_and_a_false_one_is_not_missing() -> None:
    assert not holds({"enableServiceLinks": False}, {})
    assert holds({"enableServiceLinks": False}, {"enableServiceLinks": False, "x": 1})
    assert not holds({"enableServiceLinks": False}, {"enableServiceLinks": None})


def test_ownership_is_by_kind_and_name() -> None:
    assert owned_by(AS_STORED, "LunoraApp", "demo")
    assert not owned_by(AS_STORED, "LunoraApp", "other")
    assert not owned_by({"metadata": {}}, "LunoraApp", "demo")
