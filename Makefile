# modelwarden — every target installs what it needs itself, so a fresh clone works.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help image deps system-deps test unit integration lint crds check-crds demo bench bench-drift bench-evaluator \
        controlplane cluster-up cluster-down kind-up chart-test clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

deps: $(STAMP) ## install the Python package and its dev tools into .venv

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# command:package pairs the tests need from Debian (real Prometheus, Alertmanager, promtool;
# openssl for the local control plane's certificates)
SYSTEM_TOOLS := openssl:openssl prometheus:prometheus promtool:prometheus \
                prometheus-alertmanager:prometheus-alertmanager

system-deps: ## install the Debian packages the tests use, when missing (apt)
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then echo "apt-get install$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; fi

controlplane: deps ## build (or reuse from cache) the local control-plane binaries
	$(BIN)/python -m localcluster build

lint: deps ## ruff, mypy (strict) and import-linter
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

crds: deps ## regenerate crds/*.yaml from the pydantic models
	$(BIN)/modelwarden crds --out crds

check-crds: deps ## fail when crds/ is out of date with the models
	$(BIN)/modelwarden crds --check crds

unit: deps ## unit tests only (no control plane)
	$(BIN)/pytest -m 'not integration'

integration: controlplane ## integration tests on the real local control plane
	$(BIN)/pytest -m integration

test: system-deps lint check-crds controlplane ## everything CI runs: lint, CRD check, unit and integration tests
	@MODELWARDEN_FORBID_SKIPS=1 $(BIN)/pytest; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

demo: controlplane ## the local demo on an embedded control plane
	$(BIN)/python -m modelwarden.demo

cluster-up: controlplane ## start the local control plane; kubeconfig at .cluster/kubeconfig
	$(BIN)/python -m localcluster up

cluster-down: deps ## stop the local control plane and every process it started
	$(BIN)/python -m localcluster down

image: ## (needs Docker; not run in CI) build modelwarden/modelwarden:<version> from the Dockerfile
	docker build -t modelwarden/modelwarden:$$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml) .

kind-up: ## (needs Docker; not run in CI) a kind cluster with the CRDs installed
	kind create cluster --name modelwarden
	kubectl apply -f crds/

bench-drift: deps ## drift engine benchmark vs Evidently and scipy; writes bench/results/drift.json
	$(BIN)/python bench/drift_bench.py

bench-evaluator: deps ## evaluator sidecar latency/throughput; writes bench/results/evaluator.json
	$(BIN)/python bench/evaluator_bench.py

chart-test: controlplane ## the Helm chart: lint, render, rules, dashboards; dry run and install on the local control plane
	$(BIN)/pytest tests/unit/chart tests/integration/test_chart.py

bench: bench-drift bench-evaluator ## every benchmark

clean: cluster-down ## remove the venv and local state
	rm -rf $(VENV) .cluster
