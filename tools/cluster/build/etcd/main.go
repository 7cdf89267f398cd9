// Command etcd is etcd 3.6 built from the module proxy: Debian's etcd 3.4
// works with kube-apiserver 1.35 but makes it hang on shutdown.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
