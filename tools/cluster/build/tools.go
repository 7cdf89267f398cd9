//go:build tools

// Package clusterbuild pins the Kubernetes and etcd programs of the local
// single-node cluster; tools/cluster/cluster builds them with `go build` from this
// module, so their versions live in this go.mod alone.
package clusterbuild

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
