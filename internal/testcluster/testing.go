package testcluster

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds a whole start made by Require or Shared.
const startTimeout = 5 * time.Minute

// Require starts a cluster of the test's own, stopped when the test ends. It
// skips the test when the binaries are missing, except under CI, where the
// test fails; any other failure to start fails the test.
//
// Starting a cluster takes several seconds: prefer Shared unless the test
// changes the cluster in a way others must not see (StopAPIServer).
func Require(tb testing.TB) *Cluster {
	tb.Helper()
	return RequireWith(tb, Options{})
}

// RequireWith is Require with options (a cluster of the test's own, with
// extra API server flags).
func RequireWith(tb testing.TB, opts Options) *Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := StartWith(ctx, opts)
	if err != nil {
		skipOrFail(tb, err)
	}
	tb.Cleanup(c.Stop)
	return c
}

var shared struct {
	once sync.Once
	mu   sync.Mutex
	c    *Cluster
	err  error
}

// Shared returns the test binary's shared cluster, starting it on first use;
// Main stops it once the tests are done. Like Require, it skips the test when
// the binaries are missing (fails under CI) and fails it on any other error.
// Tests sharing the cluster should work in namespaces of their own.
func Shared(tb testing.TB) *Cluster {
	tb.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		c, err := Start(ctx)
		shared.mu.Lock()
		shared.c, shared.err = c, err
		shared.mu.Unlock()
	})
	shared.mu.Lock()
	c, err := shared.c, shared.err
	shared.mu.Unlock()
	if err != nil {
		skipOrFail(tb, err)
	}
	return c
}

// Main is for TestMain in packages that use Shared:
//
//	func TestMain(m *testing.M) { testcluster.Main(m) }
//
// It runs the tests, stops the shared cluster if one was started, and exits
// with the tests' status. The cluster is only started if a test asks for it,
// so `go test -run` of unit tests alone costs nothing.
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	c := shared.c
	shared.mu.Unlock()
	if c != nil {
		c.Stop()
	}
	os.Exit(code)
}

func skipOrFail(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrBinariesMissing) {
		tb.Skip(err)
	}
	tb.Fatal(err)
}

// WaitFor polls f every 250 ms until it returns true, failing the test
// after 90 s: for what the controller manager or the API server's caches
// do asynchronously (a Deployment's pods, a default ServiceAccount).
func WaitFor(tb testing.TB, what string, f func() bool) {
	tb.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
