package ari

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/ari/aritest"
	"github.com/hotline-cc/hotline/call"
)

// Agents that do not answer, are busy or cannot be reached come back as the *call.DialError
// the ACD acts on, from the event sequences Asterisk sent in edge/agent-*.jsonl.
func TestOriginateOutcomes(t *testing.T) {
	h := start(t, harnessOptions{}, nil)
	for _, c := range []struct {
		name     string
		behavior aritest.Behavior
		agent    string
		want     error
		cause    call.Cause
		reason   string
		rings    bool // lasts the ring timeout
	}{
		{"agent-noanswer: Dial RINGING then cause 19", aritest.NoAnswer, "na", call.ErrNoAnswer, call.CauseNoAnswer, "no_answer", true},
		{"agent-busy: Dial BUSY then cause 17", aritest.Busy, "busy", call.ErrBusy, call.CauseBusy, "busy", false},
		{"agent-unreachable: cause 19 that never rang", aritest.Unreachable, "gone", call.ErrUnreachable, call.CauseNoResponse, "unreachable", true},
		{"unknown endpoint: POST refused (500)", -1, "nobody", call.ErrUnreachable, call.CauseNoResponse, "unreachable", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.behavior >= 0 {
				h.fake.SetAgent(c.agent, c.behavior)
			}
			t0 := time.Now()
			ch, err := h.drv.Originate(h.ctx(), call.Target{Agent: c.agent}, call.OriginateOptions{RingTimeout: 5 * time.Second})
			took := time.Since(t0)
			if ch != nil {
				t.Fatalf("Originate returned a channel %s for an agent who did not answer", ch.ID())
			}
			var de *call.DialError
			if !errors.As(err, &de) || !errors.Is(err, c.want) {
				t.Fatalf("Originate error = %v, want a *call.DialError that is %v", err, c.want)
			}
			if de.Cause != c.cause || de.MissReason() != c.reason || de.Target.Agent != c.agent {
				t.Errorf("DialError cause %v, reason %q, target %v; want %v, %q, agent %s", de.Cause, de.MissReason(), de.Target, c.cause, c.reason, c.agent)
			}
			if c.rings && took < 5*second {
				t.Errorf("gave up after %v: the ring timeout (5 s = %v here) is Asterisk's to enforce", took, 5*second)
			}
			orig := h.fake.Requests()
			last := orig[len(orig)-1]
			if last.Method != "POST" || last.Path != "/ari/channels" || last.Query.Get("timeout") != "5" ||
				last.Query.Get("endpoint") != "PJSIP/"+c.agent || last.Query.Get("app") != "hotline" {
				t.Errorf("last request %s %s %v: want POST /ari/channels endpoint=PJSIP/%s app=hotline timeout=5", last.Method, last.Path, last.Query, c.agent)
			}
			if h.drv.ActiveCalls() != 0 || h.pendingDials() != 0 || len(h.fake.Channels()) != 0 || h.client.subs.size() != 1 {
				t.Errorf("left behind: %d calls, %d pending dials, %d subscriptions, Asterisk channels %v",
					h.drv.ActiveCalls(), h.pendingDials(), h.client.subs.size(), h.fake.Channels())
			}
		})
	}

	t.Run("the ACD gives up: the ringing leg is hung up", func(t *testing.T) {
		h.fake.SetAgent("slow", aritest.NoAnswer)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := h.drv.Originate(ctx, call.Target{Agent: "slow"}, call.OriginateOptions{RingTimeout: time.Minute})
			errc <- err
		}()
		h.until("the agent ringing", func() bool { return len(h.fake.Channels()) == 1 })
		id := h.fake.Channels()[0]
		cancel()
		if err := recv(t, errc, "Originate"); !errors.Is(err, context.Canceled) {
			t.Errorf("Originate after cancel = %v, want context.Canceled", err)
		}
		if n := len(h.fake.Requested("DELETE", "/ari/channels/"+id)); n != 1 || len(h.fake.Channels()) != 0 {
			t.Errorf("ringing leg: %d DELETEs, Asterisk channels %v; want it hung up", n, h.fake.Channels())
		}
	})
}

// Asterisk causes and dial statuses map to the outcomes the ACD tells apart.
func TestClassify(t *testing.T) {
	to := call.Target{Agent: "1001"}
	for _, c := range []struct {
		cause      int
		dialstatus string
		rang       bool
		want       error
	}{
		{17, "", false, call.ErrBusy},
		{0, "BUSY", true, call.ErrBusy},
		{19, "RINGING", true, call.ErrNoAnswer},
		{19, "", false, call.ErrUnreachable},
		{18, "", false, call.ErrUnreachable},
		{21, "", true, call.ErrRejected},
		{16, "RINGING", true, call.ErrNoAnswer}, // cleared while ringing
		{34, "CONGESTION", false, call.ErrUnreachable},
		{1, "CHANUNAVAIL", false, call.ErrUnreachable},
		{0, "", true, call.ErrNoAnswer}, // lost in a WebSocket gap after ringing
	} {
		if err := classify(to, c.cause, "", c.dialstatus, c.rang); !errors.Is(err, c.want) {
			t.Errorf("cause %d dialstatus %q rang %v: %v, want %v", c.cause, c.dialstatus, c.rang, err, c.want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	d := &Driver{cfg: DriverConfig{Endpoint: "PJSIP/%s", URIEndpoint: "PJSIP/%s@trunk"}}
	for in, want := range map[call.Target]string{
		{Agent: "1001"}:      "PJSIP/1001",
		{URI: "+4930123456"}: "PJSIP/+4930123456@trunk",
		{URI: "SIP/agent"}:   "SIP/agent",
	} {
		if got, err := d.endpoint(in); err != nil || got != want {
			t.Errorf("endpoint(%v) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := d.endpoint(call.Target{Agent: "a/b"}); err == nil {
		t.Error("agent id with a slash: want an error")
	}
	if _, err := (&Driver{cfg: DriverConfig{Endpoint: "PJSIP/%s"}}).endpoint(call.Target{URI: "123"}); err == nil {
		t.Error("number without a URI endpoint: want an error")
	}
}
