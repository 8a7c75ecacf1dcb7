# Two commands do all setup on a fresh machine: `make bench` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
QUICK ?=
WORKLOADS ?=
SIZE := $(if $(QUICK),quick,full)
REPETITIONS ?=
# The smoke run (QUICK=1) measures each workload's Go and Rust defaults; VARIANTS=1 adds the
# labelled variants (a full run always has them).
VARIANTS ?=
SELECTION := $(if $(WORKLOADS),--workloads $(WORKLOADS)) $(if $(and $(QUICK),$(if $(VARIANTS),,1)),--defaults-only)
RUN_ARGS := --size $(SIZE) $(SELECTION) $(if $(REPETITIONS),--repetitions $(REPETITIONS))
REPORT_ARGS := $(if $(TEAM),--team $(TEAM))

.PHONY: bench build-workloads test test-packages lint report profile perf sshd bench-harness deps tools browser clean help fixture-real-run proto

help:
	@echo "make bench [QUICK=1 [VARIANTS=1]] [WORKLOADS=json,gzip] [REPETITIONS=10] [TEAM=config/team.toml]"
	@echo "                                             build, measure, write results/ and reports/"
	@echo "make test                                    the whole test suite (unit + real end-to-end)"
	@echo "make profile                                 CPU profiles (perf) of the latest run's default pairs, then its report"
	@echo "make bench-harness                           the harness's own overhead and fidelity benchmarks"
	@echo "make fixture-real-run                        rerun the quick run the browser test renders (tests/fixtures/)"
	@echo "make lint                                    ruff, gofmt/go vet, rustfmt/clippy"
	@echo "make proto                                   regenerate workloads/go/internal/roundtrippb from workloads/proto"

# uv (pinned, from PyPI) installs the package and its dependencies: 18 s cold here against pip's
# 64 s, and the workloads' builds wait for it (docs/measured-results.md). --compile-bytecode as
# pip does: this machine sets PYTHONDONTWRITEBYTECODE=1, and without .pyc files every harness
# command spent 4 s more compiling its imports.
UV_VERSION := 0.13.8
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[dev]'
	touch $@

# Fetch Go modules and Rust crates up front so a build failure is a build failure, not a network one.
.cache/.deps: workloads/go/go.mod workloads/rust/Cargo.lock
	cd workloads/go && go mod download
	cd workloads/rust && cargo fetch --locked
	mkdir -p .cache && touch $@

# The open-loop load generator for server workloads, pinned, in a project-local folder; built with
# the system OpenSSL instead of rustls over aws-lc (no TLS runs against 127.0.0.1; tools/README.md).
# tools/bin/oha.build says how the binary was built (the results record it); another build is replaced.
OHA_VERSION := 1.16.0
OHA_BUILD := --locked --no-default-features --features native-tls
# oha writes its per-request SQLite file after the load has ended; the system SQLite saves the
# bundled one's C compile (47 s of one core here), tools/README.md.
OHA_ENV := LIBSQLITE3_SYS_USE_PKG_CONFIG=1
OHA_NOTE := $(OHA_BUILD) $(OHA_ENV)
tools:
	@test -x tools/bin/oha && test "$$(cat tools/bin/oha.build 2>/dev/null)" = "$(OHA_NOTE)" || { \
		pkg-config --exists openssl sqlite3 || (apt-get update -qq && apt-get install -y -qq libssl-dev libsqlite3-dev pkg-config >/dev/null); \
		echo "$(OHA_ENV) cargo install oha --version $(OHA_VERSION) $(OHA_BUILD) --root tools"; \
		$(OHA_ENV) cargo install oha --version $(OHA_VERSION) $(OHA_BUILD) --force --root tools --quiet && \
		echo "$(OHA_NOTE)" > tools/bin/oha.build; }

