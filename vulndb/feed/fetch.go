package feed

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBytes caps the size of a feed Fetch accepts (the real feed is well
// under 5 MiB).
const maxBytes = 64 << 20

// Fetch downloads the feed at url, giving up after timeout. It fails on
// any status but 200 OK and on a body larger than maxBytes (64 MiB).
func Fetch(ctx context.Context, url string, timeout time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching the CVE feed: %w", err)
	}
	req.Header.Set("Accept", "application/feed+json, application/json")
	req.Header.Set("User-Agent", "kubeharden-db-update")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the CVE feed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the CVE feed: %s answered %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the CVE feed from %s: %w", url, err)
	}
	if len(data) > maxBytes {
		return nil, fmt.Errorf("the CVE feed at %s is larger than %d MiB", url, maxBytes>>20)
	}
	return data, nil
}
