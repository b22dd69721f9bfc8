package waitroom

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/conversation"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/journey"
)

// reports collects a transfer's progress as the phone would see it in its NOTIFYs.
type reports struct {
	mu   sync.Mutex
	seen []int
	why  []string
}

func (r *reports) report(p call.TransferProgress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, p.Status)
	r.why = append(r.why, p.Reason)
}

func (r *reports) statuses() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.seen...)
}

// waitFinal waits for a final status and returns all statuses so far.
func (r *reports) waitFinal(t *testing.T) []int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s := r.statuses(); len(s) > 0 && s[len(s)-1] >= 200 {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no final transfer status; got %v", r.statuses())
	return nil
}

var planned = conversation.DialPlan{Agents: map[string]bool{"1001": true, "1002": true, "2001": true},
	Queues: map[string]bool{"support": true, "billing": true}, Extensions: map[string]string{"600": "billing"}}

func talkCfg(outbound func(context.Context, string) (string, error)) Config {
	return Config{Talk: conversation.Config{Plan: planned, Outbound: outbound}}
}

// talking starts a caller, waits until agent 1001 has answered them, and returns the
// caller, the agent's leg and a channel with the queue step's result.
func (e *env) talking(t *testing.T, id string) (*phone, *phone, *journey.Journey, chan ivr.QueueResult) {
	t.Helper()
	caller := newPhone(id)
	j := e.calls.Start(caller, "hotline")
	done := make(chan ivr.QueueResult, 1)
	go func() {
		res, err := e.room.Enqueue(caller.ctx, caller, ivr.QueueRequest{Queue: "support"})
		if err != nil {
			t.Errorf("enqueue: %v", err)
		}
		done <- res
	}()
	return caller, e.agentLeg(t, "1001", j), j, done
}

// agentLeg waits until agent's leg is the one the caller is connected to.
func (e *env) agentLeg(t *testing.T, agent string, j *journey.Journey) *phone {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		e.agents.mu.Lock()
		leg := e.agents.legs[agent]
		e.agents.mu.Unlock()
		if l := j.Live(); leg != nil && l.State == call.StateConnected && l.Agent == agent && j.AgentLeg() == call.Channel(leg) {
			return leg
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("agent %s never connected; journal %q", agent, j.Journal())
	return nil
}

func result(t *testing.T, done chan ivr.QueueResult) ivr.QueueResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("the queue step did not end")
	}
	return ivr.QueueResult{}
}

func (e *env) heardSince(p *phone, n int) []string { return p.said()[n:] }

// Hold: the caller hears the queue's music, not silence; resume restores the bridge; the
// hold time is on the segment and in the queue's figures.
func TestHoldPlaysMusicAndResumes(t *testing.T) {
	e := newEnvWith(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}, talkCfg(nil), "1001")
	e.agents.answer["1001"], e.agents.talk = nil, 0
	caller, leg, j, done := e.talking(t, "h1")
	before := len(caller.said())
	leg.reqs <- call.HoldRequest{Hold: true}
	time.Sleep(100 * time.Millisecond)
	if got := e.heardSince(caller, before); !slices.Contains(got, "jazz.wav") {
		t.Errorf("the held caller heard %q, want the queue's music", got)
	}
	if !j.Live().OnHold {
		t.Error("the live view does not show the hold")
	}
	leg.reqs <- call.HoldRequest{Hold: false}
	time.Sleep(20 * time.Millisecond)
	if j.Live().OnHold {
		t.Error("still on hold after resume")
	}
	leg.cancel() // the agent hangs up
	res := result(t, done)
	if res.Exit != ivr.QueueAnswered || res.Agent != "1001" {
		t.Errorf("result %+v", res)
	}
	segs := j.Segments()
	if len(segs) != 1 || segs[0].Hold < 80*time.Millisecond || segs[0].End != "hangup" {
		t.Errorf("segments %+v, want one of 1001 with about 100 ms hold", segs)
	}
	if q, _ := e.d.QueueStats("support"); q.Totals.HoldTime < 80*time.Millisecond {
		t.Errorf("queue hold time %v", q.Totals.HoldTime)
	}
	if jl := j.Journal(); !slices.Contains(jl, "hold by 1001") || !slices.Contains(jl, "resumed by 1001") {
		t.Errorf("journal %q", jl)
	}
}

