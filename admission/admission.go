// Package admission is kubeharden's validating admission webhook: an
// http.Handler answering admission.k8s.io/v1 AdmissionReviews by
// evaluating the object under review with an engine.Engine, one object at
// a time, and denying it when a finding is at or above a severity.
//
// The contract with the API server: a request that is an AdmissionReview
// gets HTTP 200 and a review whose response carries the request's UID,
// allowing or denying. A request that is not one (wrong method or content
// type, too large, not JSON, not admission.k8s.io/v1, no request or UID)
// gets a 4xx status with a plain-text message: there is no UID to answer
// to, and the API server treats it as a failed call, which the webhook's
// failurePolicy decides. An object the review carries but kubeharden
// cannot decode is denied with the reason (code 400): kubeharden cannot
// vouch for it.
//
// With Options.Ratchet, existing workloads keep working: an UPDATE is
// denied only for findings its old object did not have, and objects the
// built-in controllers make from an owner's template are not denied (see
// ratchet.go).
package admission

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"github.com/kubeharden/kubeharden/check"
	"github.com/kubeharden/kubeharden/engine"
	"github.com/kubeharden/kubeharden/inventory"
	"github.com/kubeharden/kubeharden/kinds"
	"github.com/kubeharden/kubeharden/report"
)

// Limits of what a response says, so that it stays readable and within
// what the API server passes on (it truncates warnings over 256
// characters and drops some when there are many).
const (
	maxListed      = 20  // findings named in a denial, warnings per response
	maxWarningLen  = 256 // characters per warning
	maxMessagePart = 200 // characters per finding message in a denial
)

// Options configure a Handler.
type Options struct {
	// Engine evaluates the objects. Until it is set (Handler.SetEngine),
	// the handler answers 503: the server is not ready.
	Engine *engine.Engine
	// DenySeverity denies an object with a finding at or above it; findings
	// below it come back as warnings. Zero means check.High.
	DenySeverity check.Severity
	// ExemptNamespaces are never denied nor evaluated (kube-system, the
	// webhook's own namespace): a broken webhook must not be able to block
	// its own repair or the control plane's add-ons.
	ExemptNamespaces []string
	// Ratchet keeps existing workloads working (see ratchet.go): on
	// UPDATE, deny-level findings the old object already had are warnings,
	// and objects the built-in controllers create from their owner's
	// template are not denied. Off, every request is judged in full.
	Ratchet bool
	// ControllerUsers are the user names of the controllers whose creates
	// of owned objects are ratcheted; nil means DefaultControllerUsers.
	ControllerUsers []string
	// MaxConcurrent bounds the reviews decoded and evaluated at once
	// (zero: twice GOMAXPROCS, at least 4); the others wait.
	MaxConcurrent int
	// Log receives one line per denial and per malformed request.
	Log *slog.Logger
}

// Handler serves POST /validate.
type Handler struct {
	opts        Options
	exempt      map[string]bool
	controllers map[string]bool
	slots       chan struct{}
	eng         atomic.Pointer[engine.Engine]
}

// NewHandler returns a handler.
func NewHandler(opts Options) *Handler {
	if opts.DenySeverity == 0 {
		opts.DenySeverity = check.High
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = max(4, 2*runtime.GOMAXPROCS(0))
	}
	h := &Handler{opts: opts, exempt: map[string]bool{}, controllers: map[string]bool{}, slots: make(chan struct{}, opts.MaxConcurrent)}
	for _, ns := range opts.ExemptNamespaces {
		if ns != "" {
			h.exempt[ns] = true
		}
	}
	if opts.ControllerUsers == nil {
		opts.ControllerUsers = DefaultControllerUsers
	}
	for _, u := range opts.ControllerUsers {
		h.controllers[u] = true
	}
	if opts.Engine != nil {
		h.SetEngine(opts.Engine)
	}
	return h
}

// SetEngine makes the handler ready, with this engine.
func (h *Handler) SetEngine(e *engine.Engine) { h.eng.Store(e) }

