package acd

import (
	"testing"
	"time"
)

func transferCfg() Config {
	return Config{
		Queues: []QueueConfig{
			{Name: "support", Strategy: LongestIdle, RingTimeout: 15 * time.Second, WrapUp: 10 * time.Second},
			{Name: "billing", Strategy: LongestIdle, RingTimeout: 15 * time.Second},
		},
		Agents: []AgentConfig{
			{ID: "a1", Queues: []string{"support"}},
			{ID: "a2", Queues: []string{"support"}},
			{ID: "b1", Queues: []string{"billing"}},
		},
	}
}

// A transfer to a colleague rings them while the caller stays with their agent; when the
// colleague answers the call is theirs and the first agent wraps up; one transfer is counted.
func TestTransferToAgentAnswered(t *testing.T) {
	r := newRig(t, transferCfg())
	r.login("a1")
	wantOffers(t, r.enqueue("c1", "support"), "c1→a1")
	r.ok(r.d.Answered("c1", "a1"))
	r.login("a2")
	r.advance(time.Minute)
	wantOffers(t, r.ok(r.d.OfferTransfer("c1", "a2")), "c1→a2")
	r.wantState("a2", Reserved)
	r.wantState("a1", OnCall) // still talking (or holding) until a2 answers
	if st := r.callState("c1"); st != CallConnected {
		t.Fatalf("c1 is %s while the transfer rings, want connected", st)
	}
	r.advance(5 * time.Second)
	r.ok(r.d.Answered("c1", "a2"))
	r.wantState("a1", WrapUp)
	r.wantState("a2", OnCall)
	if st, _ := r.d.CallStatus("c1"); len(st.Agents) != 1 || st.Agents[0] != "a2" {
		t.Errorf("c1 is with %v, want a2", st.Agents)
	}
	r.advance(2 * time.Minute)
	r.ok(r.d.Hangup("c1"))
	r.advance(11 * time.Second)
	q, _ := r.d.QueueStats("support")
	if q.Totals.Transferred != 1 || q.Totals.Answered != 1 || q.Totals.Handled != 2 {
		t.Errorf("totals: transferred %d, answered %d, handled %d; want 1, 1 (the caller was answered once), 2 (two agent parts)",
			q.Totals.Transferred, q.Totals.Answered, q.Totals.Handled)
	}
	if want := time.Minute + 5*time.Second + 2*time.Minute; q.Totals.TalkTime != want {
		t.Errorf("talk time %v, want %v: both agents' parts", q.Totals.TalkTime, want)
	}
	a1, _ := r.d.Agent("a1")
	if a1.Transfers != 1 {
		t.Errorf("a1 transfers = %d, want 1", a1.Transfers)
	}
}

