package ari

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/ari/aritest"
	"github.com/hotline-cc/hotline/call"
)

// A whole call on the fake Asterisk: the caller is answered, barges into the welcome prompt,
// keys a number, an agent is originated and bridged, the caller hangs up, hotline hangs the
// agent up and tears the bridge down.
func TestWholeCall(t *testing.T) {
	type outcome struct {
		caller    call.Party
		dialed    string
		barge     string
		digits    string
		agentID   string
		agentTo   string
		bridgeWho string
		errs      []error
	}
	results := make(chan outcome, 1)
	var h *harness
	h = start(t, harnessOptions{}, func(ch call.Channel) {
		var o outcome
		defer func() { results <- o }()
		fail := func(err error) bool {
			if err != nil {
				o.errs = append(o.errs, err)
			}
			return err != nil
		}
		ctx := context.Background()
		o.caller, o.dialed = ch.Caller(), ch.Dialed()
		if fail(ch.Answer(ctx)) {
			return
		}
		var err error
		if o.barge, err = ch.Play(ctx, h.prompt("hotline-long"), call.PlayOptions{Interruptible: true}); fail(err) {
			return
		}
		if o.digits, err = ch.ReadDigits(ctx, call.DigitOptions{Terminator: "#", FirstTimeout: 2 * time.Second, InterTimeout: 2 * time.Second}); fail(err) {
			return
		}
		agent, err := h.drv.Originate(ctx, call.Target{Agent: "1001"}, call.OriginateOptions{CallerID: ch.Caller(), RingTimeout: 5 * time.Second})
		if fail(err) {
			return
		}
		o.agentID, o.agentTo = agent.ID(), agent.Dialed()
		o.bridgeWho, err = ch.Bridge(ctx, agent)
		fail(err)
		fail(agent.Hangup(call.CauseNormal))
	})
	h.fake.SetAgent("1001", aritest.Answer)

	caller := h.inbound("+4930123456", "1000")
	h.until("the welcome prompt", func() bool { return h.fake.Playing(caller.ID) != "" })
	pb := h.fake.Playing(caller.ID)
	if err := caller.DTMF("1"); err != nil { // barges in
		t.Fatal(err)
	}
	if err := caller.DTMF("42#"); err != nil { // typed on: buffered for ReadDigits
		t.Fatal(err)
	}
	var bridgeID string
	h.until("caller and agent bridged", func() bool {
		for id, chans := range h.fake.Bridged() {
			if len(chans) == 2 {
				bridgeID = id
				return true
			}
		}
		return false
	})
	legs := h.fake.Legs("1001")
	if len(legs) != 1 {
		t.Fatalf("agent legs in Asterisk = %d, want 1", len(legs))
	}
	caller.Hangup()
	o := recv(t, results, "the handler to finish")
	h.wait(legs[0].Done(), "hotline to hang the agent up")

	if len(o.errs) > 0 {
		t.Fatalf("handler errors: %v", o.errs)
	}
	if o.caller.Number != "+4930123456" || o.caller.Name != "Hotline Caller" || o.dialed != "1000" {
		t.Errorf("caller %+v dialed %q, want +4930123456 (Hotline Caller) dialing 1000", o.caller, o.dialed)
	}
	if o.barge != "1" || o.digits != "42" {
		t.Errorf("barge-in %q, digits %q; want 1 and 42", o.barge, o.digits)
	}
	if o.agentID != legs[0].ID || !strings.HasPrefix(o.agentID, "hotline-agent-") || o.agentTo != "1001" {
		t.Errorf("agent channel %q to %q, want the leg Asterisk answered (%s) to 1001", o.agentID, o.agentTo, legs[0].ID)
	}
	if o.bridgeWho != caller.ID {
		t.Errorf("Bridge returned %q, want the caller %q who hung up", o.bridgeWho, caller.ID)
	}

	// What Asterisk was asked, in the shape the traces show.
	if n := len(h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/answer")); n != 1 {
		t.Errorf("answers = %d, want 1", n)
	}
	plays := h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/play")
	if len(plays) != 1 || plays[0].Query.Get("media") != "sound:"+filepath.ToSlash(filepath.Join(h.sounds, "hotline-long")) || plays[0].Query.Get("playbackId") != pb {
		t.Errorf("play requests %+v, want one of sound:<sounds dir>/hotline-long with hotline's playback id %s", plays, pb)
	}
	if n := len(h.fake.Requested("DELETE", "/ari/playbacks/"+pb)); n != 1 {
		t.Errorf("DELETE of the barged-into playback = %d, want 1", n)
	}
	orig := h.fake.Requested("POST", "/ari/channels")
	if len(orig) != 1 {
		t.Fatalf("originates = %d, want 1", len(orig))
	}
	q := orig[0].Query
	if q.Get("endpoint") != "PJSIP/1001" || q.Get("app") != "hotline" || q.Get("channelId") != o.agentID ||
		q.Get("timeout") != "5" || q.Get("callerId") != "Hotline Caller <+4930123456>" {
		t.Errorf("originate query %v: want endpoint PJSIP/1001, app hotline, channelId %s, timeout 5, callerId of the caller", q, o.agentID)
	}
	br := h.fake.Requested("POST", "/ari/bridges")
	if len(br) != 1 || br[0].Query.Get("type") != "mixing" || br[0].Query.Get("bridgeId") != bridgeID {
		t.Errorf("bridge creation %+v, want one mixing bridge with hotline's id %s", br, bridgeID)
	}
	add := h.fake.Requested("POST", "/ari/bridges/"+bridgeID+"/addChannel")
	if len(add) != 1 || add[0].Query.Get("channel") != caller.ID+","+o.agentID {
		t.Errorf("addChannel %+v, want both legs", add)
	}
	if hang := h.fake.Requested("DELETE", "/ari/channels/"+o.agentID); len(hang) != 1 || hang[0].Query.Get("reason") != "normal" {
		t.Errorf("agent hangups %+v, want one DELETE reason=normal", hang)
	}
	if len(h.fake.Requested("DELETE", "/ari/bridges/"+bridgeID)) != 1 {
		t.Errorf("bridge %s was not destroyed", bridgeID)
	}
	h.until("every channel gone from hotline", func() bool { return h.drv.ActiveCalls() == 0 })
	if ch := h.fake.Channels(); len(ch) != 0 || len(h.fake.Bridged()) != 0 {
		t.Errorf("Asterisk still has channels %v / bridges %v", ch, h.fake.Bridged())
	}
	if n := h.client.subs.size(); n != 1 {
		t.Errorf("%d event subscriptions left, want 1 (the driver's StasisStart): playbacks, bridges or channels leak", n)
	}
	if n := len(h.fake.Requested("DELETE", "/ari/channels/"+caller.ID)); n != 0 {
		t.Errorf("hotline sent %d DELETEs for the caller who had hung up: want none", n)
	}
}

