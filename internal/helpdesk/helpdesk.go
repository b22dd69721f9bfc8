// Package helpdesk is a helpdesk's webhook endpoint for tests: it refuses deliveries (503)
// until told to accept them, then checks each one's signature and keeps its body. It is for
// tests only.
package helpdesk

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hotline-cc/hotline/customers"
)

// Helpdesk is a running webhook endpoint; URL is where hotline's webhooks.url points.
type Helpdesk struct {
	URL    string
	accept atomic.Bool
	mu     sync.Mutex
	bodies []string
}

// New starts an endpoint that verifies deliveries with secret; it is closed with the test.
func New(t testing.TB, secret string) *Helpdesk {
	h := &Helpdesk{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !h.accept.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if err := customers.VerifySignature(secret, body, r.Header.Get("X-Hotline-Signature")); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, string(body))
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// Accept makes the endpoint take deliveries from now on (it refuses them until then).
func (h *Helpdesk) Accept() { h.accept.Store(true) }

// Delivered is every accepted delivery's body, joined by newlines.
func (h *Helpdesk) Delivered() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.bodies, "\n")
}
