package sip

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	mTLSReloads = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "tls_certificate_reloads_total",
		Help: "Times the SIP TLS certificate files changed, by result: ok (in use), failed (the previous one kept).",
	}, []string{"result"})
	mTLSExpiry = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "tls_certificate_expiry_timestamp_seconds",
		Help: "When the SIP TLS certificate in use expires (Unix time): alert well before it.",
	})
)

// TLSConfig is SIP over TLS (RFC 3261 §26.2): where it listens and with which certificate.
type TLSConfig struct {
	Addr     string // host:port; "" is the SIP host on port 5061
	CertFile string // PEM certificate chain, leaf first
	KeyFile  string // PEM private key
	// CAFile verifies the peers hotline dials over TLS (a trunk); "" uses the system's roots.
	CAFile string
}

// tlsAddr is where the TLS listener binds: Config.TLS.Addr, or the SIP host on 5061.
func (c Config) tlsAddr() string {
	if c.TLS.Addr != "" {
		return c.TLS.Addr
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	return net.JoinHostPort(host, "5061")
}

// hasTransport says whether tr (udp, tcp, tls) is one of the configured transports.
func (c Config) hasTransport(tr string) bool { return slices.Contains(c.Transports, tr) }

// certReloader serves the certificate in a pair of PEM files and picks up a new one when the
// files change (a renewal by certbot or cert-manager), without a restart and without dropping
// the connections that are up. A renewal that cannot be read (half written, key not matching)
// keeps the certificate in use and says why; the next change is tried again.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time
	every             time.Duration // how often a handshake may look at the files

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string // the files' sizes and modification times when cert was read
	checked time.Time
}

// newCertReloader reads the pair once: a certificate that cannot be loaded at start is a
// configuration error, not something to find at the first caller's handshake.
func newCertReloader(certFile, keyFile string, log *slog.Logger, now func() time.Time) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log, now: now, every: time.Second}
	cert, stamp, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cert, r.stamp, r.checked = cert, stamp, now()
	r.report()
	return r, nil
}

func (r *certReloader) load() (*tls.Certificate, string, error) {
	stamp, err := r.fileStamp()
	if err != nil {
		return nil, "", err
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("sip.tls: certificate %s with key %s: %w", r.certFile, r.keyFile, err)
	}
	if cert.Leaf == nil && len(cert.Certificate) > 0 {
		cert.Leaf, _ = x509.ParseCertificate(cert.Certificate[0])
	}
	return &cert, stamp, nil
}

func (r *certReloader) fileStamp() (string, error) {
	var stamp string
	for _, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("sip.tls: %w", err)
		}
		stamp += strconv.FormatInt(fi.Size(), 10) + "@" + strconv.FormatInt(fi.ModTime().UnixNano(), 10) + ";"
	}
	return stamp, nil
}

// GetCertificate is tls.Config's hook: the current certificate, reloaded first if its files
// changed (looked at no more than once a second, so a handshake flood costs no file I/O).
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := r.now(); now.Sub(r.checked) >= r.every {
		r.checked = now
		if stamp, err := r.fileStamp(); err == nil && stamp != r.stamp {
			cert, stamp, err := r.load()
			if err != nil {
				r.stamp = stamp // not again until the files change once more
				mTLSReloads.WithLabelValues("failed").Inc()
				r.log.Error("TLS certificate changed but cannot be used: keeping the previous one", "error", err)
			} else {
				r.cert, r.stamp = cert, stamp
				mTLSReloads.WithLabelValues("ok").Inc()
				r.report()
			}
		}
	}
	return r.cert, nil
}

// report logs and exports what certificate is in use: its subject and when it expires.
func (r *certReloader) report() {
	if r.cert.Leaf == nil {
		return
	}
	mTLSExpiry.Set(float64(r.cert.Leaf.NotAfter.Unix()))
	r.log.Info("TLS certificate loaded", "subject", r.cert.Leaf.Subject.String(),
		"not_after", r.cert.Leaf.NotAfter.UTC().Format(time.RFC3339), "file", r.certFile)
}

// tlsSetup is the server-side TLS configuration (the certificate, reloaded) and the one
// used to dial TLS peers.
func (s *Server) tlsSetup() (server, dial *tls.Config, err error) {
	r, err := newCertReloader(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile, s.log, s.now)
	if err != nil {
		return nil, nil, err
	}
	server = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
	dial = &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLS.CAFile != "" {
		pem, err := os.ReadFile(s.cfg.TLS.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("sip.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, errors.New("sip.tls.ca_file: no PEM certificate in " + s.cfg.TLS.CAFile)
		}
		dial.RootCAs = pool
	}
	return server, dial, nil
}

// dialogUAs are the dialog user agents hotline uses, by how a peer is reached.
type dialogUAs struct {
	plain *sipgo.DialogUA // in-dialog requests follow the peer's Contact
	nat   *sipgo.DialogUA // in-dialog requests go where the peer's messages come from
	// tls is for peers on a TLS connection: hotline's Contact says transport=tls, and
	// requests go back over the connection the peer opened (a phone does not accept TLS
	// connections; RFC 5923's reuse, as Asterisk's rewrite_contact and Kamailio do).
	tls *sipgo.DialogUA
}

func (s *Server) newDialogUAs() dialogUAs {
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "hotline", Host: s.ip.String(), Port: s.port}}
	_, tlsPort, _ := net.SplitHostPort(s.cfg.tlsAddr())
	port, _ := strconv.Atoi(tlsPort)
	secure := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "hotline", Host: s.ip.String(), Port: port,
		UriParams: sip.HeaderParams{{K: "transport", V: "tls"}}}}
	return dialogUAs{
		plain: &sipgo.DialogUA{Client: s.client, ContactHDR: contact},
		nat:   &sipgo.DialogUA{Client: s.client, ContactHDR: contact, RewriteContact: true},
		tls:   &sipgo.DialogUA{Client: s.client, ContactHDR: secure, RewriteContact: true},
	}
}

// isTLS says whether a request came over TLS.
func isTLS(req *sip.Request) bool { return req.Transport() == "TLS" }