// Barge-in: a digit stops the playback (DELETE /playbacks/{id}, whose PlaybackFinished "done"
// arrives before the DELETE's response), Play returns that digit, the next digit stays
// buffered, and a digit typed ahead of a prompt barges in before it starts.
func TestBargeIn(t *testing.T) {
	type played struct {
		digit string
		err   error
		took  time.Duration
	}
	plays := make(chan played, 2)
	reads := make(chan string, 1)
	typed := make(chan struct{})
	var h *harness
	var ari *Channel
	answered := make(chan struct{})
	h = start(t, harnessOptions{}, func(ch call.Channel) {
		ctx := context.Background()
		ari = ch.(*Channel)
		_ = ch.Answer(ctx)
		close(answered)
		t0 := time.Now()
		d, err := ch.Play(ctx, h.prompt("hotline-long"), call.PlayOptions{Interruptible: true})
		plays <- played{d, err, time.Since(t0)}
		got, err := ch.ReadDigits(ctx, call.DigitOptions{Max: 1, FirstTimeout: time.Second})
		if err != nil {
			got = err.Error()
		}
		reads <- got
		<-typed
		d, err = ch.Play(ctx, h.prompt("hotline-welcome"), call.PlayOptions{Interruptible: true})
		plays <- played{d, err, 0}
	})
	caller := h.inbound("", "")
	h.wait(answered, "the answer")
	h.until("the prompt playing", func() bool { return h.fake.Playing(caller.ID) != "" })
	pb := h.fake.Playing(caller.ID)
	pressed := time.Now()
	if err := caller.DTMF("12"); err != nil {
		t.Fatal(err)
	}
	p := recv(t, plays, "Play to return")
	if p.err != nil || p.digit != "1" {
		t.Fatalf("Play = %q, %v; want the barge-in digit 1", p.digit, p.err)
	}
	if took := time.Since(pressed); took > time.Second {
		t.Errorf("Play returned %v after the digit: the PlaybackFinished sent before the DELETE response was missed", took)
	}
	if n := len(h.fake.Requested("DELETE", "/ari/playbacks/"+pb)); n != 1 {
		t.Errorf("DELETE /ari/playbacks/%s sent %d times, want 1", pb, n)
	}
	if h.fake.Playing(caller.ID) != "" {
		t.Error("the prompt is still playing after barge-in")
	}
	if got := recv(t, reads, "ReadDigits"); got != "2" {
		t.Errorf("ReadDigits after barge-in = %q, want the buffered 2", got)
	}

	// Typed ahead: the digit is in the buffer before Play starts, so no playback is even started.
	if err := caller.DTMF("9"); err != nil {
		t.Fatal(err)
	}
	h.until("the digit in the buffer", func() bool { return len(ari.digits.C()) == 1 })
	close(typed)
	if p := recv(t, plays, "the second Play"); p.err != nil || p.digit != "9" {
		t.Errorf("Play with a digit typed ahead = %q, %v; want 9", p.digit, p.err)
	}
	if n := len(h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/play")); n != 1 {
		t.Errorf("plays = %d, want 1 (the typed-ahead digit barges in before the prompt starts)", n)
	}
	caller.Hangup()
}

