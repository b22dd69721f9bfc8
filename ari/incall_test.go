package ari

import (
	"context"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/call"
)

// asterisk22/hold-moh and refer-blind: the phone's hold, unhold and REFER reach the call path
// as requests, in order; the transfer's progress goes back as transfer_progress states.
func TestRequestsHoldAndTransfer(t *testing.T) {
	got := make(chan call.Request, 4)
	h := start(t, harnessOptions{}, func(ch call.Channel) {
		_ = ch.Answer(context.Background())
		r, ok := ch.(call.Requester)
		if !ok {
			t.Error("ari channel is not a call.Requester")
			return
		}
		for req := range r.Requests() {
			if tr, ok := req.(call.TransferRequest); ok {
				tr.Report(call.TransferProgress{Status: 100, Reason: "Trying"})
				tr.Report(call.TransferProgress{Status: 200, Reason: "OK"})
				tr.Report(call.TransferProgress{Status: 503}) // after the final one: ignored
			}
			got <- req
		}
	})
	caller := h.inbound("", "")
	h.until("answered", func() bool { return len(h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/answer")) == 1 })
	if err := caller.Hold(true); err != nil {
		t.Fatal(err)
	}
	if err := caller.Hold(false); err != nil {
		t.Fatal(err)
	}
	if err := caller.Transfer("1002", ""); err != nil {
		t.Fatal(err)
	}
	want := []string{"hold", "unhold", "transfer 1002"}
	for i, w := range want {
		r := recv(t, got, "request "+w)
		var s string
		switch r := r.(type) {
		case call.HoldRequest:
			s = map[bool]string{true: "hold", false: "unhold"}[r.Hold]
		case call.TransferRequest:
			s = "transfer " + r.Target
			if r.Replaces != nil {
				t.Errorf("blind transfer with Replaces %+v", r.Replaces)
			}
		}
		if s != w {
			t.Fatalf("request %d = %s (%#v), want %s", i, s, r, w)
		}
	}
	if p := strings.Join(h.fake.TransferProgress(caller.ID), ","); p != "channel_progress,channel_answered" {
		t.Errorf("transfer_progress states = %s, want channel_progress,channel_answered", p)
	}
	caller.Hangup()
}

// asterisk22/refer-attended: Replaces carries the consultation's Call-ID and tags.
func TestTransferAttendedReplaces(t *testing.T) {
	got := make(chan call.Request, 1)
	h := start(t, harnessOptions{}, func(ch call.Channel) {
		_ = ch.Answer(context.Background())
		for req := range ch.(call.Requester).Requests() {
			got <- req
		}
	})
	caller := h.inbound("", "")
	cons := h.inbound("", "2000")
	h.until("answered", func() bool { return len(h.fake.Requested("POST", "/ari/channels/"+caller.ID+"/answer")) == 1 })
	if err := caller.Transfer("2000", cons.ID); err != nil {
		t.Fatal(err)
	}
	tr, _ := recv(t, got, "the transfer").(call.TransferRequest)
	if tr.Target != "2000" || tr.Replaces == nil || !strings.HasPrefix(tr.Replaces.CallID, "call-1001-") ||
		tr.Replaces.FromTag == "" || tr.Replaces.ToTag == "" {
		t.Errorf("attended transfer %+v (replaces %+v): want target 2000 and the traced Replaces", tr, tr.Replaces)
	}
	caller.Hangup()
	cons.Hangup()
}