// A blind transfer to a colleague: the phone hears 100, 180 and 200; the caller ends up with
// 1002; 1001's part is a segment that says where the call went; one transfer is counted.
func TestBlindTransferToAgent(t *testing.T) {
	e := newEnvWith(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}, talkCfg(nil), "1001")
	e.agents.answer["1001"], e.agents.answer["1002"], e.agents.talk = nil, nil, 0
	_, leg, j, done := e.talking(t, "t1")
	if _, err := e.d.Login("1002"); err != nil {
		t.Fatal(err)
	}
	var rep reports
	leg.reqs <- call.TransferRequest{Target: "1002", Report: rep.report}
	if got := rep.waitFinal(t); !slices.Equal(got, []int{100, 200}) {
		t.Errorf("progress %v, want 100 200", got)
	}
	colleague := e.agentLeg(t, "1002", j)
	if leg.ctx.Err() == nil {
		t.Error("the transferring agent's leg is still up")
	}
	colleague.cancel()
	res := result(t, done)
	if res.Exit != ivr.QueueAnswered || res.Agent != "1002" {
		t.Errorf("result %+v, want answered, last agent 1002", res)
	}
	segs := j.Segments()
	if len(segs) != 2 || segs[0].Agent != "1001" || segs[0].End != "transferred to agent 1002" || segs[1].Agent != "1002" || segs[1].End != "hangup" {
		t.Errorf("segments %+v", segs)
	}
	if q, _ := e.d.QueueStats("support"); q.Totals.Transferred != 1 || q.Totals.Answered != 1 {
		t.Errorf("support: transferred %d, answered %d; want 1, 1", q.Totals.Transferred, q.Totals.Answered)
	}
	if a, _ := e.d.Agent("1001"); a.Transfers != 1 {
		t.Errorf("1001 transfers %d", a.Transfers)
	}
}

// A colleague who is busy or does not answer: the phone hears why, the caller goes back to
// the agent who transferred them.
func TestFailedTransferReturnsTheCaller(t *testing.T) {
	e := newEnvWith(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}, talkCfg(nil), "1001")
	e.agents.answer["1001"], e.agents.talk = nil, 0
	e.agents.answer["1002"] = &call.DialError{Err: call.ErrBusy, Status: 486}
	_, leg, j, done := e.talking(t, "t2")
	var paused reports
	leg.reqs <- call.TransferRequest{Target: "1002", Report: paused.report} // 1002 is logged out
	if got := paused.waitFinal(t); !slices.Equal(got, []int{100, 486}) {
		t.Errorf("to a logged-out agent: progress %v, want 100 486", got)
	}
	if _, err := e.d.Login("1002"); err != nil {
		t.Fatal(err)
	}
	var busy reports
	leg.reqs <- call.TransferRequest{Target: "1002", Report: busy.report}
	if got := busy.waitFinal(t); !slices.Equal(got, []int{100, 486}) {
		t.Errorf("to a busy phone: progress %v, want 100 486", got)
	}
	var nowhere reports
	leg.reqs <- call.TransferRequest{Target: "queue-nowhere", Report: nowhere.report}
	if got := nowhere.waitFinal(t); !slices.Equal(got, []int{100, 404}) || !strings.Contains(nowhere.why[1], `no queue "nowhere"`) {
		t.Errorf("to an unknown queue: %v %q", got, nowhere.why)
	}
	e.agentLeg(t, "1001", j) // back with 1001
	leg.cancel()
	if res := result(t, done); res.Agent != "1001" || res.Exit != ivr.QueueAnswered {
		t.Errorf("result %+v, want answered by 1001", res)
	}
}

