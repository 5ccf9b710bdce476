from lunora_operator.handlers.startup import in_cluster_server


def test_the_in_cluster_login_uses_the_address_the_kubelet_gives_the_pod() -> None:
    assert in_cluster_server(
        {"KUBERNETES_SERVICE_HOST": "10.244.0.1", "KUBERNETES_SERVICE_PORT": "16443"}
    ) == ("https://10.244.0.1:16443")
    assert in_cluster_server({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}) == (
        "https://[fd00::1]:443"
    )


def test_without_the_variables_the_in_cluster_login_names_the_service() -> None:
    assert in_cluster_server({}) == "https://kubernetes.default.svc"


def test_the_api_server_sends_only_instance_pods_and_router_deployments() -> None:
    import kopf
    from kopf._cogs.structs.references import Resource

    from lunora_operator.handlers.startup import configure

    settings = kopf.OperatorSettings()
    configure(settings)

    def selector(group: str, version: str, plural: str) -> list[str]:
        resource = Resource(group, version, plural, kind=plural.title(), namespaced=True)
        return list(settings.watching.label_selectors.collect(resource))

    assert selector("", "v1", "pods") == ["lunora.sh/role=instance"]
    assert selector("apps", "v1", "deployments") == ["lunora.sh/role=router"]
    assert selector("lunora.sh", "v1alpha1", "lunoraapps") == []
