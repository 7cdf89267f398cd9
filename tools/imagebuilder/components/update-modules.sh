#!/usr/bin/env bash
# Rewrites the build modules of the component images (one go.mod and go.sum
# per component, beside this script) from the pins in versions.mk. Run it
# through `make component-modules` after changing a pin, and commit the
# result; the image builder refuses to build a component whose go.mod
# disagrees with versions.mk.
#
# Each module requires the upstream release as a tool (go get -tool), so the
# build list is the release's own (the same as `go install pkg@version`),
# plus the replace directives the release itself declares: Jaeger's go.mod
# replaces github.com/Shopify/sarama, and a replace in a dependency is
# ignored, so its module repeats it. Check the upstream go.mod for new
# replace directives when bumping a pin.
set -euo pipefail
# Each component is a module of its own, outside the root's go.work.
export GOWORK=off
here=$(cd "$(dirname "$0")" && pwd)
pin() { awk -v k="$1" '$1 == k && $2 == ":=" {print $3; exit}' "$here/../../../versions.mk"; }

module() { # dir version replace-or-empty package...
	local dir=$1 version=$2 replace=$3
	shift 3
	[[ -n $version ]] || { echo "update-modules: no pin for $dir in versions.mk" >&2; exit 1; }
	echo "update-modules: $dir at $version"
	rm -f "$here/$dir/go.mod" "$here/$dir/go.sum"
	mkdir -p "$here/$dir"
	(
		cd "$here/$dir"
		go mod init "github.com/envoy-example/envoy-example/tools/imagebuilder/components/$dir" 2>/dev/null
		[[ -z $replace ]] || go mod edit -replace "$replace"
		for pkg in "$@"; do GOFLAGS=-mod=mod go get -tool "$pkg@$version"; done
	)
}

module statsd_exporter "$(pin STATSD_EXPORTER_VERSION)" "" github.com/prometheus/statsd_exporter
module prometheus "$(pin PROMETHEUS_MODULE_VERSION)" "" \
	github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
module jaeger "$(pin JAEGER_MODULE_VERSION)" "github.com/Shopify/sarama=github.com/Shopify/sarama@v1.33.0" \
	github.com/jaegertracing/jaeger/cmd/jaeger
module coredns "$(pin COREDNS_VERSION)" "" github.com/coredns/coredns
module fortio "$(pin FORTIO_VERSION)" "" fortio.org/fortio