// A transfer to a queue (by its extension) puts the caller in that line with their original
// arrival; the agent in that queue answers; the stay is one result with both agents.
func TestBlindTransferToQueue(t *testing.T) {
	e := newEnvWith(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}, talkCfg(nil), "1001")
	e.agents.answer["1001"], e.agents.answer["2001"], e.agents.talk = nil, nil, 0
	_, leg, j, done := e.talking(t, "t3")
	var rep reports
	leg.reqs <- call.TransferRequest{Target: "600", Report: rep.report}
	if got := rep.waitFinal(t); !slices.Equal(got, []int{100, 200}) {
		t.Errorf("progress %v, want 100 200", got)
	}
	st, ok := e.d.CallStatus("t3")
	if !ok || st.Queue != "billing" || st.Waited < 0 {
		t.Fatalf("after the transfer the call is %+v (%v), want waiting in billing", st, ok)
	}
	acts, err := e.d.Login("2001")
	if err != nil {
		t.Fatal(err)
	}
	e.room.Apply(acts)
	e.agentLeg(t, "2001", j).cancel()
	res := result(t, done)
	if res.Exit != ivr.QueueAnswered || res.Agent != "2001" || res.Queue != "billing" {
		t.Errorf("result %+v, want answered by 2001 in billing", res)
	}
	if segs := j.Segments(); len(segs) != 2 || segs[0].End != "transferred to queue billing" {
		t.Errorf("segments %+v", segs)
	}
}

// The agent hangs up while the colleague rings and the colleague does not answer: the
// caller goes back to the front of the queue they came from, not dropped.
func TestAgentGoneTransferFailsCallerRequeued(t *testing.T) {
	e := newEnvWith(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 300 * time.Millisecond}, talkCfg(nil), "1001")
	e.agents.answer["1001"], e.agents.talk = nil, 0
	_, leg, j, done := e.talking(t, "t4")
	if _, err := e.d.Login("1002"); err != nil {
		t.Fatal(err)
	}
	var rep reports // 1002 has no answer entry: it rings until the ring timeout
	leg.reqs <- call.TransferRequest{Target: "1002", Report: rep.report}
	time.Sleep(50 * time.Millisecond)
	e.agents.mu.Lock()
	e.agents.answer["1001"] = &call.DialError{Err: call.ErrBusy, Status: 486} // and takes no more calls
	e.agents.mu.Unlock()
	leg.cancel() // 1001 leaves during the transfer
	if got := rep.waitFinal(t); got[len(got)-1] != 408 {
		t.Errorf("progress %v, want a final 408", got)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) { // the distributor is told first, the journal after
		if st, ok := e.d.CallStatus("t4"); ok && st.State != acd.CallConnected && slices.Contains(j.Journal(), "back in line in support") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st, ok := e.d.CallStatus("t4"); !ok || st.Queue != "support" {
		t.Fatalf("the caller is %+v (%v), want back in support", st, ok)
	}
	if jl := j.Journal(); !slices.Contains(jl, "back in line in support") {
		t.Errorf("journal %q", jl)
	}
	j.Channel().(*phone).cancel()
	if res := result(t, done); res.Exit != ivr.QueueHangup {
		t.Errorf("result %+v, want hangup while waiting again", res)
	}
}

// An outside number is dialed only when the policy allows it; refused, the phone hears why.
// Through the API (journey.Ask) the same rules hold.
func TestTransferToNumber(t *testing.T) {
	allow := func(_ context.Context, n string) (string, error) {
		if strings.HasPrefix(n, "+86") {
			return n, nil
		}
		return "", fmt.Errorf("number %s is outside the allowed prefixes +86", n)
	}
	e := newEnvWith(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}, talkCfg(allow), "1001")
	e.agents.answer["1001"], e.agents.talk = nil, 0
	e.agents.answer["uri:+8610123456"] = nil
	_, leg, j, done := e.talking(t, "t5")
	var refused reports
	if err := j.Ask(call.TransferRequest{Target: "+4420123456", Report: refused.report}); err != nil {
		t.Fatal(err)
	}
	if got := refused.waitFinal(t); !slices.Equal(got, []int{100, 403}) || !strings.Contains(refused.why[1], "outside the allowed prefixes") {
		t.Errorf("refused number: %v %q", got, refused.why)
	}
	var rep reports
	leg.reqs <- call.TransferRequest{Target: "+8610123456", Report: rep.report}
	if got := rep.waitFinal(t); !slices.Equal(got, []int{100, 200}) {
		t.Errorf("allowed number: %v", got)
	}
	e.agents.mu.Lock()
	outside := e.agents.legs["uri:+8610123456"]
	e.agents.mu.Unlock()
	if leg.ctx.Err() == nil || outside == nil {
		t.Fatal("the agent is still on the call, or the number was not dialed")
	}
	if st, _ := e.d.AgentState("1001"); st == acd.OnCall {
		t.Error("1001 is still on call after transferring away")
	}
	outside.cancel()
	if res := result(t, done); res.Exit != ivr.QueueAnswered || res.Agent != "1001" {
		t.Errorf("result %+v", res)
	}
	if err := j.Ask(call.HoldRequest{Hold: true}); !errors.Is(err, journey.ErrNotTalking) {
		t.Errorf("Ask after the conversation: %v, want ErrNotTalking", err)
	}
}

