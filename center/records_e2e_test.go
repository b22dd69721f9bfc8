package center

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

func recordsConfig(t *testing.T, edit func(*config.Config)) func(*config.Config) {
	dir := t.TempDir()
	flow, err := os.ReadFile(filepath.Join("..", "testdata", "flows", "records.yaml")) // shared with internal/multinode
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "records.yaml"), flow, 0o644); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.Flows.Dir, c.Flows.Entry, c.SIP.DefaultEntry = dir, "records", "records"
		for i := range c.Queues {
			q := &c.Queues[i]
			q.RingTimeout = config.Duration(3 * time.Second)
			q.WrapUp = config.Duration(time.Second)
			q.AnnounceEvery = 0
			q.CallbackAfter = config.Duration(time.Second)
			q.Schedule = "" // callbacks at any hour in these tests
		}
		if edit != nil {
			edit(c)
		}
	}
}

func timelineKinds(t *testing.T, store *customers.Store, number string) []string {
	t.Helper()
	cust, err := store.ByNumber(context.Background(), number)
	if err != nil || cust == nil {
		t.Fatalf("no customer for %s: %v", number, err)
	}
	entries, err := store.Timeline(context.Background(), cust.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		switch {
		case e.Contact != nil:
			out = append(out, "contact:"+string(e.Contact.Outcome))
		case e.Callback != nil:
			out = append(out, "callback:"+string(e.Callback.Status))
		case e.Ticket != nil:
			out = append(out, "ticket:"+e.Ticket.Number)
		}
	}
	return out
}

