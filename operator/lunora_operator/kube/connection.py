"""How the operator reaches the API server: one configuration for its own client and for kopf,
from the kubeconfig it was given, else the Pod's service account."""

from __future__ import annotations

from pathlib import Path

import kopf
from kubernetes import client, config

CONNECTION_POOL = 32
"""Connections to keep per host: as many as the threads the client's calls run in (see
`lunora-operator run`), so none is thrown away at busy times."""


def kubernetes_configuration(kubeconfig: Path | None) -> client.Configuration:
    configuration = client.Configuration()
    if kubeconfig is not None:
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    configuration.connection_pool_maxsize = CONNECTION_POOL
    return configuration


def connection_info(kubeconfig: Path) -> kopf.ConnectionInfo:
    """kopf's credentials, read from the kubeconfig as the operator's own client reads it."""
    configuration = kubernetes_configuration(kubeconfig)
    header = configuration.get_api_key_with_prefix("BearerToken") or configuration.get_api_key_with_prefix(
        "authorization"
    )
    scheme, _, token = (header or "").partition(" ")
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        scheme=scheme or None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )
