"""What an instance Pod needs to go through its app's egress proxy: the proxy variables and,
with interceptHttps, the app's CA certificate where Cloudflare puts it. Pure; the router's Pod
builder calls these."""

from __future__ import annotations

from typing import Any

# Where Cloudflare puts the interception CA in a container (only the certificate, never the key).
CA_DIRECTORY = "/etc/cloudflare/certs"
CA_FILE_NAME = "cloudflare-containers-ca.crt"
CA_PATH = f"{CA_DIRECTORY}/{CA_FILE_NAME}"
CA_VOLUME = "lunora-egress-ca"
# The Secret holding the app's CA (type kubernetes.io/tls): tls.crt is mounted, tls.key is not.
CA_CERT_KEY = "tls.crt"
CA_KEY_KEY = "tls.key"

# In-Pod traffic never leaves the Pod, as on Cloudflare.
DEFAULT_NO_PROXY = ("localhost", "127.0.0.1", "::1")


def ca_secret_name(app: str) -> str:
    return f"{app}-egress-ca"


def bracketed(proxy_url: str) -> str:
    """`http://IP:PORT` with an IPv6 address put in brackets, as a URL needs it (the router Pod's
    address reaches the router unbracketed, through `$(POD_IP)`)."""
    scheme, sep, rest = proxy_url.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or authority.startswith("[") or authority.count(":") < 2:
        return proxy_url
    host, _, port = authority.rpartition(":")
    return f"{scheme}://[{host}]:{port}{slash}{path}"


def proxy_environment(proxy_url: str, no_proxy: tuple[str, ...] = DEFAULT_NO_PROXY) -> list[dict[str, str]]:
    """HTTP_PROXY, HTTPS_PROXY and NO_PROXY in upper and lower case: clients differ in which
    they read (busybox wget and curl read only the lower-case http_proxy)."""
    proxy_url = bracketed(proxy_url)
    values = {"HTTP_PROXY": proxy_url, "HTTPS_PROXY": proxy_url, "NO_PROXY": ",".join(no_proxy)}
    return [
        {"name": variable, "value": value}
        for name, value in values.items()
        for variable in (name, name.lower())
    ]


def ca_volume(app: str) -> dict[str, Any]:
    return {
        "name": CA_VOLUME,
        "secret": {
            "secretName": ca_secret_name(app),
            "items": [{"key": CA_CERT_KEY, "path": CA_FILE_NAME}],
            "defaultMode": 0o444,
        },
    }


def ca_volume_mount() -> dict[str, Any]:
    return {"name": CA_VOLUME, "mountPath": CA_DIRECTORY, "readOnly": True}
