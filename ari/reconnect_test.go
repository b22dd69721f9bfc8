package ari

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
)

// edge/ws-reconnect: the event WebSocket drops. Asterisk replays nothing, so events in the
// gap are lost; hotline reconnects with exponential backoff and then asks GET /channels:
// the call that hung up during the gap is ended (Context done, cause normal), the call still
// in Asterisk survives and gets the events sent after the reconnect, and a playback that
// finished during the gap is found finished (GET /playbacks/{id} is 404).
func TestEventsReconnect(t *testing.T) {
	type result struct {
		id     string
		digits string
		err    error
		cause  call.Cause
	}
	started := make(chan string, 2)
	results := make(chan result, 2)
	played := make(chan error, 1)
	playNow := make(chan struct{})
	h := start(t, harnessOptions{}, func(ch call.Channel) {
		bg := context.Background()
		_ = ch.Answer(bg)
		started <- ch.ID()
		d, err := ch.ReadDigits(bg, call.DigitOptions{Max: 1, FirstTimeout: 5 * time.Second})
		results <- result{ch.ID(), d, err, ch.(*Channel).Cause()}
		if err != nil {
			return
		}
		<-playNow
		_, err = ch.Play(bg, []call.Prompt{{Silence: time.Second}}, call.PlayOptions{})
		played <- err
		<-ch.Context().Done()
	})
	reconnects := counterValue(t, mReconnects)

	a, b := h.inbound("+4930000001", ""), h.inbound("+4930000002", "")
	recv(t, started, "a call")
	recv(t, started, "the other call")

	h.fake.RefuseEvents(2) // Asterisk unreachable for two attempts: 20 ms, 40 ms, then 80 ms
	dropped := time.Now()
	h.fake.DropEvents()
	b.Hangup() // in the gap: ChannelHangupRequest and StasisEnd are lost
	if err := a.DTMF("1"); err != nil {
		t.Fatal(err)
	}
	lost := h.fake.Lost()
	for _, typ := range []string{"ChannelHangupRequest", "StasisEnd", "ChannelDtmfReceived"} {
		if !slices.Contains(lost, typ) {
			t.Errorf("%s was not sent during the gap (lost: %v)", typ, lost)
		}
	}

	gone := recv(t, results, "the call Asterisk no longer has to end")
	if gone.id != b.ID || !errors.Is(gone.err, call.ErrHangup) || gone.cause != call.CauseNormal {
		t.Fatalf("after reconnect: %+v; want call %s ended with ErrHangup, cause normal", gone, b.ID)
	}
	if h.fake.Connects() != 2 {
		t.Errorf("connections = %d, want 2", h.fake.Connects())
	}
	if len(h.fake.Requested("GET", "/ari/channels")) == 0 {
		t.Error("no GET /ari/channels after the reconnect")
	}
	if got := counterValue(t, mReconnects) - reconnects; got != 1 {
		t.Errorf("hotline_ari_reconnects_total rose by %v, want 1", got)
	}
	at := h.fake.Attempts()
	if len(at) != 4 {
		t.Fatalf("handshakes = %d, want 4 (first, two refused, the one that worked)", len(at))
	}
	waits := []time.Duration{at[1].Sub(dropped), at[2].Sub(at[1]), at[3].Sub(at[2])}
	for i, least := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond} {
		if waits[i] < least {
			t.Errorf("wait before reconnect attempt %d = %v, want at least %v (exponential backoff)", i+1, waits[i], least)
		}
	}

	// The survivor: still up, and it hears the digit pressed after the reconnect, not the lost one.
	select {
	case <-h.channel(a.ID).Context().Done():
		t.Fatal("the call Asterisk still has was ended")
	default:
	}
	if err := a.DTMF("2"); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, results, "the survivor's digit"); r.id != a.ID || r.digits != "2" || r.err != nil {
		t.Errorf("survivor read %+v, want the 2 sent after the reconnect", r)
	}

	// A playback whose PlaybackFinished falls in a second gap still ends.
	h.fake.RefuseEvents(2)
	close(playNow)
	h.until("the playback", func() bool { return h.fake.Playing(a.ID) != "" })
	pb := h.fake.Playing(a.ID)
	h.fake.DropEvents()
	if err := recv(t, played, "Play to end"); err != nil {
		t.Errorf("Play across a gap = %v, want nil", err)
	}
	if !slices.Contains(h.fake.Lost(), "PlaybackFinished") || len(h.fake.Requested("GET", "/ari/playbacks/"+pb)) == 0 {
		t.Errorf("want PlaybackFinished lost and found out with GET /ari/playbacks/%s", pb)
	}
	a.Hangup()
}
