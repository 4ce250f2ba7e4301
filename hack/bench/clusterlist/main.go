// Command clusterlist is the cluster benchmark's baseline: it lists every
// kind kubeharden reads, page by page, with exactly the client and paging
// of "kubeharden scan --cluster", and throws the objects away.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/source/cluster"
)

type discard struct{ objects, errors atomic.Int64 }

func (d *discard) Object(*inventory.Object)     { d.objects.Add(1) }
func (d *discard) Error(e inventory.Error)      { d.errors.Add(1); fmt.Fprintln(os.Stderr, e) }
func (d *discard) Notice(report.Notice)         {}
func (d *discard) Unlisted(string, *kinds.Type) {}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig")
	flag.Parse()
	var d discard
	if err := cluster.Scan(context.Background(), cluster.Options{Kubeconfig: *kubeconfig}, &d); err != nil || d.errors.Load() > 0 {
		fmt.Fprintln(os.Stderr, "clusterlist:", err)
		os.Exit(1)
	}
	fmt.Println(d.objects.Load())
}
