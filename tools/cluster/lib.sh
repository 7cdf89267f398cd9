# shellcheck shell=bash
# tools/cluster/lib.sh — the local cluster's settings and liveness checks,
# shared by tools/cluster/cluster (which starts and stops it) and tools/cluster/check
# (which checks that it works); sourced after ci/lib.sh, not run.
#
#   LOG_PREFIX=cluster; source ci/lib.sh; source tools/cluster/lib.sh
#
# Environment (see tools/cluster/cluster's header):
#   CLUSTER_DIR   state, configs, logs, pidfiles (default <repo>/.cluster)
#   CLUSTER_BIN   binaries (default <repo>/.bin/cluster)

# The settings, in one place: paths, versions, the network.
# shellcheck disable=SC2034 # used by tools/cluster/cluster and tools/cluster/check, which source this file
{
	D=${CLUSTER_DIR:-$ROOT/.cluster}
	BIN=${CLUSTER_BIN:-$ROOT/.bin/cluster}
	BUILD_MOD=$ROOT/tools/cluster/build
	K8S_VERSION=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' "$BUILD_MOD/go.mod")
	COREDNS_VERSION=$(pin COREDNS_VERSION)
	PAUSE_IMAGE=registry.k8s.io/pause:$(pin PAUSE_VERSION)
	ARCH=$(node_arch)
	BRIDGE=eebr0
	HOST_IP=10.244.0.1
	POD_CIDR=10.244.0.0/24
	SVC_CIDR=10.96.0.0/16
	KUBE_SVC_IP=10.96.0.1
	DNS_IP=$HOST_IP
	NODE=localhost
	CNI_NET=ee-cluster
	CNI_BIN=/usr/lib/cni
	# The components, in the order `up` starts them.
	ORDER=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy coredns)
	KUBECONFIG_FILE=$D/kubeconfig
	SOCK=$D/containerd/containerd.sock
	OWNER=/run/ee-cluster.dir # the CLUSTER_DIR of the cluster that holds the bridge and ports
}
export PATH=$BIN:$PATH:/usr/sbin:/sbin
case $D in /*) ;; *) echo "cluster: CLUSTER_DIR must be an absolute path" >&2; exit 2 ;; esac
[[ $(cd / && realpath -m "$D") != / ]] || { echo "cluster: CLUSTER_DIR must not be /" >&2; exit 2; }

pidfile() { echo "$D/run/$1.pid"; }

# alive NAME: the process of NAME's pidfile runs and is still our binary.
alive() {
	local f pid
	f=$(pidfile "$1")
	[[ -s $f ]] || return 1
	pid=$(<"$f")
	[[ -d /proc/$pid ]] || return 1
	tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -q -- "$1" || return 1
}

# all_alive: every component runs.
all_alive() {
	local c
	for c in "${ORDER[@]}"; do alive "$c" || return 1; done
}

kctl() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }

node_ready() {
	[[ $(kctl get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