// The caller hangs up while hotline plays: Play ends with call.ErrHangup (PlaybackFinished
// "failed" and StasisEnd), the channel's Context is done, and later operations fail fast.
func TestRemoteHangupDuringPlay(t *testing.T) {
	errs := make(chan error, 2)
	var h *harness
	h = start(t, harnessOptions{}, func(ch call.Channel) {
		ctx := context.Background()
		_ = ch.Answer(ctx)
		_, err := ch.Play(ctx, h.prompt("hotline-long"), call.PlayOptions{})
		errs <- err
		<-ch.Context().Done()
		_, err = ch.ReadDigits(ctx, call.DigitOptions{Max: 1})
		errs <- err
	})
	caller := h.inbound("", "")
	h.until("the prompt playing", func() bool { return h.fake.Playing(caller.ID) != "" })
	caller.Hangup()
	if err := recv(t, errs, "Play"); !errors.Is(err, call.ErrHangup) {
		t.Errorf("Play after the caller hung up = %v, want ErrHangup", err)
	}
	if err := recv(t, errs, "ReadDigits"); !errors.Is(err, call.ErrHangup) {
		t.Errorf("ReadDigits after the caller hung up = %v, want ErrHangup", err)
	}
	h.until("the call released", func() bool { return h.drv.ActiveCalls() == 0 })
}

// Music on hold: a looping Play starts the prompt again each time it finishes, until the
// caller of Play cancels; the playback running then is stopped.
func TestPlayLoopUntilCancelled(t *testing.T) {
	stop := make(chan struct{})
	errs := make(chan error, 1)
	var h *harness
	h = start(t, harnessOptions{}, func(ch call.Channel) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-stop; cancel() }()
		_, err := ch.Play(ctx, h.prompt("hotline-welcome"), call.PlayOptions{Loop: true})
		errs <- err
	})
	caller := h.inbound("", "")
	plays := func() int { return len(h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/play")) }
	h.until("the prompt started a third time", func() bool { return plays() >= 3 && h.fake.Playing(caller.ID) != "" })
	close(stop)
	if err := recv(t, errs, "Play to end"); !errors.Is(err, context.Canceled) {
		t.Errorf("looping Play after cancel = %v, want context.Canceled", err)
	}
	all := h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/play")
	last := all[len(all)-1].Query.Get("playbackId")
	if len(h.fake.Requested("DELETE", "/ari/playbacks/"+last)) != 1 || h.fake.Playing(caller.ID) != "" {
		t.Errorf("the running playback %s was not stopped", last)
	}
	caller.Hangup()
}
