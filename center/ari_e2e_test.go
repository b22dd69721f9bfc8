package center

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/ari/aritest"
	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
)

// Issue 7, acceptance 1: with driver: ari, the shipped flow runs a call through the
// language menu, the main menu, the support queue and a bridge to an agent, on a fake
// Asterisk that replays genuine Asterisk 20 traffic. The ACD's next-agent rule works there
// too: 1001's endpoint rings out (cause 19), 1002 answers.
func TestShippedFlowOnAsterisk(t *testing.T) {
	fake := aritest.New(t, aritest.Options{Second: 20 * time.Millisecond})
	fake.SetAgent("1001", aritest.NoAnswer)
	fake.SetAgent("1002", aritest.Answer)
	h := startHotline(t, func(c *config.Config) {
		c.Driver = "ari"
		c.ARI.URL, c.ARI.Username, c.ARI.Password, c.ARI.App = fake.URL(), fake.Username(), fake.Password(), fake.App()
		c.ARI.SoundsDir = t.TempDir()
		for i := range c.Queues {
			c.Queues[i].RingTimeout = config.Duration(3 * time.Second)
			c.Queues[i].AnnounceEvery = 0
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	caller, err := fake.Inbound("+8613800138000", "hotline")
	if err != nil {
		t.Fatal(err)
	}
	atNode := func(node string) func() bool {
		return func() bool {
			for _, lc := range h.live.Calls() {
				if lc.Node == node && fake.Playing(caller.ID) != "" {
					return true
				}
			}
			return false
		}
	}
	if err := fake.Wait(ctx, "the language menu playing", atNode("language")); err != nil {
		t.Fatal(err)
	}
	caller.DTMF("1") // English
	if err := fake.Wait(ctx, "the main menu playing", atNode("menu")); err != nil {
		t.Fatal(err)
	}
	caller.DTMF("1") // support
	bridged := func() bool {
		for _, chans := range fake.Bridged() {
			if len(chans) == 2 && len(fake.Legs("1002")) == 1 {
				return true
			}
		}
		return false
	}
	if err := fake.Wait(ctx, "agent 1002 bridged with the caller", bridged); err != nil {
		t.Fatal(err)
	}
	fake.Legs("1002")[0].Hangup() // the agent ends the conversation; the caller goes to the survey
	if err := fake.Wait(ctx, "the survey question", atNode("rate")); err != nil {
		t.Fatal(err)
	}
	caller.Hangup()
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	if rec.Outcome != "answered" || rec.Agent != "1002" || rec.Queue != "support" {
		t.Errorf("record: outcome %s agent %q queue %q", rec.Outcome, rec.Agent, rec.Queue)
	}
	j := strings.Join(rec.Queued, "; ")
	if !strings.HasPrefix(j, "offer 1001; ") || !strings.Contains(j, "offer 1002; answered 1002") {
		t.Errorf("queue journal %q: want 1001 offered first, then 1002 answering", j)
	}
	var path []string
	for _, e := range rec.Path {
		path = append(path, e.Node)
	}
	if p := strings.Join(path, " "); !strings.Contains(p, "language english hours identify menu support survey") {
		t.Errorf("path %q", p)
	}
	if st, _ := h.ACD().Agent("1001"); st.Misses.NoAnswer != 1 {
		t.Errorf("1001 no-answer misses = %d, want 1", st.Misses.NoAnswer)
	}
}

// Feature codes with driver: ari. Agent 1001's phone is the Asterisk endpoint ari.endpoint
// names (PJSIP/1001), so its calls reach Stasis on channels Asterisk names PJSIP/1001-<hex>:
// *52 pauses, *53 unpauses, *51 logs out, *50 logs in, each confirmed by voice before
// hotline hangs up. The same code from another endpoint changes nothing, whatever caller id
// it sends: from a channel that is no agent's endpoint it is rejected unanswered, from an
// endpoint that is not a configured agent (the trunk) it is answered with a refusal.
func TestFeatureCodesOnAsterisk(t *testing.T) {
	fake := aritest.New(t, aritest.Options{Second: 20 * time.Millisecond,
		SoundLength: func(string) time.Duration { return 300 * time.Millisecond }})
	fake.SetAgent("1001", aritest.Answer) // 1001's phone is registered with Asterisk
	var endpoint string
	h := startHotline(t, func(c *config.Config) {
		c.Driver = "ari"
		c.ARI.URL, c.ARI.Username, c.ARI.Password, c.ARI.App = fake.URL(), fake.Username(), fake.Password(), fake.App()
		c.ARI.SoundsDir = t.TempDir()
		endpoint = c.ARI.Endpoint
	})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// How Asterisk names a channel of agent 1001's endpoint: PJSIP/1001-0000002a by default.
	phone := fmt.Sprintf(endpoint, "1001") + "-0000002a"
	state := func() acd.AgentStatus {
		t.Helper()
		st, err := h.ACD().Agent("1001")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	hungUpWith := func(c *aritest.Call) string {
		dels := fake.Requested("DELETE", "/ari/channels/"+c.ID)
		if len(dels) != 1 {
			t.Fatalf("hotline hung channel %s up %d times, want once", c.ID, len(dels))
		}
		return dels[0].Query.Get("reason")
	}
	// dial places a call from the channel name to code; hotline must answer, play a prompt
	// and hang up.
	dial := func(name, code string) {
		t.Helper()
		c, err := fake.InboundFrom(name, "1001", code)
		if err != nil {
			t.Fatal(err)
		}
		var played bool
		ended := func() bool {
			played = played || fake.Playing(c.ID) != ""
			select {
			case <-c.Done():
				return true
			default:
				return false
			}
		}
		if err := fake.Wait(ctx, "hotline to hang up after answering "+code, ended); err != nil {
			t.Fatal(err)
		}
		if !played {
			t.Fatalf("%s from %s: hung up (reason %q) without a voice prompt", code, name, hungUpWith(c))
		}
		if n := len(fake.Requested("POST", "/ari/channels/"+c.ID+"/answer")); n != 1 {
			t.Errorf("%s from %s: answered %d times, want once", code, name, n)
		}
		if n := len(fake.Requested("POST", "/ari/channels/"+c.ID+"/play")); n != 1 {
			t.Errorf("%s from %s: %d prompts played, want one", code, name, n)
		}
		if r := hungUpWith(c); r != "normal" {
			t.Errorf("%s from %s: hung up with reason %q, want normal", code, name, r)
		}
	}

	for deadline := time.Now().Add(3 * time.Second); state().State != acd.Available && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // the driver reads the endpoints' state once connected
	}
	if s := state(); s.State != acd.Available {
		t.Fatalf("1001 starts %s, want available (an auto_login agent whose endpoint is registered is logged in)", s.State)
	}
	dial(phone, "*522")
	if s := state(); s.State != acd.Paused || s.PauseReason != "lunch" {
		t.Fatalf("after *522: %s %q, want paused with reason lunch", s.State, s.PauseReason)
	}
	dial(phone, "*53")
	if s := state(); s.State != acd.Available {
		t.Fatalf("after *53: %s, want available", s.State)
	} else if s.TimeInPause["lunch"] <= 0 {
		t.Errorf("time paused for lunch not accounted: %v", s.TimeInPause)
	}
	dial(phone, "*51")
	if s := state(); s.State != acd.LoggedOut {
		t.Fatalf("after *51: %s, want logged out", s.State)
	}
	dial(phone, "*50")
	if s := state(); s.State != acd.Available || len(s.Queues) == 0 {
		t.Fatalf("after *50: %s in queues %v, want available in its queues", s.State, s.Queues)
	}

	before := h.ACD().Agents()
	// The trace's own caller (chan_sip peer "caller", SIP/caller-00000002) sends caller id
	// 1001 and dials *52: its channel is not an agent's endpoint, so the call is rejected
	// without being answered.
	spoof, err := fake.InboundFrom("", "1001", "*52")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-spoof.Done():
	case <-ctx.Done():
		t.Fatal("a feature code from a channel that is no agent's endpoint was not hung up")
	}
	if r := hungUpWith(spoof); r != "rejected" {
		t.Errorf("feature code from a non-agent channel: hung up with reason %q, want rejected", r)
	}
	if n := len(fake.Requested("POST", "/ari/channels/"+spoof.ID+"/answer")) + len(fake.Requested("POST", "/ari/channels/"+spoof.ID+"/play")); n != 0 {
		t.Errorf("feature code from a non-agent channel: %d answers and plays, want none", n)
	}
	// The trunk's endpoint is named like an agent's but is no configured agent: refused by voice.
	dial(fmt.Sprintf(endpoint, "trunk")+"-00000031", "*52")
	after := h.ACD().Agents()
	if len(after) != len(before) {
		t.Fatalf("agents: %d before the refused codes, %d after", len(before), len(after))
	}
	for i := range before {
		if b, a := before[i], after[i]; a.ID != b.ID || a.State != b.State || a.PauseReason != b.PauseReason {
			t.Errorf("refused feature codes changed agent %s: %s %q -> %s %q", b.ID, b.State, b.PauseReason, a.State, a.PauseReason)
		}
	}
}

// Issue "Transfers, hold and three-way calls", 6: under Asterisk an auto_login agent is logged
// in when their endpoint registers and out when it goes away (Asterisk's device state, as
// recorded from Asterisk 22), so an unregistered agent is never offered a call.
func TestAgentsFollowTheirEndpointOnAsterisk(t *testing.T) {
	fake := aritest.New(t, aritest.Options{Second: 20 * time.Millisecond})
	fake.SetAgent("1001", aritest.Answer) // an endpoint Asterisk knows, its phone not registered
	fake.SetRegistered("1001", false)
	h := startHotline(t, func(c *config.Config) {
		c.Driver = "ari"
		c.ARI.URL, c.ARI.Username, c.ARI.Password, c.ARI.App = fake.URL(), fake.Username(), fake.Password(), fake.App()
		c.ARI.SoundsDir = t.TempDir()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	wait := func(want acd.AgentState) {
		t.Helper()
		var st acd.AgentState
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if st, _ = h.ACD().AgentState("1001"); st == want {
				return
			}
		}
		t.Fatalf("1001 is %s, want %s", st, want)
	}
	time.Sleep(200 * time.Millisecond)
	wait(acd.LoggedOut) // no phone registered: not offered calls
	fake.SetRegistered("1001", true)
	wait(acd.Available)
	fake.SetRegistered("1001", false)
	wait(acd.LoggedOut)
}

// Transfers and hold on Asterisk, replaying Asterisk 22's traffic: 1001's endpoint puts the
// caller on hold (ChannelHold: hotline plays its hold music to the caller) and takes them
// back, then transfers them blind to 1002 (ChannelTransfer): hotline reports progress
// (transfer_progress), rings 1002 and bridges the caller to it.
func TestTransferAndHoldOnAsterisk(t *testing.T) {
	fake := aritest.New(t, aritest.Options{Second: 20 * time.Millisecond,
		SoundLength: func(string) time.Duration { return time.Minute }})
	fake.SetAgent("1001", aritest.Answer)
	fake.SetAgent("1002", aritest.Answer)
	fake.SetRegistered("1002", false) // 1002's phone registers later
	h := startHotline(t, func(c *config.Config) {
		c.Driver = "ari"
		c.ARI.URL, c.ARI.Username, c.ARI.Password, c.ARI.App = fake.URL(), fake.Username(), fake.Password(), fake.App()
		c.ARI.SoundsDir = t.TempDir()
	}, WithFlowClock(func() time.Time { return mondayMorning }))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	available := func(agent string) func() bool {
		return func() bool { st, _ := h.ACD().AgentState(agent); return st == acd.Available }
	}
	if err := fake.Wait(ctx, "1001 logged in", available("1001")); err != nil {
		t.Fatal(err)
	}
	caller := callSupport(t, fake)
	leg := legBridgedTo(ctx, t, fake, "1001", caller.ID)
	if err := leg.Hold(true); err != nil {
		t.Fatal(err)
	}
	plays := len(fake.Requested("POST", "/ari/channels/"+caller.ID+"/play"))
	if err := fake.Wait(ctx, "hold music to the caller", func() bool {
		p := fake.Requested("POST", "/ari/channels/"+caller.ID+"/play")
		return len(p) > plays && p[len(p)-1].Query.Get("media") != "" && fake.Playing(caller.ID) != "" // only hold music plays now
	}); err != nil {
		var journal []string
		for _, l := range h.calls.Calls() {
			journal = h.calls.Get(l.ID).Journal()
		}
		t.Fatalf("%v; playing %q; journal %q", err, fake.Playing(caller.ID), journal)
	}
	if err := leg.Hold(false); err != nil {
		t.Fatal(err)
	}
	if err := fake.Wait(ctx, "the caller back with 1001", func() bool { return bridgedTogether(fake, caller.ID, leg.ID) }); err != nil {
		t.Fatal(err)
	}
	fake.SetRegistered("1002", true)
	if err := fake.Wait(ctx, "1002 logged in", available("1002")); err != nil {
		t.Fatal(err)
	}
	if err := leg.Transfer("1002", ""); err != nil {
		t.Fatal(err)
	}
	legBridgedTo(ctx, t, fake, "1002", caller.ID)
	if got := fake.TransferProgress(leg.ID); len(got) < 2 || got[0] != "channel_progress" || got[len(got)-1] != "channel_answered" {
		t.Errorf("transfer progress told to Asterisk: %v, want channel_progress … channel_answered", got)
	}
	select {
	case <-leg.Done():
	case <-time.After(5 * time.Second):
		t.Error("1001's leg is still up after the transfer")
	}
	caller.Hangup()
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	for _, want := range []string{"hold by 1001", "resumed by 1001", "transfer by 1001 to agent 1002", "transferred to 1002"} {
		if !strings.Contains(j, want) {
			t.Errorf("journal lacks %q: %s", want, j)
		}
	}
}

// bridgedTogether says whether the fake has a and b in one bridge.
func bridgedTogether(fake *aritest.Server, a, b string) bool {
	for _, chans := range fake.Bridged() {
		if len(chans) == 2 && ((chans[0] == a && chans[1] == b) || (chans[0] == b && chans[1] == a)) {
			return true
		}
	}
	return false
}

// An attended transfer on Asterisk (Asterisk 22's traffic): 1001's endpoint holds the caller,
// calls 1002 from the same phone (a consultation, bridged to 1002 by hotline), then REFERs
// with Replaces naming the consultation (ChannelTransfer with destination_channel): the
// caller ends up bridged to 1002 and both of 1001's channels are hung up.
func TestAttendedTransferOnAsterisk(t *testing.T) {
	fake, h, caller, leg, consult, colleague := consultingOnAsterisk(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := leg.Transfer("1002", consult.ID); err != nil {
		t.Fatal(err)
	}
	if err := fake.Wait(ctx, "the caller bridged to 1002", func() bool { return bridgedTogether(fake, caller.ID, colleague.ID) }); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*aritest.Call{"1001's call with the caller": leg, "1001's consultation": consult} {
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("%s is still up after the transfer", name)
		}
	}
	if got := fake.TransferProgress(leg.ID); len(got) == 0 || got[len(got)-1] != "channel_answered" {
		t.Errorf("transfer progress told to Asterisk: %v", got)
	}
	if st, _ := h.ACD().Agent("1002"); st.State != acd.OnCall || st.CallID != caller.ID {
		t.Errorf("1002 is %s with call %q, want on call with the caller", st.State, st.CallID)
	}
	caller.Hangup()
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	if j := strings.Join(rec.Queued, "; "); !strings.Contains(j, "transferred to 1002 (attended)") {
		t.Errorf("journal: %s", j)
	}
}

// A three-way call on Asterisk: during 1001's consultation the call is merged into one mixing
// bridge of the caller, 1001 and 1002; when 1001 leaves, the caller and 1002 go on in a bridge
// of their own and the call is 1002's.
func TestThreeWayOnAsterisk(t *testing.T) {
	fake, h, caller, leg, consult, colleague := consultingOnAsterisk(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.live.Conference(ctx, caller.ID); err != nil {
		t.Fatal(err)
	}
	if err := fake.Wait(ctx, "one bridge of three", func() bool {
		for _, chans := range fake.Bridged() {
			if len(chans) == 3 && slices.Contains(chans, caller.ID) && slices.Contains(chans, leg.ID) && slices.Contains(chans, colleague.ID) {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("%v: bridges %v", err, fake.Bridged())
	}
	leg.Hangup() // 1001 leaves
	if err := fake.Wait(ctx, "the caller bridged to 1002", func() bool { return bridgedTogether(fake, caller.ID, colleague.ID) }); err != nil {
		t.Fatalf("%v: bridges %v", err, fake.Bridged())
	}
	select {
	case <-consult.Done():
	case <-time.After(5 * time.Second):
		t.Error("1001's consultation is still up after 1001 left")
	}
	if st, _ := h.ACD().Agent("1002"); st.State != acd.OnCall || st.CallID != caller.ID {
		t.Errorf("1002 is %s with call %q, want the caller's call", st.State, st.CallID)
	}
	caller.Hangup()
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	if j := strings.Join(rec.Queued, "; "); !strings.Contains(j, "three-way call: caller, 1001 and 1002") || !strings.Contains(j, "1001 left the three-way call") {
		t.Errorf("journal: %s", j)
	}
}

// consultingOnAsterisk brings a caller to 1001 on the fake Asterisk, has 1001 hold them and
// call 1002 (a consultation bridged by hotline), and returns the parts.
func consultingOnAsterisk(t *testing.T) (fake *aritest.Server, h *hotline, caller, leg, consult, colleague *aritest.Call) {
	t.Helper()
	fake = aritest.New(t, aritest.Options{Second: 20 * time.Millisecond,
		SoundLength: func(string) time.Duration { return time.Minute }})
	fake.SetAgent("1001", aritest.Answer)
	fake.SetAgent("1002", aritest.Answer)
	var endpoint string
	h = startHotline(t, func(c *config.Config) {
		c.Driver = "ari"
		c.ARI.URL, c.ARI.Username, c.ARI.Password, c.ARI.App = fake.URL(), fake.Username(), fake.Password(), fake.App()
		c.ARI.SoundsDir = t.TempDir()
		endpoint = c.ARI.Endpoint
	})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	both := func() bool {
		a, _ := h.ACD().AgentState("1001")
		b, _ := h.ACD().AgentState("1002")
		return a == acd.Available && b == acd.Available
	}
	if err := fake.Wait(ctx, "1001 and 1002 logged in", both); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ACD().Pause("1002", "break"); err != nil { // 1001 takes the caller
		t.Fatal(err)
	}
	caller = callSupport(t, fake)
	leg = legBridgedTo(ctx, t, fake, "1001", caller.ID)
	acts, err := h.ACD().Unpause("1002")
	if err != nil {
		t.Fatal(err)
	}
	h.room.Apply(acts)
	if err := leg.Hold(true); err != nil {
		t.Fatal(err)
	}
	consult, err = fake.InboundFrom(fmt.Sprintf(endpoint, "1001")+"-0000003b", "1001", "1002")
	if err != nil {
		t.Fatal(err)
	}
	colleague = legBridgedTo(ctx, t, fake, "1002", consult.ID)
	return fake, h, caller, leg, consult, colleague
}

// callSupport places a caller on the fake Asterisk who picks English and support in the
// shipped flow.
func callSupport(t *testing.T, fake *aritest.Server) *aritest.Call {
	t.Helper()
	caller, err := fake.Inbound("+8613800138000", "4000")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"1", "1"} { // English, support
		time.Sleep(300 * time.Millisecond)
		caller.DTMF(d)
	}
	return caller
}

// legBridgedTo waits until agent's one leg on the fake is bridged with the channel peer, and
// returns the leg.
func legBridgedTo(ctx context.Context, t *testing.T, fake *aritest.Server, agent, peer string) *aritest.Call {
	t.Helper()
	var leg *aritest.Call
	if err := fake.Wait(ctx, peer+" bridged to "+agent, func() bool {
		if ls := fake.Legs(agent); len(ls) == 1 {
			leg = ls[0]
		}
		return leg != nil && bridgedTogether(fake, peer, leg.ID)
	}); err != nil {
		t.Fatal(err)
	}
	return leg
}

// Issue 12 on Asterisk: the support queue records (policy always) through two snoops on the
// caller, and supervisor 1003 (an endpoint here) listens, whispers and barges through a
// snoop on the agent; the fake's who-hears-whom model comes from genuine Asterisk 22 traces.
func TestRecordAndMonitorOnAsterisk(t *testing.T) {
	fake := aritest.New(t, aritest.Options{Second: 20 * time.Millisecond,
		SoundLength: func(string) time.Duration { return time.Minute }})
	fake.SetAgent("1001", aritest.Answer)
	fake.SetAgent("1003", aritest.Answer)
	h := startHotline(t, func(c *config.Config) {
		c.Driver = "ari"
		c.ARI.URL, c.ARI.Username, c.ARI.Password, c.ARI.App = fake.URL(), fake.Username(), fake.Password(), fake.App()
		c.ARI.SoundsDir = t.TempDir()
		var agents []config.Agent
		for _, a := range c.Agents {
			if a.ID != "1003" { // 1003 is the traces' supervisor phone here
				agents = append(agents, a)
			}
		}
		c.Agents = agents
		c.Supervisors = []config.Supervisor{{ID: "1003", Name: "Mei", Password: "x"}}
	}, WithFlowClock(func() time.Time { return mondayMorning }))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fake.Wait(ctx, "1001 logged in", func() bool { st, _ := h.ACD().AgentState("1001"); return st == acd.Available }); err != nil {
		t.Fatal(err)
	}
	caller := callSupport(t, fake)
	leg := legBridgedTo(ctx, t, fake, "1001", caller.ID)
	j := h.calls.Get(caller.ID)
	if err := fake.Wait(ctx, "the recording", func() bool { return j.Live().Recording == call.RecordingOn }); err != nil {
		t.Fatalf("%v; journal %q", err, j.Journal())
	}
	contactID := j.ContactID()
	if err := h.monitors.Start(ctx, caller.ID, "1003", call.Listen, "test"); err != nil {
		t.Fatalf("listen: %v", err)
	}
	sup := fake.Legs("1003")
	if len(sup) != 1 {
		t.Fatalf("supervisor legs %d, want 1", len(sup))
	}
	s := sup[0].ID
	hearing := func(mode string, agentHearsSup, callerHearsSup bool) {
		t.Helper()
		if err := fake.Wait(ctx, mode, func() bool {
			return fake.Hears(s, caller.ID) && fake.Hears(s, leg.ID) &&
				fake.Hears(leg.ID, s) == agentHearsSup && fake.Hears(caller.ID, s) == callerHearsSup &&
				fake.Hears(caller.ID, leg.ID) && fake.Hears(leg.ID, caller.ID)
		}); err != nil {
			t.Errorf("%s: supervisor hears caller %v agent %v; agent hears supervisor %v; caller hears supervisor %v",
				mode, fake.Hears(s, caller.ID), fake.Hears(s, leg.ID), fake.Hears(leg.ID, s), fake.Hears(caller.ID, s))
		}
	}
	hearing("listen", false, false)
	if _, err := h.monitors.SetMode(ctx, caller.ID, call.Whisper, "test"); err != nil {
		t.Fatal(err)
	}
	hearing("whisper", true, false)
	if _, err := h.monitors.SetMode(ctx, caller.ID, call.Barge, "test"); err != nil {
		t.Fatal(err)
	}
	hearing("barge", true, true)
	if changed, err := h.recorder.Pause(ctx, j, "1001"); err != nil || !changed {
		t.Fatalf("pause: %v %v", changed, err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := h.recorder.Resume(ctx, j, "1001"); err != nil {
		t.Fatal(err)
	}
	sup[0].Hangup()
	if err := fake.Wait(ctx, "caller and agent bridged again", func() bool {
		return j.Live().Monitor == nil && bridgedTogether(fake, caller.ID, leg.ID)
	}); err != nil {
		t.Fatal(err)
	}
	caller.Hangup()
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	t.Logf("journal: %s", strings.Join(rec.Queued, "; "))
	list, _, err := h.Store().ListRecordings(ctx, customers.RecordingFilter{ContactID: contactID}, customers.Page{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("recordings of the contact: %d, %v; want 1", len(list), err)
	}
	r := list[0]
	t.Logf("recording %s: %v, %d bytes, paused %v, agents %v, incomplete %v", r.ID, r.Duration, r.Size, r.Paused, r.Agents, r.Incomplete)
	if len(r.Paused) != 1 || strings.Join(r.Agents, ",") != "1001" {
		t.Errorf("recording metadata: paused %v, agents %v; want one span and 1001", r.Paused, r.Agents)
	}
	path, _ := h.Store().Recordings().Path(r.ID)
	if _, f, err := audio.LoadWAVChannels(path); err != nil || f.Channels != 2 {
		t.Errorf("recording %s: %+v, %v; want two channels", path, f, err)
	}
}
