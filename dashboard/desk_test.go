package dashboard

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fake center's agent desktop: a trail for every call, keys and hang-ups recorded.
func (f *fakeLive) Screen(callID string) (ScreenFacts, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.calls[callID]; !ok {
		return ScreenFacts{}, false
	}
	return ScreenFacts{Steps: []IVRStep{{Node: "menu", Kind: "menu", Exit: "1"}, {Node: "support", Kind: "queue"}},
		Vars: map[string]string{"reason": "invoice"}, Waited: 42 * time.Second}, true
}

func (f *fakeLive) SendDigits(_ context.Context, callID, digits string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "dtmf "+callID+" "+digits)
	return nil
}

func (f *fakeLive) HangupAgent(_ context.Context, callID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, "hangup "+callID)
	return nil
}

// RegisterPhone gives a line that offers nothing and accepts whatever the page sends.
func (f *fakeLive) RegisterPhone(agent string) (PhoneLine, error) {
	return &fakeLine{events: make(chan PhoneEvent, 4)}, nil
}

type fakeLine struct {
	once   sync.Once
	events chan PhoneEvent
}

func (l *fakeLine) Events() <-chan PhoneEvent { return l.events }
func (l *fakeLine) Answer(id, sdp string) error {
	if !strings.HasPrefix(sdp, "v=0") {
		return ErrPhoneCall
	}
	return nil
}
func (l *fakeLine) Accept(string) error { return ErrPhoneCall }
func (l *fakeLine) Reject(string) error { return ErrPhoneCall }
func (l *fakeLine) Hangup(string) error { return ErrPhoneCall }
func (l *fakeLine) Close()              { l.once.Do(func() { close(l.events) }) }

func TestDeskScreenPopAndControls(t *testing.T) {
	e := newEnv(t)
	c, err := e.store.FindOrCreateByNumber(e.ctx, "+8613800000001")
	if err != nil {
		t.Fatal(err)
	}
	e.live.enqueue("c1", "support", "+8613800000001")
	e.live.mu.Lock()
	lc := e.live.calls["c1"]
	lc.CustomerID = c.ID
	e.live.calls["c1"] = lc
	e.live.mu.Unlock()
	e.live.connect("c1", "1001")

	var pop ScreenPop
	e.ok(200, e.do("GET", "/api/v1/calls/c1/screen", e.agent1, nil)).json(t, &pop)
	if pop.Call.ID != "c1" || pop.Customer == nil || pop.Customer.ID != c.ID || len(pop.IVR) != 2 || pop.Vars["reason"] != "invoice" || pop.WaitedSeconds != 42 {
		t.Errorf("screen-pop %+v", pop)
	}
	e.wantError(e.do("GET", "/api/v1/calls/c1/screen", e.agent2, nil), 403, "")
	e.wantError(e.do("GET", "/api/v1/calls/nope/screen", e.sup, nil), 404, "")
	// The agent on the call may read its customer; another may not.
	e.ok(200, e.do("GET", "/api/v1/customers/"+c.ID, e.agent1, nil))
	e.wantError(e.do("GET", "/api/v1/customers/"+c.ID, e.agent2, nil), 403, "")

	for _, bad := range []string{"", "12x", strings.Repeat("1", 33)} {
		e.wantError(e.do("POST", "/api/v1/calls/c1/dtmf", e.agent1, map[string]string{"digits": bad}), 400, "digits")
	}
	e.ok(200, e.do("POST", "/api/v1/calls/c1/dtmf", e.agent1, map[string]string{"digits": "12#"}))
	e.wantError(e.do("POST", "/api/v1/calls/c1/hangup", e.agent2, nil), 403, "")
	e.ok(204, e.do("POST", "/api/v1/calls/c1/hangup", e.agent1, nil))
	log := strings.Join(e.live.actionLog(), "; ")
	if !strings.Contains(log, "dtmf c1 12#") || !strings.Contains(log, "hangup c1") {
		t.Errorf("actions %q, want the keys and the hang-up", log)
	}

	// The phone: agents only; its calls need the stream open first.
	e.wantError(e.do("GET", "/api/v1/phone", e.sup, nil), 403, "")
	if ae := e.wantError(e.do("POST", "/api/v1/phone/calls/w1/accept", e.agent1, nil), 409, ""); ae.Code != "phone_not_registered" {
		t.Errorf("accept without a phone: %+v", ae)
	}
	s := e.stream2(e.agent1, "/api/v1/phone")
	if name, _, _ := s.next(); name != "ready" {
		t.Fatalf("the phone stream began with %q, want ready", name)
	}
	e.wantError(e.do("POST", "/api/v1/phone/calls/w1/sdp", e.agent1, map[string]string{"sdp": ""}), 400, "sdp")
	e.wantError(e.do("POST", "/api/v1/phone/calls/w1/accept", e.agent1, nil), 404, "")
}
