package customers

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"
)

// helpdesk is a webhook receiver that counts, per delivery ID (the idempotency key), the
// requests it received and the ones it accepted; it refuses each ID's first request when
// flaky.
type helpdesk struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string]int
	accepted map[string]int
}

func newHelpdesk(e *env, flaky bool) *helpdesk {
	h := &helpdesk{requests: map[string]int{}, accepted: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		id := r.Header.Get(HeaderDelivery)
		h.mu.Lock()
		h.requests[id]++
		first := h.requests[id] == 1
		if !flaky || !first {
			h.accepted[id]++
		}
		h.mu.Unlock()
		if flaky && first {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	e.Cleanup(h.Close)
	return h
}

func (h *helpdesk) counts() (requests, accepted map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.requests), maps.Clone(h.accepted)
}

// Two nodes deliver one outbox at the same time: every webhook is accepted exactly once, and
// no retry goes out before its backoff, also when the other node made the failed attempt.
func testWebhookTwoDeliverers(e *env) {
	const n = 40
	for i := range n {
		_, err := e.s.CreateTicket(e.ctx, NewTicket{Subject: "ticket " + strconv.Itoa(i)})
		e.must(err)
	}
	desk := newHelpdesk(e, true)
	var ds []*Deliverer
	for _, node := range []string{"node-a", "node-b"} {
		s := e.open(WithNode(node))
		ds = append(ds, NewDeliverer(s, desk.URL, "k", WithDeliveryClock(e.clk.Now), WithDeliveryBackoff(10*time.Second, time.Minute)))
	}
	round := func() {
		var wg sync.WaitGroup
		for _, d := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 { // more than once: a row the other node failed must wait for its backoff
					if _, err := d.DeliverDue(e.ctx); err != nil {
						e.Errorf("deliver: %v", err)
					}
				}
			}()
		}
		wg.Wait()
	}
	round()
	requests, accepted := desk.counts()
	if len(requests) != n || len(accepted) != 0 {
		e.Fatalf("first round: %d webhooks tried, %d accepted; want all %d tried once and refused", len(requests), len(accepted), n)
	}
	for id, c := range requests {
		if c != 1 {
			e.Errorf("delivery %s was tried %d times before its backoff, want once", id, c)
		}
	}
	e.clk.Advance(10 * time.Second)
	round()
	requests, accepted = desk.counts()
	for id, c := range requests {
		if c != 2 || accepted[id] != 1 {
			e.Errorf("delivery %s: %d requests, %d accepted; want 2 and 1", id, c, accepted[id])
		}
	}
	if p, _ := e.s.PendingDeliveries(e.ctx); p != 0 || len(accepted) != n {
		e.Errorf("%d pending, %d of %d accepted", p, len(accepted), n)
	}
}

// stuck is an HTTP client whose request hangs until the test lets it go: a deliverer that
// stopped mid-request.
type stuck struct {
	in      chan struct{}
	release chan error
}

func (s *stuck) Do(*http.Request) (*http.Response, error) {
	s.in <- struct{}{}
	return nil, <-s.release
}

// A deliverer that stops mid-request holds its row only for its lease: then another node
// delivers it, once. The stuck one, when it wakes and fails, leaves the delivered row alone.
func testWebhookHandover(e *env) {
	_, err := e.s.CreateTicket(e.ctx, NewTicket{Subject: "handover"})
	e.must(err)
	desk := newHelpdesk(e, false)
	client := &stuck{in: make(chan struct{}), release: make(chan error)}
	a := NewDeliverer(e.open(WithNode("node-a")), desk.URL, "k", WithDeliveryClock(e.clk.Now), WithHTTPClient(client),
		WithDeliveryTimeout(time.Hour))
	b := NewDeliverer(e.open(WithNode("node-b")), desk.URL, "k", WithDeliveryClock(e.clk.Now), WithDeliveryTimeout(10*time.Second))
	done := make(chan error)
	go func() { _, err := a.DeliverDue(e.ctx); done <- err }()
	<-client.in // node a is sending
	if n, err := b.DeliverDue(e.ctx); err != nil || n != 0 {
		e.Fatalf("node b delivered %d (%v) while node a holds the lease, want 0", n, err)
	}
	e.clk.Advance(time.Hour + leaseMargin + time.Second)
	if n, err := b.DeliverDue(e.ctx); err != nil || n != 1 {
		e.Fatalf("node b delivered %d (%v) after node a's lease, want 1", n, err)
	}
	client.release <- errors.New("connection reset")
	if err := <-done; err != nil {
		e.Fatal(err)
	}
	_, accepted := desk.counts()
	if len(accepted) != 1 {
		e.Errorf("accepted %v, want the one webhook once", accepted)
	}
	var attempts int
	var lastErr string
	e.must(e.s.r().row(context.Background(), "SELECT attempts, last_error FROM outbox").Scan(&attempts, &lastErr))
	if attempts != 1 || lastErr != "" {
		e.Errorf("the delivered row: %d attempts, last error %q; the stuck node's failure must not be written over it", attempts, lastErr)
	}
	if p, _ := e.s.PendingDeliveries(e.ctx); p != 0 {
		e.Errorf("%d pending", p)
	}
}
