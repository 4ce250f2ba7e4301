package admission

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	kscan "github.com/kubeharden/kubeharden/scan"
)

// With every slot taken, a review waits; one whose request is cancelled
// while it waits gets 503 and is never evaluated. A freed slot serves.
func TestOverloadQueues(t *testing.T) {
	eng, err := (&kscan.Plan{}).Engine()
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(Options{Engine: eng, MaxConcurrent: 1})
	const body = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"namespace":"shop","operation":"CREATE",
	"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"x:1","securityContext":{"privileged":true}}]}}}}`
	send := func(ctx context.Context) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/validate", strings.NewReader(body)).WithContext(ctx)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	h.slots <- struct{}{} // a review in progress holds the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if w := send(ctx); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "cancelled while waiting") {
		t.Errorf("waiting review: HTTP %d %q", w.Code, w.Body)
	}
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- send(context.Background()) }()
	select {
	case w := <-done:
		t.Fatalf("answered while no slot was free: HTTP %d", w.Code)
	case <-time.After(50 * time.Millisecond):
	}
	<-h.slots // the review in progress ends
	if w := <-done; w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"allowed":false`) {
		t.Errorf("after the slot freed: HTTP %d %q", w.Code, w.Body)
	}
}
