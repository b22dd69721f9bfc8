package callbacks

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/customers"
)

// leg is an answered phone: it hears what it is played and hangs up when told.
type leg struct {
	id     string
	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	heard []string
}

func newLeg(id string) *leg {
	ctx, cancel := context.WithCancel(context.Background())
	return &leg{id: id, ctx: ctx, cancel: cancel}
}

func (l *leg) ID() string                               { return l.id }
func (l *leg) Caller() call.Party                       { return call.Party{} }
func (l *leg) Dialed() string                           { return "" }
func (l *leg) Context() context.Context                 { return l.ctx }
func (l *leg) Answer(context.Context) error             { return nil }
func (l *leg) FlushDigits()                             {}
func (l *leg) SendDigits(context.Context, string) error { return nil }
func (l *leg) Hangup(call.Cause) error                  { l.cancel(); return nil }
func (l *leg) ReadDigits(context.Context, call.DigitOptions) (string, error) {
	return "", errors.New("no keys")
}
func (l *leg) Record(context.Context, string, call.RecordOptions) (call.Recording, error) {
	return call.Recording{}, errors.New("no recording")
}
func (l *leg) Play(_ context.Context, ps []call.Prompt, _ call.PlayOptions) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range ps {
		l.heard = append(l.heard, p.Text)
	}
	return "", nil
}
func (l *leg) Bridge(ctx context.Context, other call.Channel) (string, error) {
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-other.Context().Done():
		return other.ID(), nil
	}
}

// phones answers agents and customers, or fails them, by target.
type phones struct {
	mu       sync.Mutex
	customer error // nil: the customer answers (and hangs up after a moment)
	agent    *leg
	dialed   []string
}

func (p *phones) Originate(_ context.Context, to call.Target, _ call.OriginateOptions) (call.Channel, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dialed = append(p.dialed, to.String())
	if to.Agent != "" {
		p.agent = newLeg("agent-" + to.Agent)
		return p.agent, nil
	}
	if p.customer != nil {
		return nil, p.customer
	}
	c := newLeg("customer")
	time.AfterFunc(30*time.Millisecond, c.cancel)
	return c, nil
}

type voice struct{}

func (voice) Say(_ context.Context, _, text string) (call.Prompt, error) {
	return call.Prompt{Text: text}, nil
}

