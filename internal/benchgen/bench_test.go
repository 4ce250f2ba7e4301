package benchgen

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/checks"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/render/jsonout"
	"github.com/kubeharden/kubeharden/source/manifest"
)

func corpus(b *testing.B, n int) (string, []string) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "corpus")
	files, err := Write(dir, n)
	if err != nil {
		b.Fatal(err)
	}
	return dir, files
}

func scan(b *testing.B, dir string, out io.Writer) {
	e, err := engine.New(engine.Options{Checks: checks.All()})
	if err != nil {
		b.Fatal(err)
	}
	run := e.NewRun(engine.RunOptions{})
	l := manifest.Loader{}
	l.Load(context.Background(), []string{dir}, run)
	rep := run.Report()
	if len(rep.Errors) > 0 {
		b.Fatal(rep.Errors[0])
	}
	if err := jsonout.Render(out, rep, render.Options{}); err != nil {
		b.Fatal(err)
	}
}

func decodeAll(b *testing.B, files []string) int {
	n := 0
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		dec := yaml.NewDecoder(f)
		for {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			n++
		}
		f.Close()
	}
	return n
}

// BenchmarkScan1k is the whole manifest pipeline (load, check, PSS, JSON)
// over 1,000 generated objects; compare with BenchmarkDecode1k.
func BenchmarkScan1k(b *testing.B) {
	dir, _ := corpus(b, 1000)
	b.ResetTimer()
	for b.Loop() {
		scan(b, dir, io.Discard)
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkDecode1k only decodes the same corpus into maps with yaml.v3.
func BenchmarkDecode1k(b *testing.B) {
	_, files := corpus(b, 1000)
	b.ResetTimer()
	for b.Loop() {
		if n := decodeAll(b, files); n != 1000 {
			b.Fatalf("decoded %d documents", n)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "objects/s")
}
