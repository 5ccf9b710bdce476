# The lunora-operator image: the package's wheel and its pinned dependencies in a virtual
# environment on a slim Python base, run as a non-root user with a read-only root filesystem.
#
#   docker build -t lunora-operator .                       # on the public python:3.11-slim
#   docker build --build-arg BASE_IMAGE=my/python:3.11 .     # any base with python3 (3.11) on PATH
#
# Offline builds (as hack/image.sh does where nothing can be pulled): put the wheels in the
# context's wheelhouse/ and pass --build-arg PIP_NO_INDEX=1; a mirror: --build-arg PIP_INDEX_URL=….
# Only classic-builder instructions are used, so an engine without BuildKit builds it too.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG PIP_INDEX_URL
ARG PIP_NO_INDEX
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_FIND_LINKS=/build PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/lunora-operator
# The pinned dependencies first, in a layer only pyproject.toml changes. `wheelhous[e]` matches
# nothing in a plain checkout; with wheels there they land beside pyproject.toml in /build.
COPY pyproject.toml wheelhous[e] /build/
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/build/pyproject.toml", "rb"))["project"]["dependencies"]))' \
      > /build/requirements.txt \
 && /opt/lunora-operator/bin/pip install --quiet --requirement /build/requirements.txt
COPY README.md /build/src/
COPY operator /build/src/operator
RUN cp /build/pyproject.toml /build/src/ \
 && /opt/lunora-operator/bin/pip wheel --quiet --no-deps --wheel-dir /build/dist /build/src \
 && /opt/lunora-operator/bin/pip install --quiet --no-deps /build/dist/*.whl \
 && /opt/lunora-operator/bin/pip uninstall --quiet --yes pip setuptools

FROM ${BASE_IMAGE}
# git for `git` build contexts. A base without it (the public python:3.11-slim) gets Debian's;
# one that has it (hack/python-base-image.sh) is left as it is. No compilers either way.
RUN if ! command -v git >/dev/null; then \
      apt-get update && apt-get install --yes --no-install-recommends git ca-certificates \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --uid 65532 --user-group --home-dir /tmp --no-create-home --shell /usr/sbin/nologin lunora
COPY --from=build /opt/lunora-operator /opt/lunora-operator
# HOME=/tmp: the chart mounts a writable /tmp on a read-only root filesystem (git and Docker
# credentials write under HOME).
ENV PATH=/opt/lunora-operator/bin:$PATH HOME=/tmp PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["lunora-operator"]
CMD ["--help"]
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="lunora-operator" \
      org.opencontainers.image.description="Kubernetes operator for Cloudflare Containers (LunoraContainer / LunoraApp)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}"
