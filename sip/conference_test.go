package sip

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// otherDriver is a channel of some other driver (ARI): it cannot be mixed with SIP legs.
type otherDriver struct{ call.Channel }

func TestConferenceRefusesForeignChannels(t *testing.T) {
	c := &Channel{}
	_, err := c.Conference(context.Background(), otherDriver{})
	if !errors.Is(err, call.ErrNotBridgeable) {
		t.Errorf("a channel of another driver: %v, want call.ErrNotBridgeable", err)
	}
	if _, err := c.Conference(context.Background(), (*Channel)(nil)); err == nil {
		t.Error("a nil channel: no error")
	}
}

// A three-way call with real phones: a caller speaking (sipp playing g711a.pcap, PCMA in
// 30 ms packets), an agent whose phone echoes what it hears (sipp -rtp_echo) and a silent
// third party. The agent's phone hears the caller's voice at its level through the mix and,
// since nobody hears themselves, its echo does not feed back on itself; the caller's BYE
// ends the conference and Conference names the caller.
func TestConferenceThreeWayWithPhones(t *testing.T) {
	type result struct {
		hungUp, callerID       string
		callerIn, echoIn       []int16
		callerRecv, callerSent uint64
		echoRecv, echoSent     uint64
		silentRecv, silentSent uint64
		elapsed                time.Duration
		err                    error
	}
	done := make(chan result, 1)
	srv := startServer(t, func(ch call.Channel) {
		ctx := ch.Context()
		var r result
		defer func() { done <- r }()
		if r.err = ch.Answer(ctx); r.err != nil {
			return
		}
		s := ch.(*Channel).s
		var agents []*Channel
		for _, a := range []string{"1001", "1002"} {
			ag, err := s.Originate(ctx, call.Target{Agent: a}, call.OriginateOptions{CallerID: ch.Caller(), RingTimeout: 5 * time.Second})
			if err != nil {
				r.err = err
				return
			}
			defer ag.Hangup(call.CauseNormal)
			agents = append(agents, ag.(*Channel))
		}
		var mu sync.Mutex
		defer ch.(*Channel).Media().AddTap(func(pcm []int16) { mu.Lock(); r.callerIn = append(r.callerIn, pcm...); mu.Unlock() })()
		defer agents[0].Media().AddTap(func(pcm []int16) { mu.Lock(); r.echoIn = append(r.echoIn, pcm...); mu.Unlock() })()
		r.callerID = ch.ID()
		start := time.Now()
		r.hungUp, r.err = ch.(*Channel).Conference(ctx, agents[0], agents[1])
		r.elapsed = time.Since(start)
		c, e, q := ch.(*Channel).Media().Stats(), agents[0].Media().Stats(), agents[1].Media().Stats()
		r.callerRecv, r.callerSent = c.PacketsReceived, c.PacketsSent
		r.echoRecv, r.echoSent = e.PacketsReceived, e.PacketsSent
		r.silentRecv, r.silentSent = q.PacketsReceived, q.PacketsSent
		mu.Lock()
		defer mu.Unlock()
		r.callerIn, r.echoIn = append([]int16(nil), r.callerIn...), append([]int16(nil), r.echoIn...)
	})
	echo := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}})
	silent := sipptest.Start(t, sipptest.Options{Scenario: "uas"})
	for _, reg := range []struct {
		agent string
		phone *sipptest.Proc
	}{{"1001", echo}, {"1002", silent}} {
		sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: srv.addr, Auth: [2]string{reg.agent, testAgents[reg.agent]},
			Inject: [][]string{{reg.agent, testAgents[reg.agent], strconv.Itoa(reg.phone.Port), "300"}}}).MustSucceed(t)
	}
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: srv.addr, Service: "hotline", Pause: 4 * time.Second})
	var r result
	select {
	case r = <-done:
	case <-time.After(25 * time.Second):
		t.Fatalf("the conference never ended\ncaller:\n%s\necho agent:\n%s", caller.Log(), echo.Log())
	}
	if r.err != nil {
		t.Fatalf("handler: %v\ncaller:\n%s\necho agent:\n%s\nsilent agent:\n%s", r.err, caller.Log(), echo.Log(), silent.Log())
	}
	caller.MustSucceed(t)
	echo.MustSucceed(t)
	silent.MustSucceed(t)
	if r.hungUp != r.callerID {
		t.Errorf("the conference ended by %q, want the caller %q", r.hungUp, r.callerID)
	}
	// Every party is sent a frame every 20 ms, whether anyone speaks or not.
	frames := uint64(r.elapsed / (20 * time.Millisecond))
	for _, leg := range []struct {
		name string
		sent uint64
	}{{"caller", r.callerSent}, {"echoing agent", r.echoSent}, {"silent agent", r.silentSent}} {
		if leg.sent < frames*7/10 || leg.sent > frames+2 {
			t.Errorf("%s's leg sent %d packets in %v, want one per 20 ms (%d)", leg.name, leg.sent, r.elapsed, frames)
		}
	}
	if r.callerRecv < 60 || r.echoRecv < 60 || r.silentRecv != 0 {
		t.Errorf("received: from the caller %d, from the echoing phone %d (want >= 60 each), from the silent one %d (want 0)",
			r.callerRecv, r.echoRecv, r.silentRecv)
	}
	// What the echoing phone sent back is what it heard: the caller's voice (plus the silent
	// party's nothing), at the caller's level. Had it heard itself, its echo would build up.
	in, back := audio.RMS(r.callerIn), audio.RMS(r.echoIn)
	if in < 500 {
		t.Fatalf("the caller's speech arrived at RMS %.0f: (nearly) silent", in)
	}
	if db := 20 * math.Log10(back/in); math.Abs(db) > 3 {
		t.Errorf("the echoing phone returned RMS %.0f for the caller's %.0f (%+.1f dB), want the same level", back, in, db)
	}
	t.Logf("%v: caller → hotline %d packets (RMS %.0f), echo → hotline %d (RMS %.0f); hotline sent %d/%d/%d",
		r.elapsed.Round(time.Millisecond), r.callerRecv, in, r.echoRecv, back, r.callerSent, r.echoSent, r.silentSent)
}
