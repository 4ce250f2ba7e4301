// Command etcd is the etcd v3.7.0 server, built from the Go module proxy for
// kubeharden's integration tests (see hack/kube/build.sh). It only hands over
// to etcd's own entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
