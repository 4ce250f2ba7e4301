package feed

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestFetch(t *testing.T) {
	fixture := readFixture(t)
	var accept, agent string
	url := serve(t, func(w http.ResponseWriter, r *http.Request) {
		accept, agent = r.Header.Get("Accept"), r.Header.Get("User-Agent")
		w.Header().Set("Content-Type", "application/feed+json")
		w.Write(fixture)
	})
	data, err := Fetch(context.Background(), url, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, fixture) {
		t.Error("Fetch returned other bytes than the server sent")
	}
	if !strings.Contains(accept, "application/feed+json") || agent != "kubeharden-db-update" {
		t.Errorf("request headers: Accept %q, User-Agent %q", accept, agent)
	}
}

func TestFetchErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		want    string
	}{
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, 0, "500 Internal Server Error"},
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, 0, "404 Not Found"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, 100 * time.Millisecond, "deadline exceeded"},
		{"too large", func(w http.ResponseWriter, r *http.Request) {
			chunk := bytes.Repeat([]byte(" "), 1<<20)
			for n := 0; n <= maxBytes; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, 0, "larger than 64 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, tt.handler)
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 30 * time.Second
			}
			data, err := Fetch(context.Background(), url, timeout)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Fetch = %d bytes, %v; want an error mentioning %q", len(data), err, tt.want)
			}
			if data != nil {
				t.Error("Fetch returned data with an error")
			}
		})
	}
}

func TestFetchUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	if _, err := Fetch(context.Background(), url, 5*time.Second); err == nil || !strings.Contains(err.Error(), "fetching the CVE feed") {
		t.Fatalf("error %v", err)
	}
}

func TestFetchBadURL(t *testing.T) {
	if _, err := Fetch(context.Background(), "http://bad host/", time.Second); err == nil || !strings.Contains(err.Error(), "fetching the CVE feed") {
		t.Fatalf("error %v", err)
	}
}
