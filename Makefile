SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := hack/pytest.sh
# The settings testenv-up wrote; hack/lib.sh alone decides where they live.
TESTENV_ENV = "$$(hack/testenv-dir.sh)/env"

.PHONY: help run run-in-cluster image chart-push setup test test-unit test-integration testenv-check lint format testenv-up testenv-down clean crds chart

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

run: setup testenv-up ## the operator against the test cluster and the fake Cloudflare, with examples/ applied
	@hack/run.sh

run-in-cluster: setup testenv-up ## the same in the test cluster: image and chart from the test registry, helm install, examples/ Ready
	@hack/run-in-cluster.sh

image: setup testenv-up ## build the operator image (Dockerfile, Debian-made base) and push it to the test registry; prints its size
	@source $(TESTENV_ENV) && hack/image.sh "$$LUNORA_TEST_REGISTRY/lunora-operator:dev-$$(git rev-parse --short HEAD)"

chart-push: setup testenv-up ## helm package the chart and push it to the test registry (oci://…/charts)
	@hack/chart-push.sh

setup: ## create .venv with the package and pinned dev dependencies
	@hack/setup.sh

# tests/testenv/ checks the test environment itself; the tiers run after it, without it.
TIERS = tests --ignore=tests/testenv

test: setup testenv-up testenv-check ## every test tier; installs, starts and checks the test environment first
	@source $(TESTENV_ENV) && $(PYTEST) $(TIERS)

test-unit: setup ## fast tier: no Docker, registry or API server needed
	@$(PYTEST) tests/unit

test-integration: setup testenv-up ## tests against the real API server, Docker and registry
	@source $(TESTENV_ENV) && $(PYTEST) tests/integration tests/e2e

testenv-check: setup testenv-up ## check the test environment itself: the node, the API server, where its settings live
	@source $(TESTENV_ENV) && $(PYTEST) tests/testenv

lint: setup ## ruff lint, format check and mypy (strict) on the package
	@$(VENV)/bin/ruff check operator tests bench charts
	@$(VENV)/bin/ruff format --check operator tests bench charts
	@$(VENV)/bin/mypy
	@# every tier collects as make test collects it (a conftest below tests/ may not set pytest_plugins)
	@out=$$($(PYTEST) tests --collect-only -q 2>&1) || { echo "$$out" | tail -30; exit 1; }

format: setup ## apply ruff fixes and formatting
	@$(VENV)/bin/ruff check --fix operator tests bench charts
	@$(VENV)/bin/ruff format operator tests bench charts

testenv-up: ## start Docker, registry, control plane and a node (builds and caches tools)
	@hack/testenv-up.sh

testenv-down: ## stop everything testenv-up started
	@hack/testenv-down.sh

clean: ## remove the venv and caches inside the repo (the tools cache stays)
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

crds: setup ## regenerate crds/ from the pydantic models, and the chart's copies (make chart)
	@$(VENV)/bin/lunora-operator crds --out crds
	@$(MAKE) --no-print-directory chart

chart: setup ## copy crds/ into the Helm chart and render the kustomize base (manifests/) from it
	@source hack/lib.sh && $(PY) charts/sync.py --helm "$$(hack/fetch-kube-tools.py "$$TOOLS_DIR")/helm"