// resolver names the consultation leg for a Replaces whose Call-ID is its ID (the fake phone
// uses its channel ID as the dialog's Call-ID).
type resolver struct{}

func (resolver) Resolve(r call.Replaces) (string, bool) { return r.CallID, r.CallID != "" }

// An attended transfer: 1001 holds the caller, calls 1002 from the phone (the consultation),
// then REFERs with Replaces naming that consultation: the caller ends up with 1002 and both
// of 1001's calls are hung up. A Replaces that names no call of the conversation is a 481 and
// changes nothing; a consultation the agent ends frees the colleague.
func TestAttendedTransfer(t *testing.T) {
	cfg := talkCfg(nil)
	cfg.Talk.Resolver = resolver{}
	e := newEnvWith(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}, cfg, "1001")
	e.agents.answer["1001"], e.agents.answer["1002"], e.agents.talk = nil, nil, 0
	caller, leg, j, done := e.talking(t, "a1")
	acts, err := e.d.Login("1002")
	if err != nil {
		t.Fatal(err)
	}
	e.room.Apply(acts)
	leg.reqs <- call.HoldRequest{Hold: true}

	// A consultation the agent ends without transferring.
	consult := newPhoneTo("consult-1", "1002")
	go e.room.Consult(consult, "1001")
	deadline := time.Now().Add(3 * time.Second)
	for !slices.Contains(j.Journal(), "consulting 1002") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st, _ := e.d.AgentState("1002"); st != acd.OnCall {
		t.Fatalf("1002 is %s while consulted, want on call; journal %q", st, j.Journal())
	}
	consult.cancel()
	for st, _ := e.d.AgentState("1002"); st != acd.Available && time.Now().Before(deadline); st, _ = e.d.AgentState("1002") {
		time.Sleep(5 * time.Millisecond)
	}
	if st, _ := e.d.AgentState("1002"); st != acd.Available {
		t.Fatalf("1002 is %s after the consultation ended, want available", st)
	}

	// Again, and this time the transfer is completed.
	consult = newPhoneTo("consult-2", "1002")
	go e.room.Consult(consult, "1001")
	for !slices.Contains(j.Journal(), "consulting 1002") || strings.Count(strings.Join(j.Journal(), "|"), "consulting 1002") < 2 {
		if time.Now().After(deadline.Add(3 * time.Second)) {
			t.Fatalf("no second consultation; journal %q", j.Journal())
		}
		time.Sleep(5 * time.Millisecond)
	}
	var wrong reports
	leg.reqs <- call.TransferRequest{Target: "1002", Replaces: &call.Replaces{CallID: "someone-else"}, Report: wrong.report}
	if got := wrong.waitFinal(t); !slices.Equal(got, []int{100, 481}) {
		t.Errorf("a Replaces of another call: %v, want 100 481", got)
	}
	var rep reports
	leg.reqs <- call.TransferRequest{Target: "1002", Replaces: &call.Replaces{CallID: "consult-2"}, Report: rep.report}
	if got := rep.waitFinal(t); !slices.Equal(got, []int{100, 200}) {
		t.Errorf("attended transfer: %v, want 100 200", got)
	}
	colleague := e.agentLeg(t, "1002", j)
	if leg.ctx.Err() == nil || consult.ctx.Err() == nil {
		t.Error("1001's calls are still up after the transfer")
	}
	if j.Live().OnHold {
		t.Error("the caller is still on hold with their new agent")
	}
	colleague.cancel()
	if res := result(t, done); res.Agent != "1002" {
		t.Errorf("result %+v, want the caller last with 1002", res)
	}
	segs := j.Segments()
	if len(segs) != 2 || segs[0].End != "transferred to agent 1002 (attended)" || segs[0].Hold <= 0 {
		t.Errorf("segments %+v", segs)
	}
	_ = caller
	// Consulting with no caller is refused.
	lone := newPhoneTo("consult-3", "1002")
	e.room.Consult(lone, "2001")
	if lone.ctx.Err() == nil {
		t.Error("a consultation from an agent with no caller was not hung up")
	}
}

