package auditevent

import (
	"bytes"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
)

// WebhookOptions configure a Webhook.
type WebhookOptions struct {
	// Detector runs the rules on the events received.
	Detector *Detector
	// ClientCAs authenticate the API server by its client certificate:
	// a certificate that chains to one of them (for client
	// authentication) is accepted. The TLS server must ask for client
	// certificates (server.Server.RequestClientCerts).
	ClientCAs *x509.CertPool
	// Tokens authenticate the API server by bearer token (the token of
	// the user in its webhook kubeconfig).
	Tokens []string
	// Alert receives every alert (written as a JSON line by the caller).
	Alert func(*Alert)
	// Metrics, when set, counts events and alerts.
	Metrics *Metrics
	Log     *slog.Logger
}

// Webhook is the http.Handler of the API server's audit webhook backend:
// it receives audit.k8s.io/v1 EventLists POSTed in batch or blocking mode
// and runs the detector on their events. Only the API server may send
// them: a request with neither an accepted client certificate nor an
// accepted bearer token gets 401 (no credentials) or 403 (wrong ones),
// and its body is not read.
type Webhook struct {
	opts WebhookOptions
	dec  sync.Pool
	// mu processes one EventList at a time, in the order they arrive:
	// the stateful rules (bursts, once per auditID) read events in order.
	mu sync.Mutex
}

// NewWebhook returns the handler; at least one way to authenticate the
// API server is required.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	if opts.Detector == nil {
		return nil, errors.New("audit webhook: no detector")
	}
	if opts.ClientCAs == nil && len(opts.Tokens) == 0 {
		return nil, errors.New("audit webhook: no way to authenticate the API server: give a client CA or a token")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Alert == nil {
		opts.Alert = func(*Alert) {}
	}
	w := &Webhook{opts: opts}
	w.dec.New = func() any { return NewDecoder() }
	return w, nil
}

// ReadTokens reads a token file: one token per line; blank lines and
// lines starting with # are ignored.
func ReadTokens(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no token in the file", path)
	}
	return out, nil
}

// ReadCAs reads a PEM bundle of CA certificates.
func ReadCAs(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s: no PEM certificate in the file", path)
	}
	return pool, nil
}

// authenticate returns 0 when the request comes from the API server, or
// the status to refuse it with and why.
func (w *Webhook) authenticate(r *http.Request) (int, string) {
	presented := false
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		presented = true
		if w.opts.ClientCAs != nil {
			inter := x509.NewCertPool()
			for _, c := range r.TLS.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := r.TLS.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: w.opts.ClientCAs, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			if err == nil {
				return 0, ""
			}
		}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		presented = true
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			tok = strings.TrimSpace(tok)
			for _, t := range w.opts.Tokens {
				if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
					return 0, ""
				}
			}
		}
	}
	if !presented {
		return http.StatusUnauthorized, "no credentials: the audit webhook accepts only the API server (client certificate or bearer token)"
	}
	return http.StatusForbidden, "credentials not accepted"
}

// eventList is the envelope of the webhook backend's requests.
type eventList struct {
	Kind       string            `json:"kind"`
	APIVersion string            `json:"apiVersion"`
	Items      []json.RawMessage `json:"items"`
}

func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if code, why := w.authenticate(r); code != 0 {
		w.opts.Log.Warn("audit webhook: request refused", "status", code, "remote", r.RemoteAddr, "reason", why)
		if code == http.StatusUnauthorized {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="kubeharden-audit"`)
		}
		http.Error(rw, "kubeharden audit webhook: "+why, code)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(rw, "kubeharden audit webhook: only POST is supported", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(rw, fmt.Sprintf("kubeharden audit webhook: EventList exceeds the limit of %d bytes", tooLarge.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(rw, "kubeharden audit webhook: reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	n, bad, err := w.Receive(body)
	if err != nil {
		w.opts.Log.Warn("audit webhook: bad request", "error", err)
		http.Error(rw, "kubeharden audit webhook: "+err.Error(), http.StatusBadRequest)
		return
	}
	if bad > 0 {
		w.opts.Log.Warn("audit webhook: undecodable events skipped", "events", n, "undecodable", bad)
	}
	rw.WriteHeader(http.StatusOK)
}

// Receive processes one EventList body and returns how many events it
// held and how many of them did not decode.
func (w *Webhook) Receive(body []byte) (events, bad int, err error) {
	var list eventList
	if err := json.Unmarshal(body, &list); err != nil {
		return 0, 0, fmt.Errorf("the body is not an EventList: %v", err)
	}
	if list.APIVersion != "audit.k8s.io/v1" || list.Kind != "EventList" {
		return 0, 0, fmt.Errorf("expected apiVersion audit.k8s.io/v1, kind EventList; got apiVersion %q, kind %q", list.APIVersion, list.Kind)
	}
	dec := w.dec.Get().(*Decoder)
	defer w.dec.Put(dec)
	w.mu.Lock()
	defer w.mu.Unlock()
	var e Event
	for _, item := range list.Items {
		if err := dec.Decode(bytes.TrimSpace(item), &e); err != nil {
			bad++
			continue
		}
		events++
		if w.opts.Metrics != nil {
			w.opts.Metrics.Event()
		}
		w.opts.Detector.Process(&e, func(a *Alert) {
			if w.opts.Metrics != nil {
				w.opts.Metrics.Alert(a)
			}
			w.opts.Alert(a)
		})
	}
	return events, bad, nil
}
