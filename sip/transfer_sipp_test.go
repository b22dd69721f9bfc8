package sip

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// agentBridge is a handler that answers a caller, dials the agent phone at agentURI, bridges
// the two and gives the agent leg's requests to onRequest until it returns false or a leg
// hangs up; then the handler returns (hotline hangs up both legs).
func agentBridge(agentURI func() string, onRequest func(caller, agent *Channel, r call.Request) bool, errc chan<- error) call.Handler {
	return func(ch call.Channel) {
		ctx := ch.Context()
		if err := ch.Answer(ctx); err != nil {
			errc <- err
			return
		}
		caller := ch.(*Channel)
		leg, err := caller.s.Originate(ctx, call.Target{URI: agentURI()}, call.OriginateOptions{CallerID: ch.Caller(), RingTimeout: 5 * time.Second})
		if err != nil {
			errc <- err
			return
		}
		agent := leg.(*Channel)
		defer agent.Hangup(call.CauseNormal)
		reqs := agent.Requests() // before the phone can ask anything
		bctx, stop := context.WithCancel(ctx)
		bridged := make(chan struct{})
		go func() { defer close(bridged); _, _ = caller.Bridge(bctx, agent) }()
		defer func() { stop(); <-bridged }()
		for {
			select {
			case r, ok := <-reqs:
				if !ok || !onRequest(caller, agent, r) {
					errc <- nil
					return
				}
			case <-bridged:
				errc <- nil
				return
			case <-time.After(15 * time.Second):
				errc <- fmt.Errorf("the agent leg asked nothing in 15 s")
				return
			}
		}
	}
}

// A blind transfer from an agent's phone, a real sipp UAS hotline dialed: its REFER in the
// dialog hotline began gets 202 and reaches the call path as a TransferRequest for 1002;
// the call path's two reports reach the phone as NOTIFYs of message/sipfrag, 100 then 200,
// which the scenario checks by regexp and answers, before hotline's BYE.
func TestReferFromAgentLeg(t *testing.T) {
	phone := sipptest.Start(t, sipptest.Options{Scenario: "uas_refer.xml"})
	got := make(chan call.TransferRequest, 1)
	errc := make(chan error, 1)
	srv := startServer(t, agentBridge(func() string { return fmt.Sprintf("sip:1001@127.0.0.1:%d", phone.Port) },
		func(_, _ *Channel, r call.Request) bool {
			tr, ok := r.(call.TransferRequest)
			if !ok {
				errc <- fmt.Errorf("got %#v, want a TransferRequest", r)
				return false
			}
			tr.Report(call.TransferProgress{Status: 100, Reason: "Trying"})
			tr.Report(call.TransferProgress{Status: 200, Reason: "OK"})
			got <- tr
			return false // transferred: hotline hangs the agent up
		}, errc))
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_answer.xml", Target: srv.addr, Service: "hotline"})
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("handler: %v\nagent:\n%s", err, phone.Log())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the handler never finished\nagent:\n%s", phone.Log())
	}
	var tr call.TransferRequest
	select {
	case tr = <-got:
	default:
		t.Fatalf("no TransferRequest\nagent:\n%s", phone.Log())
	}
	if tr.Target != "1002" || !strings.HasPrefix(tr.TargetURI, "sip:1002@127.0.0.1") || tr.Replaces != nil {
		t.Errorf("transfer to %q (%q, Replaces %v), want a blind one to 1002", tr.Target, tr.TargetURI, tr.Replaces)
	}
	phone.MustSucceed(t) // 202, both NOTIFYs as the scenario wants them, then the BYE
	caller.MustSucceed(t)
	if n := strings.Count(phone.Messages(), "NOTIFY sip:"); n != 2 {
		t.Errorf("the phone got %d NOTIFYs, want 2", n)
	}
}

// An agent's phone puts the caller on hold and takes it off again (re-INVITEs a=sendonly,
// then a=sendrecv): the call path gets HoldRequest true then false, and the caller hears
// what the call path plays meanwhile.
func TestHoldFromAgentLeg(t *testing.T) {
	hold := tonePrompt(t, 300*time.Millisecond)
	phone := sipptest.Start(t, sipptest.Options{Scenario: "uas_hold.xml", Pause: 1500 * time.Millisecond})
	var holds []bool
	var heldPackets uint64
	errc := make(chan error, 1)
	var stopMusic context.CancelFunc
	var music chan struct{}
	var sentAtHold uint64
	srv := startServer(t, agentBridge(func() string { return fmt.Sprintf("sip:1001@127.0.0.1:%d", phone.Port) },
		func(caller, _ *Channel, r call.Request) bool {
			h, ok := r.(call.HoldRequest)
			if !ok {
				errc <- fmt.Errorf("got %#v, want a HoldRequest", r)
				return false
			}
			holds = append(holds, h.Hold)
			if h.Hold { // music on hold, over the bridge's relay (the agent sends nothing)
				var mctx context.Context
				mctx, stopMusic = context.WithCancel(caller.Context())
				music = make(chan struct{})
				sentAtHold = caller.Media().Stats().PacketsSent
				go func() {
					defer close(music)
					_, _ = caller.Play(mctx, []call.Prompt{{File: hold}}, call.PlayOptions{Loop: true})
				}()
				return true
			}
			if stopMusic != nil {
				stopMusic()
				<-music
				heldPackets = caller.Media().Stats().PacketsSent - sentAtHold
			}
			return false
		}, errc))
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_answer.xml", Target: srv.addr, Service: "hotline"})
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("handler: %v\nagent:\n%s", err, phone.Log())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the handler never finished\nagent:\n%s", phone.Log())
	}
	phone.MustSucceed(t) // 200s with a=recvonly then a=sendrecv, then the BYE
	caller.MustSucceed(t)
	if fmt.Sprint(holds) != "[true false]" {
		t.Errorf("hold requests %v, want [true false]", holds)
	}
	// 1.5 s on hold at 20 ms a packet: about 75 reach the caller.
	if heldPackets < 40 {
		t.Errorf("the caller got %d RTP packets while on hold, want about 75", heldPackets)
	}
	t.Logf("on hold: %d packets to the caller", heldPackets)
}

// A phone's REFERs hotline refuses, on an inbound leg: one whose Refer-To it cannot read gets
// 400 with a Warning saying why; one taken (Refer-Sub: false) 202; one while that transfer is
// under way 491. The call stays up throughout and ends with the phone's BYE.
func TestReferRefusedOnInboundLeg(t *testing.T) {
	got := make(chan []call.Request, 1)
	srv := startServer(t, func(ch call.Channel) {
		ctx := ch.Context()
		reqs := ch.(call.Requester).Requests()
		if err := ch.Answer(ctx); err != nil {
			return
		}
		var all []call.Request
		for r := range reqs { // closed when the caller hangs up
			all = append(all, r)
		}
		got <- all
	})
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_refer_refused.xml", Target: srv.addr, Service: "hotline"})
	p.MustSucceed(t)
	select {
	case all := <-got:
		if len(all) != 1 {
			t.Fatalf("the call path got %d requests, want the one REFER taken: %#v", len(all), all)
		}
		if tr, ok := all[0].(call.TransferRequest); !ok || tr.Target != "1002" {
			t.Errorf("got %#v, want the transfer to 1002", all[0])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler never finished")
	}
	msgs := p.Messages()
	for _, want := range []string{"SIP/2.0 400 Bad Refer-To", "SIP/2.0 202 Accepted", "Refer-Sub: false", "SIP/2.0 491 Request Pending"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the phone never got %q\n%s", want, p.Log())
		}
	}
}
