package customers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookServer is a helpdesk: it verifies each delivery's signature and answers from a script
// (then 200 when the script runs out).
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	script   []int
	got      []delivery
	received chan struct{}
}

type delivery struct {
	id, event string
	body      []byte
	sigErr    error
}

func newHookServer(t testing.TB, secret string, script ...int) *hookServer {
	h := &hookServer{script: script, received: make(chan struct{}, 100)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, delivery{r.Header.Get(HeaderDelivery), r.Header.Get(HeaderEvent), body,
			VerifySignature(secret, body, r.Header.Get(HeaderSignature))})
		code := http.StatusOK
		if len(h.script) > 0 {
			code, h.script = h.script[0], h.script[1:]
		}
		h.mu.Unlock()
		w.WriteHeader(code)
		h.received <- struct{}{}
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) deliveries() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.got...)
}

func testWebhookDelivery(e *env) {
	const secret = "s3cret"
	srv := newHookServer(e, secret, 500, 503)
	tk, err := e.s.CreateTicket(e.ctx, NewTicket{Subject: "call me"})
	e.must(err)
	d := NewDeliverer(e.s, srv.URL, secret, WithDeliveryClock(e.clk.Now), WithDeliveryBackoff(10*time.Second, time.Hour))

	n, err := d.DeliverDue(e.ctx) // 500
	e.must(err)
	if n != 0 {
		e.Fatal("a 500 counted as delivered")
	}
	if n, _ := d.DeliverDue(e.ctx); n != 0 || len(srv.deliveries()) != 1 {
		e.Fatal("retried before the backoff")
	}
	e.clk.Advance(10 * time.Second)
	d.DeliverDue(e.ctx) // 503
	e.clk.Advance(19 * time.Second)
	if d.DeliverDue(e.ctx); len(srv.deliveries()) != 2 {
		e.Fatal("the second backoff did not double")
	}
	e.clk.Advance(time.Second)
	n, err = d.DeliverDue(e.ctx) // 200
	e.must(err)
	if n != 1 {
		e.Fatalf("third attempt delivered %d", n)
	}
	got := srv.deliveries()
	if len(got) != 3 {
		e.Fatalf("%d requests, want 3", len(got))
	}
	for i, g := range got {
		if g.sigErr != nil {
			e.Errorf("request %d: signature: %v", i+1, g.sigErr)
		}
		if g.id != got[0].id || g.event != EventTicketCreated || string(g.body) != string(got[0].body) {
			e.Errorf("request %d: %s %s; every retry carries the same delivery ID and body", i+1, g.id, g.event)
		}
	}
	w, err := ParseWebhook(got[0].body)
	e.must(err)
	if w.ID != got[0].id || w.Ticket.ID != tk.ID || w.Ticket.Number != tk.Number {
		e.Errorf("body: %s", got[0].body)
	}
	// A wrong secret does not verify.
	if err := VerifySignature("other", got[0].body, Sign(secret, got[0].body)); !errors.Is(err, ErrBadSignature) {
		e.Errorf("wrong secret: %v", err)
	}
	if n, _ := e.s.PendingDeliveries(e.ctx); n != 0 {
		e.Errorf("%d deliveries pending after success", n)
	}
	e.clk.Advance(time.Hour)
	if d.DeliverDue(e.ctx); len(srv.deliveries()) != 3 {
		e.Error("a delivered webhook was sent again")
	}
}