// Ready returns nil once the handler has an engine: a readiness check.
func (h *Handler) Ready() error {
	if h.eng.Load() == nil {
		return errors.New("the check engine is not compiled yet")
	}
	return nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		h.fail(w, http.StatusMethodNotAllowed, "only POST is supported, got %s", r.Method)
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		h.fail(w, http.StatusUnsupportedMediaType, "content type must be application/json, got %q", r.Header.Get("Content-Type"))
		return
	}
	eng := h.eng.Load()
	if eng == nil {
		h.fail(w, http.StatusServiceUnavailable, "not ready: the check engine is not compiled yet")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.fail(w, http.StatusRequestEntityTooLarge, "AdmissionReview exceeds the limit of %d bytes", tooLarge.Limit)
			return
		}
		h.fail(w, http.StatusBadRequest, "reading the request: %v", err)
		return
	}
	// At most MaxConcurrent reviews are decoded and evaluated at once; the
	// others wait here, so an overload queues instead of slowing every
	// review down, and a review the API server has given up on (its
	// timeout) is not evaluated at all. The body is read first: under
	// HTTP/2, bodies left unread would hold the connection's flow-control
	// window and could starve the reviews that hold a slot.
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-r.Context().Done():
		h.fail(w, http.StatusServiceUnavailable, "overloaded: the request was cancelled while waiting (%v)", context.Cause(r.Context()))
		return
	}
	if err := r.Context().Err(); err != nil {
		h.fail(w, http.StatusServiceUnavailable, "the request was cancelled before it was evaluated (%v)", err)
		return
	}
	review, err := parseReview(body)
	if err != nil {
		h.fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	resp := h.Review(eng, review.Request)
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	b, err := utiljson.Marshal(&out)
	if err != nil {
		h.fail(w, http.StatusInternalServerError, "encoding the response: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (h *Handler) fail(w http.ResponseWriter, code int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	h.opts.Log.Warn("bad admission request", "status", code, "error", msg)
	http.Error(w, "kubeharden admission webhook: "+msg, code)
}

// parseReview decodes and validates the envelope.
func parseReview(body []byte) (*admissionv1.AdmissionReview, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("empty request body: expected an admission.k8s.io/v1 AdmissionReview")
	}
	var review admissionv1.AdmissionReview
	if err := utiljson.Unmarshal(body, &review); err != nil {
		return nil, fmt.Errorf("the body is not an AdmissionReview: %v", err)
	}
	switch {
	case review.APIVersion != admissionv1.SchemeGroupVersion.String() || review.Kind != "AdmissionReview":
		return nil, fmt.Errorf("expected apiVersion %s, kind AdmissionReview; got apiVersion %q, kind %q (set admissionReviewVersions: [v1])",
			admissionv1.SchemeGroupVersion, review.APIVersion, review.Kind)
	case review.Request == nil:
		return nil, errors.New("the AdmissionReview has no request")
	case review.Request.UID == "":
		return nil, errors.New("the AdmissionReview request has no uid")
	}
	return &review, nil
}

// Review decides one admission request.
func (h *Handler) Review(eng *engine.Engine, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	resp := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	switch {
	case h.exempt[req.Namespace]:
		return resp
	case req.Operation != admissionv1.Create && req.Operation != admissionv1.Update:
		return resp // DELETE, CONNECT: nothing new enters the cluster
	case req.SubResource != "" && req.SubResource != "ephemeralcontainers":
		// status, scale, binding...: not the object's security settings,
		// and a denial would block kubelets and controllers.
		return resp
	case len(req.Object.Raw) == 0:
		return resp
	}
	o, err := Decode(req)
	if err != nil {
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest,
			Message: "kubeharden cannot decode the object: " + err.Error()}
		h.opts.Log.Warn("undecodable object", "uid", string(req.UID), "kind", req.Kind.Kind, "error", err)
		return resp
	}
	if o.Meta.DeletionTimestamp != nil {
		return resp // finalizers being removed: never block a deletion
	}
	v := eng.Evaluate(o)
	var deny, warn []*report.Finding
	for _, f := range v.Findings {
		if f.Check.Severity >= h.opts.DenySeverity {
			deny = append(deny, f)
		} else {
			warn = append(warn, f)
		}
	}
	// Ratcheting: deny-level findings that were already there, or that a
	// built-in controller copies from an admitted template, are warnings.
	var kept []string
	if len(deny) > 0 && h.opts.Ratchet {
		if owner, ok := h.fromTemplate(req, o.Meta); ok {
			for _, f := range deny {
				kept = append(kept, warning(f, "from the template of "+owner))
			}
			deny = nil
		} else if req.Operation == admissionv1.Update && len(req.OldObject.Raw) > 0 {
			var err error
			if deny, kept, err = h.ratchet(eng, req, o, deny); err != nil {
				// The old object is the API server's stored copy: if it does
				// not decode, nothing is known to pre-exist.
				h.opts.Log.Warn("old object undecodable: not ratcheting", "uid", string(req.UID), "kind", req.Kind.Kind, "error", err)
			}
		}
		if len(kept) > 0 && len(deny) == 0 {
			h.opts.Log.Info("allowed with pre-existing findings", "object", o.Ref.String(), "operation", string(req.Operation), "user", req.UserInfo.Username, "findings", len(kept))
		}
	}
	all := kept
	for _, f := range warn {
		all = append(all, warning(f, ""))
	}
	for i, w := range all {
		if i == maxListed {
			resp.Warnings = append(resp.Warnings, fmt.Sprintf("kubeharden: %d more findings", len(all)-i))
			break
		}
		resp.Warnings = append(resp.Warnings, w)
	}
	if len(deny) == 0 {
		return resp
	}
	resp.Allowed = false
	resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden,
		Message: denial(o, deny, h.opts.DenySeverity)}
	mode := ""
	if req.DryRun != nil && *req.DryRun {
		mode = " (dry run)"
	}
	h.opts.Log.Info("denied"+mode, "object", o.Ref.String(), "operation", string(req.Operation), "user", req.UserInfo.Username, "findings", len(deny))
	return resp
}

