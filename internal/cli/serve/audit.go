package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/kubeharden/kubeharden/auditevent"
	"github.com/kubeharden/kubeharden/internal/cli/audit"
	"github.com/kubeharden/kubeharden/internal/cli/cmdutil"
	"github.com/kubeharden/kubeharden/server"
)

// startAuditWebhook registers the audit webhook backend's endpoint,
// /audit: EventLists from the API server, authenticated by client
// certificate (--audit-webhook-client-ca) or bearer token
// (--audit-webhook-token-file). Alerts go to standard output as JSON
// lines; the counters to /metrics.
func startAuditWebhook(f *flags) func(context.Context, *env, *server.Server, chan<- error) error {
	return func(_ context.Context, e *env, srv *server.Server, _ chan<- error) error {
		if f.auditWebhookClientCA == "" && f.auditWebhookTokenFile == "" {
			return cmdutil.Usage("--audit-webhook needs --audit-webhook-client-ca or --audit-webhook-token-file: only the API server may send events")
		}
		opts, err := audit.DetectorOptions(f.config)
		if err != nil {
			return err
		}
		det, err := auditevent.New(opts)
		if err != nil {
			return &cmdutil.ExitError{Code: 2, Err: err}
		}
		wo := auditevent.WebhookOptions{Detector: det, Log: e.log.With("component", "audit-webhook"), Metrics: auditevent.NewMetrics()}
		if f.auditWebhookClientCA != "" {
			if wo.ClientCAs, err = auditevent.ReadCAs(f.auditWebhookClientCA); err != nil {
				return &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("--audit-webhook-client-ca: %w", err)}
			}
			srv.RequestClientCerts()
		}
		if f.auditWebhookTokenFile != "" {
			if wo.Tokens, err = auditevent.ReadTokens(f.auditWebhookTokenFile); err != nil {
				return &cmdutil.ExitError{Code: 2, Err: fmt.Errorf("--audit-webhook-token-file: %w", err)}
			}
		}
		out := f.auditOut
		if out == nil {
			out = io.Discard
		}
		var mu sync.Mutex
		wo.Alert = func(a *auditevent.Alert) {
			b, err := json.Marshal(a)
			if err != nil {
				return
			}
			mu.Lock()
			out.Write(append(b, '\n'))
			mu.Unlock()
		}
		h, err := auditevent.NewWebhook(wo)
		if err != nil {
			return &cmdutil.ExitError{Code: 2, Err: err}
		}
		srv.Handle("/audit", h)
		e.metrics.Register(wo.Metrics.Collect)
		e.log.Info("audit webhook ready", "rules", len(det.Rules()), "client-ca", f.auditWebhookClientCA != "", "token", f.auditWebhookTokenFile != "")
		return nil
	}
}
