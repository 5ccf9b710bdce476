"""Cloudflare's egress rules on real instance Pods: the proxy decides, the NetworkPolicy (enforced
by kube-network-policies) keeps Pods from going around it."""

from __future__ import annotations

import json

import httpx

from tests.e2e.egress.conftest import Instances, Rules
from tests.support.enforcer import nft_pod_ips
from tests.support.kube import wait_until

DISALLOWED = "STATUS 520\nOrigin is disallowed"


def test_internet_off_is_refused_and_a_pod_that_ignores_the_proxy_gets_nowhere(instances: Instances) -> None:
    instances.apply_policy()
    pod = instances.start("web", Rules(enable_internet=False))
    bridge = f"http://{instances.node_ip}:{instances.servers.bridge_port}/direct"

    assert instances.fetch("web", instances.http("other.test")) == DISALLOWED
    refused = instances.fetch("web", bridge, "-direct", "-timeout", "3s")
    assert refused.startswith("ERROR"), refused

    # The same Pod reaches that server once the policy is gone: the refusal above was the policy's.
    instances.remove_policy()
    wait_until(lambda: pod.status.pod_ip not in nft_pod_ips(), "the enforcer to release the Pod")
    reached = instances.fetch("web", bridge, "-direct", "-timeout", "3s")
    assert reached == f"STATUS 200\nhello from {instances.node_ip}/direct"


def test_an_allow_list_lets_matching_hosts_through_and_refuses_the_rest(instances: Instances) -> None:
    instances.apply_policy()
    instances.start("web", Rules(enable_internet=False, allowed_hosts=["*.allowed.test"]))

    assert (
        instances.fetch("web", instances.http("a.allowed.test", "/x"))
        == "STATUS 200\nhello from a.allowed.test/x"
    )
    assert instances.fetch("web", instances.http("other.test")) == DISALLOWED
    # busybox wget reads only the lower-case http_proxy.
    wget = instances.kubectl(
        *("exec", "-n", instances.namespace, "web", "--", "sh", "-c"),
        f"env -u HTTP_PROXY timeout 10 wget -q -O - {instances.http('b.allowed.test', '/wget')}",
    )
    assert wget.stdout == "hello from b.allowed.test/wget\n"


def test_the_allow_list_gates_even_with_internet_on_and_deny_beats_both(instances: Instances) -> None:
    instances.apply_policy()
    instances.start(
        "web", Rules(enable_internet=True, allowed_hosts=["*.allowed.test"], denied_hosts=["a.allowed.test"])
    )

    assert instances.fetch("web", instances.http("a.allowed.test")) == DISALLOWED
    assert instances.fetch("web", instances.http("other.test")) == DISALLOWED
    assert (
        instances.fetch("web", instances.http("b.allowed.test")) == "STATUS 200\nhello from b.allowed.test/"
    )


def test_a_runtime_allow_applies_at_once_outlives_the_proxy_and_a_restart_restores_the_declared_rules(
    instances: Instances,
) -> None:
    instances.apply_policy()
    rules = Rules(enable_internet=False)
    first = instances.start("web", rules)
    url = instances.http("other.test")
    assert instances.fetch("web", url) == DISALLOWED

    response = httpx.post(
        f"{instances.proxy.control_url}/v1/instances/{first.metadata.uid}/egress/allow",
        json={"host": "other.test"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    assert instances.fetch("web", url) == "STATUS 200\nhello from other.test/"

    # Written onto the Pod, so a restarted proxy (a new process, nothing in memory) keeps it.
    on_pod = instances.kube.core.read_namespaced_pod(first.metadata.name, instances.namespace)
    assert json.loads(on_pod.metadata.annotations["lunora.sh/egress-runtime"]) == {
        "allowedHosts": ["other.test"]
    }
    instances.proxy.restart()
    assert instances.fetch("web", url) == "STATUS 200\nhello from other.test/"

    # A restart is a new Pod (a new UID): the runtime change stayed with the old one.
    instances.delete("web")
    second = instances.start("web", rules)
    assert second.metadata.uid != first.metadata.uid
    assert instances.fetch("web", url) == DISALLOWED


def test_intercepted_https_is_decided_per_host_with_the_apps_ca(instances: Instances) -> None:
    instances.apply_policy()
    instances.start(
        "web",
        Rules(enable_internet=True, denied_hosts=["secure.denied.test"], intercept_https=True),
    )

    # The client trusts only the app's CA mounted where Cloudflare puts it (and the test servers'
    # CA, which the proxy checks upstream): the answer comes through the proxy's interception.
    allowed = instances.fetch("web", instances.https("secure.allowed.test", "/tls"), "-app-ca")
    assert allowed == "STATUS 200\nhello from secure.allowed.test/tls"
    denied = instances.fetch("web", instances.https("secure.denied.test", "/tls"), "-app-ca")
    assert denied == DISALLOWED
    # Without the app's CA the client refuses the proxy's certificate.
    untrusted = instances.fetch("web", instances.https("secure.allowed.test"))
    assert untrusted.startswith("ERROR"), untrusted
    assert "certificate" in untrusted


def test_https_without_interception_follows_enable_internet_alone(instances: Instances) -> None:
    # Without interceptHttps Cloudflare does not see inside TLS: allowedHosts and deniedHosts do
    # not apply to HTTPS, enableInternet alone decides.
    instances.apply_policy()
    instances.start(
        "off",
        Rules(
            enable_internet=False, allowed_hosts=["secure.allowed.test"], denied_hosts=["secure.denied.test"]
        ),
    )
    instances.start("on", Rules(enable_internet=True, denied_hosts=["secure.denied.test", "denied.test"]))

    for host in ("secure.allowed.test", "secure.denied.test"):
        refused = instances.fetch("off", instances.https(host))
        assert refused.startswith("ERROR"), refused
        assert "Origin is disallowed" in refused
    # End to end TLS: the client sees the test server's own certificate, not the proxy's.
    through = instances.fetch("on", instances.https("secure.denied.test", "/tunnel"))
    assert through == "STATUS 200\nhello from secure.denied.test/tunnel"
    # HTTP from the same Pod is still decided by the deny list.
    assert instances.fetch("on", instances.http("denied.test")) == DISALLOWED
