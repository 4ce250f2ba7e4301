package admission_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeharden/kubeharden/admission"
	"github.com/kubeharden/kubeharden/server"
	"github.com/kubeharden/kubeharden/server/servertest"
)

// BenchmarkValidate posts AdmissionReviews to /validate over loopback TLS
// (HTTP/2, as the API server does), concurrently, and reports requests per
// second and latency percentiles:
//
//	go test ./admission -run '^$' -bench Validate -benchtime 5s
func BenchmarkValidate(b *testing.B) {
	for _, bc := range []struct {
		name string
		body []byte
	}{
		{"deny-privileged-pod", review(admissionv1.AdmissionRequest{Namespace: "shop", Object: runtime.RawExtension{Raw: pod(privilegedPod, "shop")}})},
		{"allow-with-warnings", review(admissionv1.AdmissionRequest{Namespace: "shop", Object: runtime.RawExtension{Raw: pod(mediumPod, "shop")}})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			certs := servertest.Write(b, b.TempDir(), "bench")
			srv, err := server.New(server.Options{Addr: "127.0.0.1:0", CertFile: certs.CertFile, KeyFile: certs.KeyFile})
			if err != nil {
				b.Fatal(err)
			}
			srv.Handle("/validate", admission.NewHandler(admission.Options{Engine: testEngine}))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Run(ctx) }()
			defer func() { cancel(); <-done }()
			addr, err := srv.Addr(ctx)
			if err != nil {
				b.Fatal(err)
			}
			url := "https://" + addr.String() + "/validate"
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certs.Pool}, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64}}
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(4)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					t0 := time.Now()
					resp, err := client.Post(url, "application/json", bytes.NewReader(bc.body))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("HTTP %d", resp.StatusCode)
						return
					}
					mine = append(mine, time.Since(t0))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
		})
	}
}
