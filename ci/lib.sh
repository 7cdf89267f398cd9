# shellcheck shell=bash
# ci/lib.sh — what the ci/ scripts (e2e, demo, bench) share; sourced, not run.
#
#   LOG_PREFIX=demo; source ci/lib.sh
#
# Progress lines, the nodes' architecture, kind as go.mod pins it, and the
# local cluster with the offline component images the chart runs.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

say() { printf '%s: %s\n' "${LOG_PREFIX:-ci}" "$*"; }

# phase NAME CMD...: run one step and say how long it took, or that it failed.
phase() {
	local name=$1 start=$SECONDS
	shift
	say "${name} ..."
	if ! "$@"; then
		say "${name}: FAILED after $((SECONDS - start))s"
		return 1
	fi
	say "${name}: done in $((SECONDS - start))s"
}

# node_arch: this machine's architecture as image platforms name it.
node_arch() {
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) uname -m ;;
	esac
}

# The component images the chart runs (envoy, statsdExporter, jaeger and
# prometheus in values.yaml), plus the sandbox image that `ci/cluster up`
# imports: what an offline node needs before `helm install`.
# shellcheck disable=SC2034 # used by the scripts that source this file
CHART_COMPONENTS=envoy,statsd-exporter,jaeger,prometheus,pause

# kind_bin: kind at the version go.mod pins, built into .bin/ (the image
# builder's --load kind and the scripts run `kind` from PATH).
kind_bin() {
	local want
	want=$(cd "$ROOT" && go list -m -f '{{.Version}}' sigs.k8s.io/kind)
	if [[ $("$ROOT/.bin/kind" version 2>/dev/null | awk '{print $2}') != "$want" ]]; then
		phase "build kind $want (go.mod's pin) into .bin/" go build -C "$ROOT" -o "$ROOT/.bin/kind" sigs.k8s.io/kind
	fi
	case :$PATH: in *":$ROOT/.bin:"*) ;; *) export PATH=$ROOT/.bin:$PATH ;; esac
}

# component_images LIST: build the offline component images in LIST
# (comma-separated) for this machine, into out/images.
component_images() {
	go run ./tools/imagebuilder --components --only "$1" --platforms "linux/$(node_arch)"
}

# local_cluster_up LIST: the offline component images in LIST (pause among
# them: the node imports it at start), then the local cluster, and
# KUBECONFIG pointing at it.
local_cluster_up() {
	phase "component images" component_images "$1"
	phase "cluster up" ci/cluster up
	eval "$(ci/cluster env)"
}
