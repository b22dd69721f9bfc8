package center

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// A real caller speaks (sipp plays 7 s of PCMA) and is connected to agent 1001's phone, which
// echoes what it hears. While they talk, the live calls show what hotline receives on both
// legs: packets arriving, none lost on loopback, jitter far below the page's 40 ms, and nothing
// about what the peers hear, since sipp sends no RTCP reports. The call events carry the
// figures too, and the last one has the whole recording's worth.
func TestLiveCallAudio(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	phone := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}, Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", phone.Port)

	events, stop := h.live.Subscribe()
	defer stop()
	connected, ended := make(chan dashboard.LiveCall, 1), make(chan dashboard.LiveCall, 1)
	go func() {
		for e := range events {
			lc, ok := e.Data.(dashboard.LiveCall)
			switch {
			case !ok || e.Type != dashboard.EventCall:
			case e.Ended:
				ended <- lc
				return
			case lc.State == dashboard.CallConnected:
				select {
				case connected <- lc:
				default:
				}
			}
		}
	}()
	// The agent is on a break until the caller has spoken while queued, so the connected event
	// has caller audio to show however fast the phone answers.
	if _, err := h.ACD().Pause("1001", "break"); err != nil {
		t.Fatal(err)
	}
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 8 * time.Second, Keys: map[string]string{"caller": "+8613800000021"}})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if calls := h.live.Calls(); len(calls) == 1 && calls[0].State == dashboard.CallQueued &&
			calls[0].Audio != nil && calls[0].Audio.Caller != nil && calls[0].Audio.Caller.PacketsReceived > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the caller never spoke while queued: %+v", h.live.Calls())
		}
	}
	acts, err := h.ACD().Unpause("1001")
	if err != nil {
		t.Fatal(err)
	}
	h.room.Apply(acts)

	// Read while they talk, as GET /api/v1/calls does.
	var talking dashboard.LiveCall
	deadline := time.Now().Add(7 * time.Second)
	for time.Now().Before(deadline) {
		if calls := h.live.Calls(); len(calls) == 1 && calls[0].State == dashboard.CallConnected {
			if a := calls[0].Audio; a != nil && a.Caller != nil && a.Agent != nil && a.Caller.PacketsReceived >= 100 && a.Agent.PacketsReceived >= 50 {
				talking = calls[0]
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if talking.Audio == nil {
		t.Fatalf("no audio figures for both legs of the connected call: %+v", h.live.Calls())
	}
	a := talking.Audio
	t.Logf("while talking: caller %+v, agent %+v", *a.Caller, *a.Agent)
	for leg, x := range map[string]*dashboard.LegAudio{"caller": a.Caller, "agent": a.Agent} {
		if x.PacketsLost != 0 || x.LostRatio != 0 {
			t.Errorf("%s leg: %d lost (%v) on loopback, want none", leg, x.PacketsLost, x.LostRatio)
		}
		if x.JitterMS < 0 || x.JitterMS > 40 {
			t.Errorf("%s leg: jitter %v ms on loopback, want well under the 40 ms the page calls poor", leg, x.JitterMS)
		}
		// sipp sends no RTCP (its g711a.pcap is RTP only), so nothing says what it hears.
		if x.HeardLostRatio != nil || x.HeardJitterMS != nil || x.RTTMS != nil {
			j, _ := json.Marshal(x)
			t.Errorf("%s leg: heard figures from a peer that sends no RTCP: %s", leg, j)
		}
	}

	select {
	case lc := <-connected:
		if lc.Audio == nil || lc.Audio.Caller == nil || lc.Audio.Caller.PacketsReceived == 0 {
			t.Errorf("the connected event has no caller audio (the caller spoke while queued): %+v", lc.Audio)
		}
		if lc.Audio != nil && lc.Audio.Agent == nil {
			t.Error("the connected event has no agent leg")
		}
	default:
		t.Error("no connected event")
	}
	caller.MustSucceed(t)
	phone.MustSucceed(t)
	select {
	case lc := <-ended:
		if lc.Audio == nil || lc.Audio.Caller == nil {
			t.Fatal("the ended event has no caller audio")
		}
		t.Logf("at the end: caller %+v", *lc.Audio.Caller)
		if c := lc.Audio.Caller; c.PacketsReceived < 236 || c.PacketsLost != 0 {
			t.Errorf("the ended call's caller audio %+v, want the whole recording (236 packets) received, nothing lost", *c)
		}
		if lc.Audio != nil && lc.Audio.Agent != nil {
			t.Errorf("the ended call still shows an agent leg: %+v", *lc.Audio.Agent)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ended event")
	}
	if calls := h.live.Calls(); len(calls) != 0 {
		t.Errorf("calls after hangup: %+v", calls)
	}
}
