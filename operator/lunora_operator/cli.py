"""The `lunora-operator` command line."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lunora_operator import __version__
from lunora_operator.codegen.containers_ts import Flavour
from lunora_operator.local.egress.network_policy import DEFAULT_DNS, dns_peer
from lunora_operator.wrangler.document import Format

app = typer.Typer(help="Kubernetes operator for Cloudflare Containers.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Kubernetes operator for Cloudflare Containers."""


@app.command()
def crds(
    out: Annotated[Path, typer.Option(help="Directory the CRD YAML files are written to.")] = Path("crds"),
) -> None:
    """Write the CustomResourceDefinitions generated from the API models."""
    from lunora_operator.api.crd import write_crds

    for path in write_crds(out):
        typer.echo(f"wrote {path}")


def _name_values(values: list[str], flag: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=flag)
        pairs.append((name, text))
    return pairs


def _image_overrides(values: list[str]) -> dict[str, str]:
    overrides = {}
    for value in values:
        export_name, sep, reference = value.partition("=")
        if not sep or not export_name or not reference:
            raise typer.BadParameter(f"{value!r} is not EXPORT_NAME=REFERENCE", param_hint="--image")
        overrides[export_name] = reference
    return overrides


@app.command()
def render(
    files: Annotated[
        list[Path],
        typer.Option("-f", "--filename", help="LunoraContainer / LunoraApp YAML files or directories."),
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Directory the wrangler config, _generated/containers.ts and lunora-render.json go to."
        ),
    ],
    base: Annotated[
        Path | None,
        typer.Option(help="The wrangler.toml or wrangler.jsonc to merge into (may be the output itself)."),
    ] = None,
    format: Annotated[Format | None, typer.Option(help="toml or jsonc; needed only without --base.")] = None,
    flavour: Annotated[
        Flavour,
        typer.Option(
            help="lunora (extends @lunora/container/do), cloudflare (extends @cloudflare/containers), or "
            "local (wrangler dev against a local-mode router: classes forward to LUNORA_ROUTER_URL)."
        ),
    ] = "lunora",
    image: Annotated[
        list[str] | None, typer.Option(help="EXPORT_NAME=REFERENCE: a pushed image for a build container.")
    ] = None,
    app_name: Annotated[
        str | None, typer.Option("--app", help="The app to render when the files describe several.")
    ] = None,
    check: Annotated[bool, typer.Option(help="Write nothing; exit 1 when the output would change.")] = False,
) -> None:
    """Render an app's wrangler config and generated TypeScript offline, without a cluster.

    Exit codes: 0 done (or, with --check, up to date); 1 --check found changes; 2 bad input.
    """
    from lunora_operator.render import RenderError, pending_changes, write_output
    from lunora_operator.render import render as render_app

    try:
        output = render_app(files, out, base, format, flavour, _image_overrides(image or []), app_name)
    except RenderError as error:
        for problem in error.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None
    for warning in output.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if check:
        stale = pending_changes(output, out)
        for relative in stale:
            typer.echo(f"would change {out / relative}")
        raise typer.Exit(1 if stale else 0)
    for change in output.changes:
        typer.echo(change)
    for relative in write_output(output, out):
        typer.echo(f"{'removed' if relative in output.obsolete else 'wrote'} {out / relative}")


@app.command("fake-cloudflare")
def fake_cloudflare(
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8787,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    token: Annotated[
        str | None,
        typer.Option(help="The only API token accepted; without it any non-empty bearer token is."),
    ] = None,
    registry: Annotated[
        str | None, typer.Option(help="Registry host the registry-credentials endpoint hands out.")
    ] = None,
    registry_user: Annotated[str | None, typer.Option(help="User name for --registry.")] = None,
    registry_password_file: Annotated[
        Path | None,
        typer.Option(help="File holding the password for --registry.", exists=True, dir_okay=False),
    ] = None,
) -> None:
    """Run a fake Cloudflare API (Containers applications, Workers scripts, secrets, Durable
    Object namespaces, registry credentials) for trying the operator without an account."""
    import asyncio
    import contextlib

    from lunora_operator.testing.fake_cloudflare import FakeCloudflare, RegistryConfig

    registry_config = None
    if registry is not None:
        if registry_user is None or registry_password_file is None:
            raise typer.BadParameter(
                "--registry needs --registry-user and --registry-password-file", param_hint="--registry"
            )
        password = registry_password_file.read_text().strip()
        registry_config = RegistryConfig(host=registry, username=registry_user, password=password)
    fake = FakeCloudflare(token=token, registry=registry_config, host=host, port=port)

    async def serve() -> None:
        async with fake:
            typer.echo(f"fake Cloudflare API at {fake.base_url} (account {fake.account_id}); Ctrl-C stops it")
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