// A colleague who does not answer costs them a miss, and the caller stays with their agent.
func TestTransferToAgentNotAnswered(t *testing.T) {
	r := newRig(t, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.login("a2")
	r.ok(r.d.OfferTransfer("c1", "a2"))
	_, err := r.d.OfferTransfer("c1", "a2")
	wantErr(t, err, ErrTransferPending)
	acts := r.advance(16 * time.Second) // ring timeout
	if c := actionsOf[CancelOffer](acts); len(c) != 1 || c[0].AgentID != "a2" || c[0].Reason != CancelRingTimeout {
		t.Fatalf("after the ring timeout: %v", acts)
	}
	r.wantState("a1", OnCall)
	r.wantState("a2", Available)
	if st, _ := r.d.CallStatus("c1"); st.State != CallConnected || len(st.Agents) != 1 || st.Agents[0] != "a1" {
		t.Errorf("c1 = %+v, want connected to a1", st)
	}
	a2, _ := r.d.Agent("a2")
	if a2.Misses.NoAnswer != 1 {
		t.Errorf("a2 misses %+v", a2.Misses)
	}
	// Busy colleagues are refused at once.
	r.ok(r.d.Pause("a2", "lunch"))
	_, err = r.d.OfferTransfer("c1", "a2")
	wantErr(t, err, ErrAgentBusy, "a2", "paused")
	_, err = r.d.OfferTransfer("c1", "a1")
	wantErr(t, err, ErrInvalidCall, "already theirs")
}

// The caller hangs up while the transfer rings: the colleague's offer is withdrawn.
func TestTransferCallerHangsUp(t *testing.T) {
	r := newRig(t, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.login("a2")
	r.ok(r.d.OfferTransfer("c1", "a2"))
	acts := r.ok(r.d.Hangup("c1"))
	if c := actionsOf[CancelOffer](acts); len(c) != 1 || c[0].AgentID != "a2" {
		t.Fatalf("hangup during a transfer: %v", acts)
	}
	r.wantState("a2", Available)
	r.wantState("a1", WrapUp)
}

// A transfer to a queue puts the caller in line with their original arrival: ahead of
// someone who arrived after them.
func TestTransferToQueueKeepsArrival(t *testing.T) {
	r := newRig(t, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.advance(3 * time.Minute)
	r.enqueue("c2", "billing") // arrives three minutes after c1
	r.ok(r.d.Hold("c1", true))
	r.advance(20 * time.Second)
	r.ok(r.d.TransferToQueue("c1", "billing", true))
	r.wantState("a1", WrapUp)
	if pos, _, _ := r.d.Position("c1"); pos != 1 {
		t.Errorf("c1 is at position %d in billing, want 1 (it arrived first)", pos)
	}
	wantOffers(t, r.login("b1"), "c1→b1")
	r.advance(11 * time.Second)
	q, _ := r.d.QueueStats("support")
	if q.Totals.Transferred != 1 || q.Totals.HoldTime != 20*time.Second {
		t.Errorf("support: transferred %d, hold %v; want 1, 20s", q.Totals.Transferred, q.Totals.HoldTime)
	}
	// Without keeping the arrival, the transferred caller is a new arrival.
	r.ok(r.d.Answered("c1", "b1"))
	_, err := r.d.TransferToQueue("c1", "nowhere", true)
	wantErr(t, err, ErrUnknownQueue)
	r.ok(r.d.Pause("a1", "break")) // nobody takes support's callers now
	r.enqueue("c3", "support")
	r.ok(r.d.TransferToQueue("c1", "support", false))
	if pos, _, _ := r.d.Position("c1"); pos != 2 {
		t.Errorf("c1 is at position %d, want 2 (behind c3) without keep_arrival", pos)
	}
}

// A transfer out of the distributor's hands (an outside number) ends the agent's part.
func TestTransferAway(t *testing.T) {
	r := newRig(t, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.ok(r.d.TransferAway("c1"))
	r.wantState("a1", WrapUp)
	if st := r.callState("c1"); st != "gone" {
		t.Errorf("c1 is %s after leaving for an outside number", st)
	}
}

// An attended transfer: the colleague is rung for a consultation, is on call with the agent
// while the caller holds, and takes the call when the agent completes it; the call is theirs,
// the agent wraps up, one transfer counts. Ended without a transfer, the colleague is free
// again and the call stays where it was.
func TestConsultation(t *testing.T) {
	r := newRig(t, transferCfg())
	r.login("a1")
	r.enqueue("c1", "support")
	r.ok(r.d.Answered("c1", "a1"))
	r.ok(r.d.Hold("c1", true))
	r.login("a2")
	wantOffers(t, r.ok(r.d.OfferConsult("c1", "a2")), "c1→a2")
	r.ok(r.d.Answered("c1", "a2"))
	r.wantState("a2", OnCall)
	r.wantState("a1", OnCall)
	_, err := r.d.OfferConsult("c1", "a2")
	wantErr(t, err, ErrTransferPending)
	r.advance(30 * time.Second)
	r.ok(r.d.EndConsult("a2")) // a1 changes their mind
	r.wantState("a2", Available)
	if st, _ := r.d.CallStatus("c1"); len(st.Agents) != 1 || st.Agents[0] != "a1" {
		t.Fatalf("after the consultation the call is with %v", st.Agents)
	}
	r.ok(r.d.OfferConsult("c1", "a2"))
	r.ok(r.d.Answered("c1", "a2"))
	r.advance(10 * time.Second)
	r.ok(r.d.CompleteConsult("c1"))
	r.wantState("a1", WrapUp)
	r.wantState("a2", OnCall)
	if st, _ := r.d.CallStatus("c1"); len(st.Agents) != 1 || st.Agents[0] != "a2" {
		t.Fatalf("after the transfer the call is with %v", st.Agents)
	}
	r.advance(time.Minute)
	r.ok(r.d.Hangup("c1"))
	r.advance(11 * time.Second)
	q, _ := r.d.QueueStats("support")
	if q.Totals.Transferred != 1 || q.Totals.HoldTime != 40*time.Second {
		t.Errorf("transferred %d, hold %v; want 1 and the 40 s a1 held the caller", q.Totals.Transferred, q.Totals.HoldTime)
	}
	_, err = r.d.CompleteConsult("c1")
	wantErr(t, err, ErrUnknownCall)
	// The caller hangs up during a consultation: the agents may go on talking; the colleague
	// is freed when their consultation ends.
	o := offersIn(r.enqueue("c2", "support"))
	if len(o) != 1 {
		t.Fatalf("c2 offers %v", o)
	}
	r.ok(r.d.Answered("c2", o[0].AgentID))
	r.login("b1")
	r.ok(r.d.OfferConsult("c2", "b1"))
	r.ok(r.d.Answered("c2", "b1"))
	r.ok(r.d.Hangup("c2"))
	r.wantState("b1", OnCall)
	r.ok(r.d.EndConsult("b1"))
	r.wantState("b1", Available)
	_, err = r.d.EndConsult("b1")
	wantErr(t, err, ErrInvalidTransition)
}