func newPhoneTo(id, dialed string) *phone {
	p := newPhone(id)
	p.dialed = dialed
	return p
}

// consulting runs a call to 1001, holds it and has 1001 consult 1002; it returns when they talk.
func (e *env) consulting(t *testing.T, id string) (*phone, *phone, *journey.Journey, chan ivr.QueueResult) {
	t.Helper()
	e.agents.answer["1001"], e.agents.answer["1002"], e.agents.talk = nil, nil, 0
	_, leg, j, done := e.talking(t, id)
	acts, err := e.d.Login("1002")
	if err != nil {
		t.Fatal(err)
	}
	e.room.Apply(acts)
	leg.reqs <- call.HoldRequest{Hold: true}
	consult := newPhoneTo(id+"-consult", "1002")
	go e.room.Consult(consult, "1001")
	for deadline := time.Now().Add(3 * time.Second); !slices.Contains(j.Journal(), "consulting 1002"); {
		if time.Now().After(deadline) {
			t.Fatalf("no consultation; journal %q", j.Journal())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return leg, consult, j, done
}

func (e *env) merge(t *testing.T, j *journey.Journey) {
	t.Helper()
	res := make(chan error, 1)
	if err := j.Ask(call.ConferenceRequest{Done: func(err error) { res <- err }}); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatalf("merge: %v", err)
	}
}

// A three-way call: the agent merges the caller and the colleague they consult, then
// leaves; the call goes on with the colleague, whose call it now is.
func TestThreeWayAgentLeaves(t *testing.T) {
	e := newEnvWith(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}, talkCfg(nil), "1001")
	leg, consult, j, done := e.consulting(t, "w1")
	e.merge(t, j)
	if j.Live().OnHold {
		t.Error("the caller is still on hold in the three-way call")
	}
	leg.cancel() // 1001 leaves
	colleague := e.agentLeg(t, "1002", j)
	if consult.ctx.Err() == nil {
		t.Error("1001's consultation call is still up")
	}
	if st, _ := e.d.AgentState("1001"); st == acd.OnCall {
		t.Error("1001 is still on call after leaving")
	}
	colleague.cancel()
	if res := result(t, done); res.Agent != "1002" {
		t.Errorf("result %+v, want the caller last with 1002", res)
	}
	if segs := j.Segments(); len(segs) != 2 || segs[0].End != "left a three-way call with 1002" {
		t.Errorf("segments %+v", segs)
	}
}

// The colleague leaves the three-way call: the caller is back with the agent, the colleague
// is free. Without a consultation there is nothing to merge.
func TestThreeWayColleagueLeaves(t *testing.T) {
	e := newEnvWith(t, acd.QueueConfig{Strategy: acd.LongestIdle, RingTimeout: 2 * time.Second}, talkCfg(nil), "1001")
	leg, _, j, done := e.consulting(t, "w2")
	e.merge(t, j)
	e.agents.mu.Lock()
	colleague := e.agents.legs["1002"]
	e.agents.mu.Unlock()
	colleague.cancel()
	e.agentLeg(t, "1001", j)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st, _ := e.d.AgentState("1002"); st == acd.Available {
			break
		}
	}
	if st, _ := e.d.AgentState("1002"); st != acd.Available {
		t.Errorf("1002 is %s after leaving, want available", st)
	}
	res := make(chan error, 1)
	if err := j.Ask(call.ConferenceRequest{Done: func(err error) { res <- err }}); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, conversation.ErrNoConsultation) {
		t.Errorf("merge without a consultation: %v", err)
	}
	leg.cancel()
	if r := result(t, done); r.Agent != "1001" {
		t.Errorf("result %+v", r)
	}
}