// Issue 5, acceptance 2: a caller waiting with no agent presses 1; the callback keeps their
// arrival; an agent logs in; the agent's phone rings first, then the customer is dialed and
// bridged; the timeline shows the queued contact, the callback and the answered attempt.
func TestCallbackKeepsPlaceAndCallsAgentFirst(t *testing.T) {
	customer := sipptest.Start(t, sipptest.Options{Scenario: "uas_answer_bye.xml", Pause: 2 * time.Second, Timeout: 60 * time.Second})
	h := startHotline(t, recordsConfig(t, func(c *config.Config) { c.SIP.Trunk = "127.0.0.1:" + itoa(customer.Port) }))
	const number = "+8613800138000"

	arrived := time.Now()
	sipptest.Start(t, sipptest.Options{Scenario: "uac_press1.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 2500 * time.Millisecond, Keys: map[string]string{"caller": number}}).MustSucceed(t)
	cbs, _, err := h.Store().ListCallbacks(context.Background(), customers.CallbackFilter{}, customers.Page{Limit: 10})
	if err != nil || len(cbs) != 1 {
		t.Fatalf("callbacks after pressing 1: %v %v", cbs, err)
	}
	if d := cbs[0].ArrivedAt.Sub(arrived); d < 0 || d > 2*time.Second {
		t.Errorf("callback keeps arrival %v; the caller joined the queue at about %v", cbs[0].ArrivedAt, arrived)
	}
	if cbs[0].Number != number || cbs[0].Queue != "support" {
		t.Errorf("callback %+v", cbs[0])
	}

	agent := sipptest.Start(t, sipptest.Options{Scenario: "uas", Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", agent.Port) // auto-login: the callback reaches 1001
	agent.MustSucceed(t)                                 // rang first, heard the whisper, was hung up after the customer's BYE
	customer.MustSucceed(t)                              // dialed via the trunk, answered, bridged, hung up

	deadline := time.Now().Add(10 * time.Second)
	var kinds []string
	for time.Now().Before(deadline) {
		kinds = timelineKinds(t, h.Store(), number)
		if strings.Contains(strings.Join(kinds, " "), "contact:callback_answered") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := strings.Join(kinds, " ")
	if got != "contact:callback_requested callback:completed contact:callback_answered" {
		t.Errorf("timeline = %q, want the queued contact, the callback, the answered attempt", got)
	}
	// The agent's leg was placed before the customer's: the agent's sipp got its INVITE first.
	if agentAt, custAt := firstInvite(t, agent), firstInvite(t, customer); !agentAt.Before(custAt) {
		t.Errorf("agent INVITE at %v, customer INVITE at %v: the agent must be rung first", agentAt, custAt)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// firstInvite reads when sipp received its first INVITE from its message trace.
func firstInvite(t *testing.T, p *sipptest.Proc) time.Time {
	t.Helper()
	msgs := p.Messages()
	i := strings.Index(msgs, "INVITE sip:")
	if i < 0 {
		t.Fatalf("no INVITE in trace:\n%s", msgs)
	}
	head := msgs[:i]
	j := strings.LastIndex(head, "----------------------------------------------- ")
	stamp := strings.TrimSpace(strings.SplitN(head[j+len("----------------------------------------------- "):], "\n", 2)[0])
	at, err := time.ParseInLocation("2006-01-02 15:04:05.000000", stamp, time.Local)
	if err != nil {
		t.Fatalf("trace time %q: %v", stamp, err)
	}
	return at
}

// Issue 5, acceptance 3: a 5-second voicemail becomes a ticket with a recording that has
// speech in it; the helpdesk gets the signed ticket although it failed the first two times.
func TestVoicemailBecomesSignedTicket(t *testing.T) {
	const secret = "s3cret-webhook"
	var mu sync.Mutex
	var deliveries []*http.Request
	var bodies [][]byte
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		deliveries, bodies = append(deliveries, r), append(bodies, b)
		if len(deliveries) <= 2 {
			http.Error(w, "helpdesk is down", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	h := startHotline(t, recordsConfig(t, func(c *config.Config) {
		c.Webhooks.URL, c.Webhooks.Secret = receiver.URL, secret
	}), WithDeliveryOptions(customers.WithDeliveryBackoff(200*time.Millisecond, time.Second), customers.WithDeliveryPoll(100*time.Millisecond)))

	sipptest.Start(t, sipptest.Options{Scenario: "uac_voicemail.xml", Target: h.sipAddr, Service: "message",
		Pause: 4 * time.Second, Keys: map[string]string{"caller": "+8613900139000"}}).MustSucceed(t)

	tickets, _, err := h.Store().ListTickets(context.Background(), customers.TicketFilter{}, customers.Page{Limit: 10})
	if err != nil || len(tickets) != 1 {
		t.Fatalf("tickets: %v %v", tickets, err)
	}
	tk, err := h.Store().Ticket(context.Background(), tickets[0].Number)
	if err != nil || tk.Recording == nil {
		t.Fatalf("ticket %+v has no recording: %v", tk, err)
	}
	if d := tk.Recording.Duration; d < 4*time.Second || d > 6500*time.Millisecond {
		t.Errorf("voicemail is %v long, the caller spoke about 5 s", d)
	}
	f, err := h.Store().Recordings().Open(tk.Recording.ID)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := audio.ReadWAV(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if rms := audio.RMS(pcm); rms < 500 {
		t.Errorf("voicemail RMS %.0f: nearly silent", rms)
	}

	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(deliveries)
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook delivered %d times, want a third after two failures", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	last, body := deliveries[2], bodies[2]
	if err := customers.VerifySignature(secret, body, last.Header.Get("X-Hotline-Signature")); err != nil {
		t.Errorf("signature: %v", err)
	}
	if string(bodies[0]) != string(body) || deliveries[0].Header.Get("X-Hotline-Delivery") != last.Header.Get("X-Hotline-Delivery") {
		t.Error("retries must carry the same body and delivery id")
	}
	wh, err := customers.ParseWebhook(body)
	if err != nil || wh.Event != "ticket.created" || wh.Ticket == nil || !strings.Contains(string(body), tk.Number) {
		t.Errorf("webhook %s: %+v %v", body, wh, err)
	}
}

// Issue 5, acceptance 4: hanging up after 20 s in queue is abandoned, within the
// short-abandon threshold short-abandoned; the auto-callback policy books a callback.
func TestAbandonsOnTimeline(t *testing.T) {
	h := startHotline(t, recordsConfig(t, func(c *config.Config) {
		for i := range c.Queues {
			c.Queues[i].CallbackAfter = 0 // no offer: just waiting
			c.Queues[i].AutoCallbackAbandons = true
			c.Queues[i].ShortAbandon = config.Duration(5 * time.Second)
		}
	}))
	// Agents exist but none is logged in; the queue still takes callers (callback: true).
	long := sipptest.Start(t, sipptest.Options{Scenario: "uac_hold.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 20 * time.Second, Keys: map[string]string{"caller": "+8613700137000"}, Timeout: 40 * time.Second})
	short := sipptest.Start(t, sipptest.Options{Scenario: "uac_hold.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 2 * time.Second, Keys: map[string]string{"caller": "+8613600136000"}})
	short.MustSucceed(t)
	long.MustSucceed(t)
	h.waitCalls(t, 2, 10*time.Second)
	if got := strings.Join(timelineKinds(t, h.Store(), "+8613600136000"), " "); got != "contact:short_abandoned" {
		t.Errorf("2 s caller's timeline = %q", got)
	}
	got := strings.Join(timelineKinds(t, h.Store(), "+8613700137000"), " ")
	if got != "contact:abandoned callback:pending" {
		t.Errorf("20 s caller's timeline = %q, want the abandoned call and its automatic callback", got)
	}
}

// Issue 5, acceptance 5 (end to end): a number outside the allow-list is refused with a reason.
func TestCallbackOutsideAllowListRefused(t *testing.T) {
	h := startHotline(t, recordsConfig(t, nil))
	sipptest.Start(t, sipptest.Options{Scenario: "uac_press1.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 2500 * time.Millisecond, Args: []string{"-recv_timeout", "6000"}, Keys: map[string]string{"caller": "+442079460000"}}).Wait()
	cbs, _, _ := h.Store().ListCallbacks(context.Background(), customers.CallbackFilter{}, customers.Page{Limit: 10})
	if len(cbs) != 0 {
		t.Fatalf("a callback to +44 was booked: %+v", cbs)
	}
	recs := h.waitCalls(t, 1, 10*time.Second)
	j := strings.Join(recs[0].Queued, "; ")
	if !strings.Contains(j, "callback refused: number +442079460000 is outside the allowed prefixes +86") {
		t.Errorf("journal does not give the reason: %s", j)
	}
}
