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
