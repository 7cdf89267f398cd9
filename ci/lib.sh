# shellcheck shell=bash
# ci/lib.sh — what the ci/ scripts (demo, port-forwards, e2e, bench),
# tools/cluster/cluster and tools/cluster/check, and .ci/run share;
# sourced, not run.
#
#   LOG_PREFIX=demo; source ci/lib.sh
#
# ROOT (the repository), progress lines (say, die, missing, phase,
# progress_phase, elapsed), timing, the pins of versions.mk, the nodes'
# architecture, HTTP probes, kind as tools/go.mod pins it, and the local cluster
# with the offline component images the chart runs.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s: %s\n' "${LOG_PREFIX:-ci}" "$*"; }

# die WHY: say that the script failed and why, then exit 1.
die() {
	printf '%s: FAILED: %s\n' "${LOG_PREFIX:-ci}" "$*" >&2
	exit 1
}

# missing WHAT HOW: a prerequisite is missing; say what installs it, exit 1.
missing() {
	local p=${LOG_PREFIX:-ci}
	printf '%s: missing: %s\n%s  install it with:\n%s    %s\n' "$p" "$1" "${p//?/ }" "${p//?/ }" "$2" >&2
	exit 1
}

# elapsed SECONDS: a duration as people read it ("42s", "3m05s", "1h02m").
elapsed() {
	local s=$1
	if ((s < 60)); then
		printf '%ds' "$s"
	elif ((s < 3600)); then
		printf '%dm%02ds' $((s / 60)) $((s % 60))
	else
		printf '%dh%02dm' $((s / 3600)) $((s % 3600 / 60))
	fi
}

# phase NAME CMD...: run one step and say how long it took, or that it failed.
phase() {
	local name=$1 start=$SECONDS
	shift
	say "${name} ..."
	if ! "$@"; then
		say "${name}: FAILED after $(elapsed $((SECONDS - start)))"
		return 1
	fi
	say "${name}: done in $(elapsed $((SECONDS - start)))"
}

# progress_phase NAME HINT CMD...: phase for a step that can take minutes.
# HINT says in words how long the step can take, completing "it can take
# ...": "several minutes when nothing is built yet", "a minute or two";
# empty for no hint. Words, never a measured figure: a figure goes stale
# with the machine, its load, the caches and the code, while the lines
# below count the real time. While CMD runs, a line every PROGRESS_EVERY
# seconds (default 30) says it still runs and for how long:
#   demo: cluster up ... (it can take several minutes the first time)
#   demo: cluster up: still running, 2m30s so far (it can take several minutes the first time)
#   demo: cluster up: done in 9m12s
# Returns CMD's exit code. CMD runs in a subshell (a function that sets
# variables for later steps does not belong here), whose EXIT trap ends the
# ticker however CMD ends; the ticker also ends by itself once the subshell
# is gone.
progress_phase() {
	local name=$1 hint=${2:+ (it can take $2)} start=$SECONDS rc=0
	shift 2
	say "${name} ...${hint}"
	_progress_run "$name" "$hint" "$@" || rc=$?
	if ((rc != 0)); then
		say "${name}: FAILED after $(elapsed $((SECONDS - start))) (exit ${rc})"
		return "$rc"
	fi
	say "${name}: done in $(elapsed $((SECONDS - start)))"
}

_progress_run() (
	# A subshell: no `local` needed, and its traps are its own.
	ticker=""
	trap '[[ -z $ticker ]] || kill "$ticker" 2>/dev/null || true' EXIT
	# So that the EXIT trap runs on Ctrl-C and kill too.
	trap 'exit 130' INT
	trap 'exit 143' TERM
	_progress_tick "$1" "$2" "$BASHPID" &
	ticker=$!
	shift 2
	"$@"
)

# _progress_tick NAME HINT OWNER: the ticker (HINT as progress_phase
# formats it: empty or " (it can take ...)"); stops when killed (its sleep
# with it) or when OWNER is gone.
_progress_tick() {
	local name=$1 hint=$2 owner=$3 start=$SECONDS nap=""
	trap '[[ -z $nap ]] || kill "$nap" 2>/dev/null; exit 0' TERM INT
	while :; do
		sleep "${PROGRESS_EVERY:-30}" >/dev/null 2>&1 &
		nap=$!
		wait "$nap" || true
		nap=""
		kill -0 "$owner" 2>/dev/null || exit 0
		say "${name}: still running, $(elapsed $((SECONDS - start))) so far${hint}"
	done
}

# now, since T0: a timestamp, and the time since one ("3.2s").
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1fs", b - a}'; }

# pin NAME: the value of NAME in versions.mk (one place for every
# version), read as make would.
pin() { awk -v k="$1" '$1 == k && $2 == ":=" {print $3; exit}' "$ROOT/versions.mk"; }

# node_arch: this machine's architecture as image platforms name it.
node_arch() {
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) uname -m ;;
	esac
}

# answers URL: it returns 2xx within a few seconds.
answers() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }

# wait_answers URL SECONDS
wait_answers() {
	local t0=$SECONDS
	until answers "$1"; do
		((SECONDS - t0 < $2)) || return 1
		sleep 1
	done
}

# The component images the chart runs (envoy, statsdExporter, jaeger and
# prometheus in values.yaml), plus the sandbox image that `tools/cluster/cluster up`
# imports: what an offline node needs before `helm install`.
# shellcheck disable=SC2034 # used by the scripts that source this file
CHART_COMPONENTS=envoy,statsd-exporter,jaeger,prometheus,pause
# How long building them can take (progress_phase's HINT): they are built
# from source, Jaeger and Prometheus the largest.
# shellcheck disable=SC2034 # used by the scripts that source this file
CHART_COMPONENTS_HINT="several minutes when nothing is built yet: Jaeger and Prometheus come from source"

# kind_bin: kind at the version tools/go.mod pins, built into .bin/ (the image
# builder's --load kind and the scripts run `kind` from PATH).
kind_bin() {
	local want
	want=$(cd "$ROOT" && go list -m -f '{{.Version}}' sigs.k8s.io/kind)
	if [[ $("$ROOT/.bin/kind" version 2>/dev/null | awk '{print $2}') != "$want" ]]; then
		progress_phase "build kind $want (tools/go.mod's pin) into .bin/" "a minute or two" go build -C "$ROOT" -o "$ROOT/.bin/kind" sigs.k8s.io/kind
	fi
	case :$PATH: in *":$ROOT/.bin:"*) ;; *) export PATH=$ROOT/.bin:$PATH ;; esac
}

# component_images LIST: build the offline component images in LIST
# (comma-separated) for this machine, into out/images.
component_images() {
	go run ./tools/imagebuilder --components --only "$1" --platforms "linux/$(node_arch)"
}

# local_cluster_up LIST HINT: the offline component images in LIST
# (pause among them: the node imports it at start; HINT, in words, how long
# they can take to build: progress_phase), then the local cluster, and
# KUBECONFIG pointing at it.
local_cluster_up() {
	progress_phase "component images" "$2" component_images "$1"
	progress_phase "cluster up" "several minutes the first time: it builds Kubernetes and CoreDNS from source" tools/cluster/cluster up
	eval "$(tools/cluster/cluster env)"
}
