package sip

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// A caller whose INVITE has no SDP (PBXs and SBCs do this) gets hotline's offer in the 200
// and answers in the ACK: the call works as any other, digits included, on the codec the
// caller chose from the offer.
func TestLateOfferCall(t *testing.T) {
	h, got := digitReader("")
	srv := startServer(t, h)
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_late_offer.xml", Target: srv.addr, Service: "hotline"})
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatalf("handler: %v\n%s", r.err, p.Log())
		}
		if r.digits != "123#" || r.codec != "PCMA" {
			t.Errorf("digits %q on %s, want 123# on PCMA (the codec the ACK chose)", r.digits, r.codec)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("handler never finished\n%s", p.Log())
	}
	p.MustSucceed(t)
	// The 200 carried hotline's offer: both codecs and telephone-event.
	msgs := p.Messages()
	for _, want := range []string{"m=audio", "RTP/AVP 0 8 101", "a=rtpmap:101 telephone-event/8000"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the 200 has no %q\n%s", want, msgs)
		}
	}
}

// An ACK without the SDP answer leaves no media to use: Answer fails and the caller gets a BYE.
func TestLateOfferWithoutAnswerHangsUp(t *testing.T) {
	got := make(chan error, 1)
	srv := startServer(t, func(ch call.Channel) {
		got <- ch.Answer(ch.Context())
	})
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_late_offer_noanswer.xml", Target: srv.addr, Service: "hotline"})
	select {
	case err := <-got:
		if err == nil || !strings.Contains(err.Error(), "no SDP answer") {
			t.Errorf("Answer = %v, want an error saying the ACK had no answer", err)
		}
		if errors.Is(err, call.ErrHangup) {
			t.Errorf("Answer = %v: the caller did not hang up, hotline did", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("handler never finished\n%s", p.Log())
	}
	p.MustSucceed(t) // the scenario ends only on hotline's BYE
}