// warning is how a finding is returned when it does not deny; pre, when
// set, says why a deny-level finding was let through.
func warning(f *report.Finding, pre string) string {
	if pre != "" {
		return truncate(fmt.Sprintf("kubeharden %s (%s, pre-existing, %s) at %s: %s", f.Check.ID, f.Check.Severity, pre, f.Location.Path, f.Message), maxWarningLen)
	}
	return truncate(fmt.Sprintf("kubeharden %s (%s) at %s: %s", f.Check.ID, f.Check.Severity, f.Location.Path, f.Message), maxWarningLen)
}

// ratchet splits the deny-level findings of an UPDATE into those the old
// object did not have (still denying) and warnings for those it had.
func (h *Handler) ratchet(eng *engine.Engine, req *admissionv1.AdmissionRequest, o *inventory.Object, deny []*report.Finding) (still []*report.Finding, kept []string, err error) {
	old, err := decode(req, req.OldObject.Raw)
	if err != nil {
		return deny, nil, err
	}
	before := map[identity]bool{}
	on := newNamer(old)
	for _, f := range eng.Evaluate(old).Findings {
		before[on.identity(f)] = true
	}
	nn := newNamer(o)
	for _, f := range deny {
		if before[nn.identity(f)] {
			kept = append(kept, warning(f, "not denied on update"))
		} else {
			still = append(still, f)
		}
	}
	return still, kept, nil
}

// denial is the message of a denied request: the API server shows it to
// the user after "admission webhook ... denied the request: ".
func denial(o *inventory.Object, fs []*report.Finding, at check.Severity) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kubeharden: %s has %d finding(s) at or above %s severity:", o.Ref.String(), len(fs), at)
	for i, f := range fs {
		if i == maxListed {
			fmt.Fprintf(&b, "; and %d more", len(fs)-i)
			break
		}
		fmt.Fprintf(&b, " [%s (%s) at %s: %s]", f.Check.ID, f.Check.Severity, f.Location.Path, truncate(f.Message, maxMessagePart))
	}
	b.WriteString(" (see 'kubeharden explain CHECK-ID'; to exempt the object, set the kubeharden.io/ignore and kubeharden.io/ignore-reason annotations)")
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// Decode turns the object of an admission request into an inventory
// object of origin "admission": a kind of the kinds registry decodes into
// its Go type, any other kind whose spec.template is a pod template into
// inventory.TemplateWorkload, anything else keeps only its metadata.
func Decode(req *admissionv1.AdmissionRequest) (*inventory.Object, error) {
	return decode(req, req.Object.Raw)
}

// decode decodes raw, the object or the old object of req.
func decode(req *admissionv1.AdmissionRequest, raw []byte) (*inventory.Object, error) {
	gvk := req.Kind
	apiVersion := gvk.Version
	if gvk.Group != "" {
		apiVersion = gvk.Group + "/" + gvk.Version
	}
	var (
		typed any
		meta  *metav1.ObjectMeta
	)
	if t := kinds.Lookup(gvk.Group, gvk.Kind); t != nil && !t.Synthetic {
		typed, meta = t.New()
		if err := utiljson.Unmarshal(raw, typed); err != nil {
			return nil, fmt.Errorf("%s does not decode as %s: %v", gvk.Kind, apiVersion, err)
		}
	} else {
		w := &inventory.TemplateWorkload{}
		if err := utiljson.Unmarshal(raw, w); err != nil {
			return nil, fmt.Errorf("%s does not decode as %s: %v", gvk.Kind, apiVersion, err)
		}
		meta = &w.ObjectMeta
		if w.Spec.Template != nil && len(w.Spec.Template.Spec.Containers) > 0 {
			typed = w
		}
	}
	if meta.Namespace == "" {
		meta.Namespace = req.Namespace // a create's object may not carry it yet
	}
	name := meta.Name
	if name == "" {
		name = req.Name
	}
	if name == "" && meta.GenerateName != "" {
		name = meta.GenerateName + "*"
	}
	return &inventory.Object{
		Ref:    inventory.Ref{APIVersion: apiVersion, Kind: gvk.Kind, Namespace: meta.Namespace, Name: name},
		Origin: inventory.Origin{Source: inventory.SourceAdmission, UID: string(meta.UID), ResourceVersion: meta.ResourceVersion},
		Meta:   meta,
		Typed:  typed,
	}, nil
}
