# bucketward: build, test and deploy.
#
# Everything a fresh machine needs beyond Rust and python3 is installed by `make setup`
# into .venv (pinned in requirements-dev.txt). `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
CARGO ?= cargo
VENV := .venv
STAMP := $(VENV)/.stamp
REQUIREMENTS := requirements-dev.txt

# Local AWS emulator (moto server), see scripts/emulator.sh.
EMULATOR_PORT ?= 5055
export EMULATOR_PORT
WITH_EMULATOR := scripts/with-emulator.sh

# Lambda build: `make build LAMBDA_ARCH=x86-64` for a local x86_64 build.
LAMBDA_ARCH ?= arm64
LAMBDA_PACKAGES := remediator sweeper
# cargo-lambda (and ziglang) come from the venv; sam's rust-cargolambda build method needs it on PATH.
VENV_PATH := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

SAM_ENV := SAM_CLI_TELEMETRY=0

.PHONY: help setup emulator-up emulator-down emulator-status test template-lint validate \
        demo build package deploy bench bench-peers report-png lint fmt clean distclean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

## ---- tools ---------------------------------------------------------------

setup: $(STAMP) ## Create .venv with the pinned dev tools (moto, cfn-lint, sam, cargo-lambda)

$(STAMP): $(REQUIREMENTS)
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(REQUIREMENTS)
	@touch $@

## ---- local AWS emulator --------------------------------------------------

emulator-up: setup ## Start moto on 127.0.0.1:EMULATOR_PORT (default 5055; no-op if already up)
	@scripts/emulator.sh up

emulator-down: ## Stop moto (no error if it is not running)
	@scripts/emulator.sh down

emulator-status: ## Is moto running and healthy?
	@scripts/emulator.sh status

## ---- test ----------------------------------------------------------------

# cfn-lint checks the SAM template as written but not what the SAM transform generates (roles,
# rules, permissions, references to them), so the template is also expanded offline and linted.
TRANSFORMED := target/template.transformed.json

template-lint: setup ## cfn-lint template.yaml, before and after the SAM transform
	$(VENV)/bin/cfn-lint template.yaml
	@mkdir -p $(dir $(TRANSFORMED))
	$(VENV)/bin/python scripts/sam-transform.py template.yaml > $(TRANSFORMED)
	$(VENV)/bin/cfn-lint $(TRANSFORMED)

validate: setup ## sam validate --lint (offline)
	$(SAM_ENV) AWS_REGION=us-east-1 $(VENV)/bin/sam validate --lint --template-file template.yaml

# The template is linted first (fast), then the Rust tests run against a fresh moto, which
# is stopped afterwards whatever happens; the failing status is kept.
# The end-to-end tests drive the real function binaries, so those are built first.
test: setup template-lint validate ## Lint and validate the template, run cargo test --workspace against moto
	$(CARGO) build --workspace --bins
	$(WITH_EMULATOR) $(CARGO) test --workspace

demo: setup ## Run the CLI demo against moto
	$(CARGO) build -q -p remediator
	$(WITH_EMULATOR) $(CARGO) run -q -p bucketward-cli --bin bucketward -- demo

BENCH_SIZES ?= 1000,5000,10000
BENCH_CONCURRENCY ?= 16

bench: setup ## Evaluate throughput (criterion), then sweep throughput against moto
	$(CARGO) bench -p bucketward --bench evaluate
	$(CARGO) build --release -p bucketward-cli -p bucketward-tests --bin bucketward --bin bench_sweep
	$(WITH_EMULATOR) target/release/bench_sweep $(BENCH_SIZES) $(BENCH_CONCURRENCY)

PEERS_SIZES ?= 200 1000

bench-peers: setup ## Optional, not in CI: bucketward vs Prowler vs Cloud Custodian on the same moto state (installs both into .venv-peers)
	$(CARGO) build --release -p bucketward-cli --bin bucketward
	scripts/bench-peers.sh $(PEERS_SIZES)

REPORT_SAMPLE_DIR ?= target/report-sample

report-png: ## Render a sample evidence report (seeded trail) to PNG in headless Chromium (installs chromium if missing)
	BUCKETWARD_REPORT_SAMPLE_DIR=$(CURDIR)/$(REPORT_SAMPLE_DIR) $(CARGO) test -q -p bucketward --lib report::tests::writes_a_sample_when_asked
	REPORT_WINDOW=1280,4300 scripts/render-report.sh $(REPORT_SAMPLE_DIR)/report.html $(REPORT_SAMPLE_DIR)/report.png
	@echo "rendered $(REPORT_SAMPLE_DIR)/report.png"

lint: ## rustfmt --check and clippy -D warnings
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt: ## Format the Rust code
	$(CARGO) fmt --all

## ---- build and deploy ----------------------------------------------------

build: setup ## cargo lambda build --release (LAMBDA_ARCH=arm64|x86-64)
	@if [[ "$(LAMBDA_ARCH)" == arm64 ]] && ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$$'; then \
		echo "build: the Rust target aarch64-unknown-linux-gnu is not installed (rustup target add aarch64-unknown-linux-gnu)," >&2; \
		echo "       or build for x86_64 with 'make build LAMBDA_ARCH=x86-64'" >&2; \
		exit 1; \
	fi
	$(VENV_PATH) $(CARGO) lambda build --release --$(LAMBDA_ARCH) $(addprefix -p ,$(LAMBDA_PACKAGES))

package: setup ## sam build (uses cargo-lambda from .venv)
	$(VENV_PATH) $(SAM_ENV) $(VENV)/bin/sam build --template-file template.yaml

deploy: package ## sam deploy --guided
	$(VENV_PATH) $(SAM_ENV) $(VENV)/bin/sam deploy --guided

## ---- housekeeping --------------------------------------------------------

clean: emulator-down ## Remove build outputs and the emulator state
	$(CARGO) clean
	rm -rf .aws-sam .emulator

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