class LogFormat(StrEnum):
    plain = "plain"
    full = "full"
    json = "json"


@app.command()
def run(
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="Namespace to watch (repeatable; globs allowed)."),
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Watch every namespace.")
    ] = False,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(envvar="KUBECONFIG", help="Kubeconfig; the Pod's service account when omitted."),
    ] = None,
    liveness: Annotated[
        str | None, typer.Option(help="Serve a liveness endpoint, e.g. http://0.0.0.0:8080/healthz.")
    ] = None,
    log_format: Annotated[LogFormat, typer.Option(help="Log line format.")] = LogFormat.full,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
    peering: Annotated[
        str,
        typer.Option(
            help="Coordinate with other operator processes through this kopf peering object "
            "(created if missing); only the one with the highest --priority is active."
        ),
    ] = "lunora-operator",
    priority: Annotated[
        int | None,
        typer.Option(help="Peering priority of this process; default: the earlier started, the higher."),
    ] = None,
    standalone: Annotated[
        bool,
        typer.Option(
            "--standalone",
            help="Do not peer: nothing then keeps a second process from acting too (run exactly one).",
        ),
    ] = False,
    peering_lifetime: Annotated[
        int,
        typer.Option(
            help="Seconds a keep-alive in the peering counts: a standby takes over this long after the "
            "active process died; the active one writes to Cloudflare only while its own is younger "
            "than half of it.",
            min=4,
        ),
    ] = 10,
    resync_interval: Annotated[
        float, typer.Option(help="Seconds between drift checks of resources nothing changed.")
    ] = 600.0,
    build_root: Annotated[
        Path | None, typer.Option(help="Directory `image.build.context.path` contexts are relative to.")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port (/metrics).")
    ] = None,
    metrics_address: Annotated[
        str, typer.Option(help="Address the metrics endpoint listens on.")
    ] = "0.0.0.0",
    cloudflare_timeout: Annotated[
        float, typer.Option(help="Seconds one Cloudflare API request may take.", min=0.1)
    ] = 30.0,
    cloudflare_deadline: Annotated[
        float,
        typer.Option(
            help="Seconds one Cloudflare call may take with its retries; then the step backs off.", min=0
        ),
    ] = 60.0,
    cloudflare_backoff: Annotated[
        float,
        typer.Option(
            help="First wait before retrying a failed Cloudflare call (doubles, with jitter).", min=0
        ),
    ] = 0.5,
    router_image: Annotated[
        str | None,
        typer.Option(
            help="Local mode: the image each local-mode app's router Deployment runs (this operator's "
            "own image: the router is `lunora-operator router`)."
        ),
    ] = None,
    router_pull_secret: Annotated[
        list[str] | None,
        typer.Option(
            help="Local mode: an imagePullSecret of the router Pods, by name, in each app's namespace "
            "(repeatable; the app's local.pullSecret is listed too)."
        ),
    ] = None,
    router_env: Annotated[
        list[str] | None,
        typer.Option(help="Local mode: NAME=VALUE in the router Pods' environment (repeatable)."),
    ] = None,
    router_exec_helper_image: Annotated[
        str | None,
        typer.Option(
            help="Local mode: the exec helper's image (hack/exec-helper-image.sh), given to each "
            "router's instance Pods so `exec()` works; the router's Role then holds pods/exec. "
            "Without it exec answers 501."
        ),
    ] = None,
    external_router: Annotated[
        bool,
        typer.Option(
            "--external-router",
            help="Local mode: create no router objects; each app's router runs elsewhere "
            "(`lunora-operator router` on the host, as `make dev` runs it).",
        ),
    ] = False,
    egress_proxy_arg: Annotated[
        list[str] | None,
        typer.Option(
            help="Local mode: an extra argument of each app's egress proxy in its router Pod "
            "(repeatable), e.g. --egress-proxy-arg=--resolve=api.test=10.0.0.5."
        ),
    ] = None,
    egress_dns: Annotated[
        str,
        typer.Option(
            help="Local mode: the DNS server Pods instance Pods may query besides their egress proxy, "
            "NAMESPACE/KEY=VALUE[,KEY=VALUE...], or none."
        ),
    ] = DEFAULT_DNS,
) -> None:
    """Run the operator: reconcile LunoraApp and LunoraContainer resources into Cloudflare."""
    import asyncio
    import concurrent.futures

    import kopf

    from lunora_operator.cloudflare import RetryPolicy
    from lunora_operator.controller import ControllerSettings
    from lunora_operator.images import ImagePipeline, ImageSettings
    from lunora_operator.peering import PeeringUnavailable
    from lunora_operator.reconcile.images import PipelineImageResolver
    from lunora_operator.reconcile.local_images import LocalImageResolver
    from lunora_operator.runtime import (
        WORKER_THREADS,
        LeaseLost,
        RunOptions,
        build_controller,
        run_operator,
        write_lease,
    )

    if not namespace and not all_namespaces:
        raise typer.BadParameter(
            "name the namespaces to watch, or pass --all-namespaces", param_hint="--namespace"
        )
    if external_router and router_image:
        raise typer.BadParameter(
            "routers run either from --router-image in the cluster or outside it, not both",
            param_hint="--external-router",
        )
    if router_exec_helper_image and not router_image:
        raise typer.BadParameter(
            "the exec helper is given to routers the operator runs: add --router-image (a router on "
            "the host takes it as `lunora-operator router --exec-helper-image`)",
            param_hint="--router-exec-helper-image",
        )
    try:
        dns = dns_peer(egress_dns)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--egress-dns") from None
    kopf.configure(verbose=verbose, log_format=kopf.LogFormat[log_format.name.upper()])
    options = RunOptions(
        namespaces=tuple(namespace or ()),
        all_namespaces=all_namespaces,
        kubeconfig=kubeconfig,
        liveness_endpoint=liveness,
        standalone=standalone,
        priority=priority,
        peering_name=peering,
        peering_lifetime=peering_lifetime,
        settings=ControllerSettings(resync_interval=resync_interval),
        cloudflare_retry=RetryPolicy(
            deadline=cloudflare_deadline,
            initial_backoff=cloudflare_backoff,
            request_timeout=cloudflare_timeout,
        ),
        router_image=router_image,
        router_pull_secrets=tuple(router_pull_secret or ()),
        router_env=tuple(_name_values(router_env or [], "--router-env")),
        router_exec_helper_image=router_exec_helper_image,
        external_router=external_router,
        egress_proxy_args=tuple(egress_proxy_arg or ()),
        egress_dns=dns,
    )
    try:
        options.local_settings()
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--egress-proxy-arg") from None
    images = ImagePipeline(ImageSettings(build_root=build_root))
    if metrics_port is not None:
        import prometheus_client

        prometheus_client.start_http_server(metrics_port, addr=metrics_address)

    async def main() -> None:
        # Image pushes hold a worker thread for minutes; Kubernetes calls must not queue behind them.
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="lunora")
        )
        lease = write_lease(options)
        controller = build_controller(
            options,
            lambda kube, clock: PipelineImageResolver(images, kube, clock),
            write_guard=None if lease is None else lease.guard,
            local_images=lambda kube: LocalImageResolver(images, kube),
        )
        try:
            await run_operator(options, controller, lease=lease)
        finally:
            await images.close()

    try:
        asyncio.run(main())
    except (PeeringUnavailable, LeaseLost) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


