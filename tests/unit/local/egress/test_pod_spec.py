from __future__ import annotations

import pytest

from lunora_operator.local.egress.pod_spec import (
    CA_PATH,
    bracketed,
    ca_secret_name,
    ca_volume,
    ca_volume_mount,
    proxy_environment,
)


def test_proxy_variables_in_both_cases() -> None:
    env = proxy_environment("http://10.0.0.5:3128")
    assert env == [
        {"name": "HTTP_PROXY", "value": "http://10.0.0.5:3128"},
        {"name": "http_proxy", "value": "http://10.0.0.5:3128"},
        {"name": "HTTPS_PROXY", "value": "http://10.0.0.5:3128"},
        {"name": "https_proxy", "value": "http://10.0.0.5:3128"},
        {"name": "NO_PROXY", "value": "localhost,127.0.0.1,::1"},
        {"name": "no_proxy", "value": "localhost,127.0.0.1,::1"},
    ]


def test_only_the_ca_certificate_is_mounted_where_cloudflare_puts_it() -> None:
    volume, mount = ca_volume("demo"), ca_volume_mount()
    assert volume["secret"]["secretName"] == ca_secret_name("demo") == "demo-egress-ca"
    assert volume["secret"]["items"] == [{"key": "tls.crt", "path": "cloudflare-containers-ca.crt"}]
    assert mount["name"] == volume["name"]
    assert mount["readOnly"] is True
    assert f"{mount['mountPath']}/{volume['secret']['items'][0]['path']}" == CA_PATH
    assert CA_PATH == "/etc/cloudflare/certs/cloudflare-containers-ca.crt"


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("http://fd00:10:244::5:3128", "http://[fd00:10:244::5]:3128"),
        ("http://[fd00::5]:3128", "http://[fd00::5]:3128"),
        ("http://10.0.0.5:3128", "http://10.0.0.5:3128"),
    ],
)
def test_an_ipv6_pod_address_is_bracketed_in_the_proxy_url(given: str, url: str) -> None:
    assert bracketed(given) == url
    assert {"name": "http_proxy", "value": url} in proxy_environment(given)
