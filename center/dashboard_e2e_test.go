package center

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/dashboard/browsertest"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// Issue 6, acceptance 2 and 5, with real calls: the supervisor logs in with the printed
// link; a sipp caller appears on the wallboard within 1 s of entering the queue; the pause
// button pauses a real agent; a voicemail left by a sipp caller plays in the page; and the
// wallboard's service level is the one /metrics exports for the same queue.
func TestDashboardWithRealCalls(t *testing.T) {
	h := startHotline(t, recordsConfig(t, nil))
	b := browsertest.Start(t)
	link, ok := h.dash.LoginURL("http://" + h.httpAddr)
	if !ok {
		t.Fatal("no one-time login link at first start")
	}
	if err := b.Login(link); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.QueueWaiting("support"), "0", 3*time.Second); err != nil {
		t.Fatal(err)
	}

	// One caller answered within the target by agent 1001's phone: service level 100 %.
	phone := sipptest.Start(t, sipptest.Options{Scenario: "uas", Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", phone.Port)
	sipptest.Start(t, sipptest.Options{Scenario: "uac_hold.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 3 * time.Second, Keys: map[string]string{"caller": "+8613800000011"}}).MustSucceed(t)
	phone.MustSucceed(t)
	if err := h.live.AgentAction(context.Background(), "1001", dashboard.ActionLogout, ""); err != nil {
		t.Fatal(err)
	}

	// A second caller waits (nobody logged in; the queue offers callbacks) and gives up.
	queued := make(chan time.Time, 1)
	events, stop := h.live.Subscribe()
	go func() {
		for e := range events {
			if lc, ok := e.Data.(dashboard.LiveCall); ok && lc.State == dashboard.CallQueued && lc.Caller == "+8613800000012" {
				queued <- e.At
				return
			}
		}
	}()
	waiter := sipptest.Start(t, sipptest.Options{Scenario: "uac_hold.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 8 * time.Second, Keys: map[string]string{"caller": "+8613800000012"}})
	if _, err := b.WaitText(browsertest.QueueWaiting("support"), "1", 10*time.Second); err != nil {
		t.Fatalf("the waiting caller never showed on the wallboard: %v", err)
	}
	seen := time.Now()
	stop()
	select {
	case at := <-queued:
		if d := seen.Sub(at); d > time.Second {
			t.Errorf("the call showed on the wallboard %v after entering the queue, want within 1 s", d)
		} else {
			t.Logf("the call showed on the wallboard %v after entering the queue", d.Round(time.Millisecond))
		}
	case <-time.After(time.Second):
		t.Fatal("the center never reported the call as queued")
	}
	b.Screenshot("real-call-waiting")
	waiter.MustSucceed(t)

	// The pause button pauses a real agent in the distributor.
	if err := h.live.AgentAction(context.Background(), "1002", dashboard.ActionLogin, ""); err != nil {
		t.Fatal(err)
	}
	if err := b.ShowView("agents"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.AgentState("1002"), "available", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.SetValue(browsertest.AgentPauseReason("1002"), "lunch"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.AgentButton("1002", "pause")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.AgentState("1002"), "paused", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.ACD().Agent("1002"); st.State != acd.Paused || st.PauseReason != "lunch" {
		t.Errorf("after the button: %s %q, want paused for lunch", st.State, st.PauseReason)
	}
	b.Screenshot("real-agent-paused")

	// A real voicemail plays in the page.
	sipptest.Start(t, sipptest.Options{Scenario: "uac_voicemail.xml", Target: h.sipAddr, Service: "message",
		Pause: 4 * time.Second, Keys: map[string]string{"caller": "+8613800000013"}}).MustSucceed(t)
	tickets, _, err := h.Store().ListTickets(context.Background(), customers.TicketFilter{}, customers.Page{Limit: 5})
	if err != nil || len(tickets) != 1 {
		t.Fatalf("tickets %v %v", tickets, err)
	}
	if err := b.ShowView("tickets"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitText(browsertest.TicketRow(tickets[0].Number), "+8613800000013", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.TicketRow(tickets[0].Number)); err != nil {
		t.Fatal(err)
	}
	if err := b.Click(browsertest.PlayVoicemail); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitAudioPlaying(browsertest.VoicemailAudio, 0.5, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	b.Screenshot("real-voicemail-playing")

	// The wallboard and /metrics agree on the queue's service level (answered 1, abandoned 1: 50 %).
	if err := b.ShowView("wallboard"); err != nil {
		t.Fatal(err)
	}
	metric := metricValue(t, h.metrics(t), `hotline_queue_service_level_ratio{queue="support",variant="default",window="15m0s"}`)
	want := fmt.Sprintf("%.1f%%", metric*100) // the page shows one decimal
	if _, err := b.WaitText(browsertest.QueueServiceLevel("support"), want, 3*time.Second); err != nil {
		got, _ := b.Text(browsertest.QueueServiceLevel("support"))
		t.Errorf("wallboard shows service level %q, /metrics %v: %v", got, metric, err)
	}
	if math.Abs(metric-0.5) > 1e-9 {
		t.Errorf("service level %v, want 0.5 (one answered within target, one abandoned)", metric)
	}
	b.Screenshot("real-wallboard")
}