type env struct {
	dialer *Dialer
	d      *acd.Distributor
	store  *customers.Store
	phones *phones
	acts   []acd.Action
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	store, err := customers.Open(ctx, customers.Config{DataDir: t.TempDir()}, customers.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	d, err := acd.New(acd.Config{Queues: []acd.QueueConfig{{Name: "support", RingTimeout: 10 * time.Second}},
		Agents: []acd.AgentConfig{{ID: "1001", Queues: []string{"support"}}}}, acd.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{d: d, store: store, phones: &phones{}}
	e.dialer = New(ctx, Config{Store: store, Distributor: d, Dialer: e.phones, Voice: voice{}, CallerID: "hotline",
		Log: slog.New(slog.DiscardHandler)})
	return e
}

func (e *env) apply(acts []acd.Action) { e.acts = append(e.acts, acts...) }

// offer is the distributor's offer of the queued entry to agent 1001, once it is logged in.
func (e *env) offer(t *testing.T) acd.Offer {
	t.Helper()
	acts, err := e.d.Login("1001")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if o, ok := a.(acd.Offer); ok {
			return o
		}
	}
	t.Fatalf("no offer after login: %v", acts)
	return acd.Offer{}
}

func (e *env) book(t *testing.T) customers.Callback {
	t.Helper()
	cb, err := e.store.RequestCallback(context.Background(), customers.CallbackRequest{
		Number: "+8613800000009", Caller: "+8613800000009", Queue: "support", Source: customers.FromQueue,
		ArrivedAt: time.Now().Add(-3 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return cb
}

// A due callback waits in the distributor with the caller's arrival; when offered, the
// agent is told whom it is for, the customer is dialed and bridged, and the attempt is on
// the store: completed.
func TestDueCallbackIsDialedAndCompleted(t *testing.T) {
	e := newEnv(t)
	cb := e.book(t)
	e.dialer.enqueueDue(context.Background(), e.apply)
	st, ok := e.d.CallStatus(entryID(cb.ID))
	if !ok || st.Kind != acd.KindCallback || st.ArrivedAt.Sub(cb.ArrivedAt).Abs() > time.Second {
		t.Fatalf("callback entry %+v (%v), want it queued with the caller's arrival %v", st, ok, cb.ArrivedAt)
	}
	e.dialer.enqueueDue(context.Background(), e.apply) // already in: not twice
	if e.d.Queues()[0].Waiting != 1 {
		t.Errorf("%d waiting, want the callback once", e.d.Queues()[0].Waiting)
	}
	e.dialer.OfferCallback(context.Background(), e.offer(t), e.apply)
	got, err := e.store.Callback(context.Background(), cb.ID)
	if err != nil || got.Status != customers.CallbackCompleted || got.Attempts != 1 {
		t.Fatalf("after the call: %+v, %v; want completed after one attempt", got, err)
	}
	if len(e.phones.dialed) != 2 || e.phones.dialed[1] != "+8613800000009" {
		t.Errorf("dialed %q, want the agent then the customer", e.phones.dialed)
	}
	heard := e.phones.agent.heard
	if len(heard) != 1 || heard[0] != "Callback for eight six one three eight zero zero zero zero zero zero zero nine, queue support, waited three minutes. Connecting." {
		t.Errorf("the agent heard %q", heard)
	}
	if _, ok := e.d.CallStatus(entryID(cb.ID)); ok {
		t.Error("the callback is still in the distributor after it was completed")
	}
}

// A customer who does not answer: the agent is told, the attempt is recorded, and the
// callback stays pending for a retry.
func TestCustomerNoAnswer(t *testing.T) {
	e := newEnv(t)
	e.phones.customer = &call.DialError{Err: call.ErrNoAnswer}
	cb := e.book(t)
	e.dialer.enqueueDue(context.Background(), e.apply)
	e.dialer.OfferCallback(context.Background(), e.offer(t), e.apply)
	got, _ := e.store.Callback(context.Background(), cb.ID)
	if got.Status != customers.CallbackPending || got.Attempts != 1 {
		t.Errorf("after no answer: status %s, %d attempts; want pending after one", got.Status, got.Attempts)
	}
	if h := e.phones.agent.heard; len(h) != 2 || h[1] != "The customer did not answer. We will try again later." {
		t.Errorf("the agent heard %q", h)
	}
}

// A caller's entry that became a callback is found by its stored ID: cancelling it in the
// API withdraws that entry, not a new one.
func TestConvertedEntryIsWithdrawn(t *testing.T) {
	e := newEnv(t)
	cb := e.book(t)
	if _, err := e.d.Enqueue(acd.Call{ID: "call-7", Queue: "support", Kind: acd.KindCaller}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.ConvertToCallback("call-7"); err != nil {
		t.Fatal(err)
	}
	e.dialer.Converted("call-7", cb.ID)
	if got := e.dialer.storeID("call-7"); got != cb.ID {
		t.Fatalf("storeID(call-7) = %q, want %q", got, cb.ID)
	}
	e.dialer.enqueueDue(context.Background(), e.apply) // due, but already in as call-7
	if n := e.d.Queues()[0].Waiting; n != 1 {
		t.Fatalf("%d waiting, want the converted entry only", n)
	}
	cb.Status = customers.CallbackCancelled
	e.dialer.Changed(cb, e.apply)
	if _, ok := e.d.CallStatus("call-7"); ok {
		t.Error("the converted entry is still queued after the callback was cancelled")
	}
	if e.dialer.storeID("call-7") != "" {
		t.Error("the dialer still maps the withdrawn entry")
	}
}
