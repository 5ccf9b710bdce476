from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY

from lunora_operator.local.egress.decisions import Channel, DecisionRecorder, container_egress_status
from lunora_operator.local.egress.instances import instance_from_pod
from lunora_operator.local.egress.rules import Decision, Rule
from tests.unit.local.egress.support import pod


def count(**labels: str) -> float:
    return REGISTRY.get_sample_value("lunora_egress_decisions_total", labels) or 0.0


def test_a_decision_is_logged_counted_and_summed(caplog: pytest.LogCaptureFixture) -> None:
    recorder = DecisionRecorder()
    web = instance_from_pod(pod("u1", "10.0.0.5", container="web-dc"))
    labels = {
        "namespace": "ns",
        "container": "web-dc",
        "verdict": "deny",
        "rule": "deniedHosts",
        "channel": "http",
    }
    before = count(**labels)
    with caplog.at_level(logging.INFO, logger="lunora_operator.egress"):
        recorder.record(web, "evil.test", Channel.HTTP, Decision(False, Rule.DENIED_HOSTS))
    assert count(**labels) == before + 1
    assert (
        "egress deny web-dc host=evil.test rule=deniedHosts channel=http instance=ns/pod-u1 uid=u1"
        in caplog.text
    )
    recorder.record(web, "a.test", Channel.HTTPS_TUNNEL, Decision(True, Rule.ENABLE_INTERNET))
    recorder.record(web, "b.test", Channel.HTTP, Decision(False, Rule.DEFAULT))
    recorder.record(web, "evil.test", Channel.HTTP, Decision(False, Rule.DENIED_HOSTS))
    other = instance_from_pod(pod("u2", "10.0.0.6", container="web-dc"))
    recorder.record(other, "c.test", Channel.HTTP, Decision(False, Rule.ALLOWED_HOSTS))
    summary = recorder.summary("u1")
    assert summary is not None
    assert summary.to_json()["recentDenied"] == ["b.test", "evil.test"]
    assert container_egress_status(recorder.summaries(), "web-dc") == {
        "allowed": 1,
        "denied": 4,
        "instances": 2,
        "recentlyDenied": ["b.test", "evil.test", "c.test"],
    }
    assert container_egress_status(recorder.summaries(), "other") == {
        "allowed": 0,
        "denied": 0,
        "instances": 0,
        "recentlyDenied": [],
    }
    recorder.forget("u1")
    assert recorder.summary("u1") is None
    assert recorder.summary("u2") is not None