def _listen_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise typer.BadParameter(f"{value!r} is not HOST:PORT", param_hint="--listen")
    return host.strip("[]") or "0.0.0.0", int(port)


@app.command()
def router(
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Namespace of the app and its instance Pods.")
    ],
    app_name: Annotated[
        str, typer.Option("--app", help="The LunoraApp (local mode) whose containers to serve.")
    ],
    listen: Annotated[str, typer.Option(help="HOST:PORT to serve on.")] = "0.0.0.0:8080",
    kubeconfig: Annotated[
        Path | None,
        typer.Option(envvar="KUBECONFIG", help="Kubeconfig; the Pod's service account when omitted."),
    ] = None,
    grace_period: Annotated[
        int,
        typer.Option(
            help="terminationGracePeriodSeconds of instance Pods: SIGTERM, then SIGKILL after it.", min=0
        ),
    ] = 5,
    instance_timeout: Annotated[
        float,
        typer.Option(help="Seconds a start may take to get a running instance (the platform's: 8).", min=0.1),
    ] = 8.0,
    port_timeout: Annotated[
        float,
        typer.Option(help="Seconds from a start until every port listens (the platform's: 20).", min=0.1),
    ] = 20.0,
    readiness_timeout: Annotated[
        float, typer.Option(help="Seconds all readyOn probes of a start get (Lunora's: 30).", min=0.1)
    ] = 30.0,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    exec_helper_image: Annotated[
        str | None,
        typer.Option(
            help="Image holding the exec helper (hack/exec-helper-image.sh); instance Pods copy it in "
            "with an init container. Without it exec answers 501."
        ),
    ] = None,
    egress_control: Annotated[
        str | None,
        typer.Option(
            help="URL of the egress proxy's control API, where runtime egress calls (allowHost, ...) "
            "go. Without it they answer 501."
        ),
    ] = None,
    egress_proxy_url: Annotated[
        str | None,
        typer.Option(
            "--egress-proxy",
            help="URL of the app's egress proxy (http://IP:PORT): instance Pods get HTTP(S)_PROXY for it "
            "and, with interceptHttps, its CA certificate. Without it they get neither.",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
) -> None:
    """Run the local-mode router of one app: /<container>/<id>/<path> reaches that instance, which
    is started on demand as a Pod and stopped after sleepAfter or hardTimeout, like Cloudflare's
    Container Durable Object. The lifecycle API is under /_api/."""
    import contextlib
    import logging

    from lunora_operator.local.pod_spec import PodSettings
    from lunora_operator.local.router import RouterSettings, run_router
    from lunora_operator.local.settings import Budgets

    host, port = _listen_address(listen)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = RouterSettings(
        namespace=namespace,
        app=app_name,
        host=host,
        port=port,
        kubeconfig=kubeconfig,
        budgets=Budgets(instance_get=instance_timeout, port_ready=port_timeout, readiness=readiness_timeout),
        pod_settings=PodSettings(
            grace_seconds=grace_period, exec_helper_image=exec_helper_image, egress_proxy=egress_proxy_url
        ),
        access_log=access_log,
        egress_control=egress_control,
    )
    import uvloop  # the data plane's event loop: less CPU per proxied request than asyncio's own

    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(run_router(settings))


@app.command()
def status(
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", help="The namespaces the operator watches (as given to run)."),
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="The operator watches every namespace.")
    ] = False,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(envvar="KUBECONFIG", help="Kubeconfig; the Pod's service account when omitted."),
    ] = None,
    peering: Annotated[
        str, typer.Option(help="The peering the operator processes join.")
    ] = "lunora-operator",
    standalone: Annotated[
        bool, typer.Option("--standalone", help="The operator runs without peering: check the CRDs only.")
    ] = False,
) -> None:
    """Check an installation: the CRDs are served, and one operator process of the peering is
    active (holds the write lease). Lists the peering's processes. Exit 1 when either fails."""
    from lunora_operator.install_check import check_installation
    from lunora_operator.runtime import kubernetes_client

    if not namespace and not all_namespaces:
        raise typer.BadParameter(
            "name the namespaces the operator watches, or pass --all-namespaces", param_hint="--namespace"
        )
    places: list[str | None] = [None] if all_namespaces else list(namespace or [])
    lines, healthy = check_installation(
        kubernetes_client(kubeconfig), None if standalone else peering, places
    )
    for line in lines:
        typer.echo(line)
    raise typer.Exit(0 if healthy else 1)


