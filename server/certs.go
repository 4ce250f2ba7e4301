package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, the certificate files are
// looked at again (on a handshake).
const certCheckInterval = time.Second

// CertReloader serves a certificate and key from files and reads them
// again when either file's modification time or size changes (a renewed
// Secret mounted into the pod, cert-manager...), without a restart. A
// pair that does not load (the certificate renewed, the key not yet) keeps
// the previous one in service until both agree.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     [2]fileStamp
	lastCheck time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// NewCertReloader loads the pair once: it must be valid to start.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	st, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading the TLS certificate: %w", err)
	}
	r.cert, r.stamp, r.lastCheck = &cert, st, time.Now()
	return r, nil
}

func (r *CertReloader) stat() ([2]fileStamp, error) {
	var st [2]fileStamp
	for i, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return st, fmt.Errorf("TLS certificate: %w", err)
		}
		st[i] = fileStamp{fi.ModTime(), fi.Size()}
	}
	return st, nil
}

// GetCertificate is for tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.lastCheck) >= certCheckInterval {
		r.lastCheck = now
		r.reload()
	}
	return r.cert, nil
}

// Reload looks at the files now, whatever the interval.
func (r *CertReloader) Reload() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastCheck = time.Now()
	r.reload()
}

func (r *CertReloader) reload() {
	st, err := r.stat()
	if err != nil {
		r.log.Warn("keeping the current TLS certificate", "error", err)
		return
	}
	if st == r.stamp {
		return
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Warn("keeping the current TLS certificate: the new files do not load", "error", err)
		return
	}
	r.cert, r.stamp = &cert, st
	r.log.Info("TLS certificate reloaded", "file", r.certFile)
}