# The Go code of workloads/proto/roundtrip.proto is generated and committed (Go practice); this
# regenerates it with pinned tools the project fetches itself: protoc from the PyPI package
# grpcio-tools (installed into the venv), protoc-gen-go and protoc-gen-go-grpc built by `go install`
# into .cache/proto-tools. PROTO_OUT elsewhere writes the code there instead (tests/ compares it
# with the committed files). The Rust side needs none of this: crates/json-service/build.rs
# compiles the .proto with protox (pure Rust, no protoc).
GRPCIO_TOOLS_VERSION := 1.76.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTO_TOOLS := $(CURDIR)/.cache/proto-tools
PROTO_OUT ?= workloads/go
proto: $(VENV)/.installed
	@$(PY) -c "import importlib.metadata as m, sys; sys.exit(m.version('grpcio-tools') != '$(GRPCIO_TOOLS_VERSION)')" 2>/dev/null || \
		$(PY) -m pip install --quiet --disable-pip-version-check grpcio-tools==$(GRPCIO_TOOLS_VERSION)
	GOBIN=$(PROTO_TOOLS)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(PROTO_TOOLS)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	mkdir -p $(PROTO_OUT)
	$(PY) -m grpc_tools.protoc -I workloads/proto \
		--plugin=protoc-gen-go=$(PROTO_TOOLS)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION)/protoc-gen-go \
		--plugin=protoc-gen-go-grpc=$(PROTO_TOOLS)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)/protoc-gen-go-grpc \
		--go_out=$(PROTO_OUT) --go_opt=module=gorust/workloads \
		--go-grpc_out=$(PROTO_OUT) --go-grpc_opt=module=gorust/workloads \
		roundtrip.proto

deps: $(VENV)/.installed .cache/.deps tools

# The load generator compiles from the start, beside the venv's install (downloads, little CPU) and
# then the workloads' builds (Go and Rust side by side), so a cold first run keeps both CPUs busy;
# measuring starts once every build is done. A failed build does not stop the run: `run` reports
# it. The report is written even when a workload failed (it shows the failure); the exit status is
# run's.
bench:
	@$(MAKE) --no-print-directory -j2 tools build-workloads
	@$(PY) -m harness run $(RUN_ARGS); status=$$?; \
	$(PY) -m harness report latest $(REPORT_ARGS) || exit $$?; exit $$status

# At a lower priority than the load generator's compile beside it: that compile is the longer
# chain, so the builds fill the CPU time it leaves (plain builds; the build profile's timed clean
# builds run inside `harness run`, alone).
build-workloads: $(VENV)/.installed .cache/.deps
	-@nice -n 10 $(PY) -m harness build $(SELECTION)

report: $(VENV)/.installed
	$(PY) -m harness report results/latest.json

# Debian's Chromium renders the report in the browser test (playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null && command -v pdftotext >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium poppler-utils >/dev/null)

# perf (Debian's linux-perf) for `harness profile`; the software CPU clock needs no hardware PMU.
perf:
	@command -v perf >/dev/null || (apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null)

# OpenSSH's sshd and iproute2's ip: the tests' load hosts are network namespaces, each with its own
# sshd (tests/netns_hosts.py, docs/hosts.md "Testing here").
SSHD := /usr/sbin/sshd
sshd:
	@test -x $(SSHD) && command -v ip >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server iproute2 >/dev/null)

# Profiles apart from the timed repetitions, saved as results/profiles/<run-id>.json; the report shows them.
profile: deps perf
	@$(PY) -m harness profile latest; status=$$?; \
	$(PY) -m harness report latest $(REPORT_ARGS) || exit $$?; exit $$status

# --durations: the slowest tests are printed, so the suite's time stays visible in CI logs.
# The load generator compiles beside the workloads' builds (the suite's one cold build, which the
# first end-to-end test would otherwise do after it: tests/conftest.py `workspace_build` then finds
# every program cached) and beside the Debian packages' installs, one after another (one dpkg lock).
test:
	@$(MAKE) --no-print-directory -j3 tools build-workloads test-packages
	$(PY) -m ruff check harness tests
	$(PY) -m pytest -q --durations=15

# The browser test's real run (tests/fixtures/README.md): a fresh quick run of the default suite, gzipped.
fixture-real-run: deps
	$(PY) tests/real_run_fixture.py

test-packages:
	@$(MAKE) --no-print-directory -j1 browser perf sshd

bench-harness: deps sshd
	$(PY) -m pytest -q benchmarks --benchmark-only -p no:cacheprovider

lint: deps
	$(PY) -m ruff check harness tests benchmarks
	$(PY) -m ruff format --check harness tests benchmarks
	cd workloads/go && test -z "$$(gofmt -l .)" && go vet ./...
	cd workloads/rust && cargo fmt --all --check && cargo clippy --release --workspace -- -D warnings

clean:
	rm -rf .cache results reports workloads/rust/target