func testWebhookRestart(e *env) {
	const secret = "k"
	down := newHookServer(e, secret, 502)
	_, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", Outcome: OutcomeNoAgent})
	e.must(err)
	d := NewDeliverer(e.s, down.URL, secret, WithDeliveryClock(e.clk.Now))
	d.DeliverDue(e.ctx)
	// A second row is leased by a deliverer that then dies, mid-request.
	_, err = e.s.CreateTicket(e.ctx, NewTicket{Subject: "while down"})
	e.must(err)
	_, err = e.s.r().exec(e.ctx, "UPDATE outbox SET lease_until = ? WHERE event = ?", ms(e.clk.Now().Add(50*time.Second)), EventTicketCreated)
	e.must(err)
	e.must(e.s.Close())

	// The process restarts: a new store on the same database resumes the outbox.
	s2 := e.open()
	if n, _ := s2.PendingDeliveries(e.ctx); n != 2 {
		e.Fatalf("%d pending after the restart, want 2", n)
	}
	up := newHookServer(e, secret)
	d2 := NewDeliverer(s2, up.URL, secret, WithDeliveryClock(e.clk.Now))
	e.clk.Advance(10 * time.Second)
	if n, _ := d2.DeliverDue(e.ctx); n != 1 {
		e.Fatalf("delivered %d after the backoff, want the failed one only (the other is leased)", n)
	}
	e.clk.Advance(time.Minute)
	if n, _ := d2.DeliverDue(e.ctx); n != 1 {
		e.Fatalf("delivered %d after the dead deliverer's lease, want 1", n)
	}
	got := up.deliveries()
	if len(got) != 2 || got[0].event != EventContactMissed || got[1].event != EventTicketCreated {
		e.Errorf("after restart: %+v", got)
	}
	if n, _ := s2.PendingDeliveries(e.ctx); n != 0 {
		e.Errorf("%d still pending", n)
	}
}

// testWebhookRun runs the deliverer goroutine on the real clock: a committed ticket is
// delivered at once, and Run stops with its context.
func testWebhookRun(e *env) {
	s := e.open(WithClock(time.Now))
	srv := newHookServer(e, "x", 500)
	d := NewDeliverer(s, srv.URL, "x", WithDeliveryBackoff(20*time.Millisecond, time.Second), WithDeliveryPoll(time.Hour))
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	_, err := s.CreateTicket(e.ctx, NewTicket{Subject: "run"})
	e.must(err)
	for i := 0; i < 2; i++ {
		select {
		case <-srv.received:
		case <-time.After(5 * time.Second):
			e.Fatalf("delivery %d did not arrive", i+1)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := s.PendingDeliveries(e.ctx); n != 0 && time.Now().Before(deadline); n, _ = s.PendingDeliveries(e.ctx) {
		time.Sleep(5 * time.Millisecond)
	}
	if n, _ := s.PendingDeliveries(e.ctx); n != 0 {
		e.Errorf("%d pending after the retry succeeded", n)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			e.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		e.Fatal("Run did not stop with its context")
	}
}

func TestSignatureVector(t *testing.T) {
	// RFC 4231 test case 2.
	got := Sign("Jefe", []byte("what do ya want for nothing?"))
	if got != "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Errorf("Sign = %s", got)
	}
	for _, h := range []string{"", "sha1=abc", "sha256=zz", "sha256=5bdc", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"} {
		if err := VerifySignature("Jefe", []byte("what do ya want for nothing?"), h); !errors.Is(err, ErrBadSignature) {
			t.Errorf("header %q: %v, want ErrBadSignature", h, err)
		}
	}
}

// FuzzVerifySignature: the signature header comes from whoever calls the receiver. Only the
// body's true HMAC verifies, and it always does.
func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte(`{"id":"1"}`), "sha256=00")
	f.Add([]byte(""), Sign("k", nil))
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		if VerifySignature("k", body, header) == nil && !strings.EqualFold(strings.TrimSpace(header), Sign("k", body)) {
			t.Fatalf("header %q verified for a body it does not sign", header)
		}
		if err := VerifySignature("k", body, Sign("k", body)); err != nil {
			t.Fatalf("the true signature does not verify: %v", err)
		}
	})
}

// FuzzParseWebhook: receivers parse bodies that arrive over the network.
func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"id":"0190","event":"ticket.created","created_at":"2026-05-11T02:00:00Z","ticket":{"id":"t","number":"T-000001","kind":"voicemail","subject":"s","status":"open","priority":"normal","recording":{"id":"r","sha256":"00","size":1,"duration_ms":1}}}`))
	f.Add([]byte(`{"id":"x","event":"contact.missed","created_at":"2026-05-11T02:00:00Z","contact":{"id":"c","started_at":"2026-05-11T02:00:00Z","wait_ms":-1}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := ParseWebhook(body)
		if err != nil {
			return
		}
		if w.ID == "" || w.Event == "" || w.CreatedAt.IsZero() {
			t.Fatalf("accepted a body without id, event or time: %s", body)
		}
	})
}