@app.command("egress-proxy")
def egress_proxy(
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Namespace of the app's instance Pods.")
    ],
    app_name: Annotated[str, typer.Option("--app", help="The LunoraApp whose instances this proxy serves.")],
    listen: Annotated[
        str, typer.Option(help="Proxy address (host:port) instances connect to.")
    ] = "0.0.0.0:3128",
    control: Annotated[
        str, typer.Option(help="Control API address (host:port); keep it out of instances' reach.")
    ] = "127.0.0.1:3129",
    health: Annotated[
        str | None,
        typer.Option(help="Also serve GET /healthz alone on this address (host:port), for probes."),
    ] = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(envvar="KUBECONFIG", help="Kubeconfig; the Pod's service account when omitted."),
    ] = None,
    resolve: Annotated[
        list[str] | None,
        typer.Option(help="HOST=IP, resolved before DNS (repeatable; for tests and local names)."),
    ] = None,
    upstream_ca: Annotated[
        Path | None, typer.Option(help="CA bundle trusted for upstream HTTPS instead of the system's.")
    ] = None,
    app_uid: Annotated[
        str | None,
        typer.Option(help="The LunoraApp's uid: the CA Secret the proxy creates is owned by the app."),
    ] = None,
    refuse_host: Annotated[
        list[str] | None,
        typer.Option(
            help="A name whose addresses no instance may reach through the proxy (repeatable): the "
            "router's Service. The proxy's own host (loopback, its addresses) and link-local "
            "addresses are always refused."
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
) -> None:
    """Run an app's egress proxy: Cloudflare's egress rules for each instance Pod (local mode)."""
    import asyncio
    import contextlib
    import logging

    from lunora_operator.local.egress.server import ProxySettings, parse_address, parse_static_hosts, serve

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        settings = ProxySettings(
            namespace=namespace,
            app=app_name,
            listen=parse_address(listen, "--listen"),
            control=parse_address(control, "--control"),
            health=parse_address(health, "--health") if health is not None else None,
            kubeconfig=kubeconfig,
            static_hosts=parse_static_hosts(resolve or []),
            upstream_ca_file=upstream_ca,
            refused_hosts=tuple(refuse_host or ()),
            app_uid=app_uid,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))


@app.command()
def version() -> None:
    """Print the operator version."""
    typer.echo(__version__)


if __name__ == "__main__":
    app()
