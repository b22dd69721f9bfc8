package conversation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
)

// transfer carries out a blind transfer. It returns done when the conversation has ended
// (or moved the caller out of it); otherwise the conversation goes on, with the agent who
// now has the call. A failed transfer never drops the caller: they go back to the agent
// who transferred them, or, if that agent has gone, to the front of the queue they came from.
func (t *talk) transfer(r call.TransferRequest) (Outcome, bool) {
	id := t.j.ID()
	progress(r, 100, "Trying")
	if r.Replaces != nil {
		return t.attended(r)
	}
	to, err := t.cfg.Plan.Resolve(r.Target)
	if err != nil {
		t.j.Note("transfer by %s refused: %v", t.agent.Agent, err)
		progress(r, 404, "Not Found: "+err.Error())
		return Outcome{}, false
	}
	t.log.Info("transfer", "call", id, "agent", t.agent.Agent, "to", to.String())
	t.j.Note("transfer by %s to %s", t.agent.Agent, to)
	switch to.Kind {
	case ToQueue:
		acts, err := t.d.TransferToQueue(id, to.Name, t.cfg.KeepArrival(to.Name))
		t.apply(acts)
		if err != nil {
			t.j.Note("transfer to %s failed: %v", to, err)
			progress(r, 500, "Server Internal Error: "+err.Error())
			return Outcome{}, false
		}
		progress(r, 200, "OK")
		t.endPart("transferred to queue " + to.Name)
		_ = t.agent.Leg.Hangup(call.CauseNormal)
		return Outcome{End: Requeued, Queue: to.Name, Agent: t.agent.Agent, Talked: t.talked}, true
	case ToAgent:
		return t.toAgent(r, to.Name)
	default:
		return t.toNumber(r, to.Name)
	}
}

// toAgent rings a colleague for the call; the caller hears hold music meanwhile.
func (t *talk) toAgent(r call.TransferRequest, agent string) (Outcome, bool) {
	id := t.j.ID()
	w := t.j.Waiting()
	if w == nil {
		progress(r, 500, "Server Internal Error: the call has no mailbox")
		return Outcome{}, false
	}
	select { // a stale miss from before
	case <-w.Missed:
	default:
	}
	acts, err := t.d.OfferTransfer(id, agent)
	t.apply(acts)
	if err != nil {
		status, reason := 480, "Temporarily Unavailable"
		switch {
		case errors.Is(err, acd.ErrAgentBusy):
			status, reason = 486, "Busy Here"
		case errors.Is(err, acd.ErrUnknownAgent):
			status, reason = 404, "Not Found"
		case errors.Is(err, acd.ErrInvalidCall):
			status, reason = 482, "Loop Detected"
		}
		t.j.Note("transfer to agent %s refused: %v", agent, err)
		progress(r, status, fmt.Sprintf("%s: %v", reason, err))
		return Outcome{}, false
	}
	stop := t.music()
	agentGone := t.agent.Leg.Context().Done()
	for {
		select {
		case a := <-w.Connect:
			stop()
			progress(r, 200, "OK")
			t.endPart("transferred to agent " + a.Agent)
			_ = t.agent.Leg.Hangup(call.CauseNormal)
			t.j.Note("transferred to %s", a.Agent)
			t.startPart(a)
			return Outcome{}, false
		case why := <-w.Missed:
			stop()
			status, reason := missStatus(why)
			t.j.Note("transfer to %s failed: %s", agent, why)
			progress(r, status, reason)
			return t.returnCaller()
		case <-agentGone:
			agentGone = nil // the colleague may still answer; if not, the caller goes back in line
			t.j.Note("%s left during the transfer", t.agent.Agent)
		case <-t.ctx.Done():
			stop()
			progress(r, 487, "Request Terminated")
			return t.finish(CallerLeft), true
		}
	}
}

// toNumber dials an outside number for the call, if the policy allows it.
func (t *talk) toNumber(r call.TransferRequest, raw string) (Outcome, bool) {
	id := t.j.ID()
	if t.cfg.Outbound == nil {
		progress(r, 403, "Forbidden: transfers to outside numbers are not enabled")
		return Outcome{}, false
	}
	number, err := t.cfg.Outbound(t.ctx, raw)
	if err != nil {
		t.j.Note("transfer by %s refused: %s", t.agent.Agent, refusal(err))
		progress(r, 403, "Forbidden: "+refusal(err))
		return Outcome{}, false
	}
	stop := t.music()
	type dialed struct {
		leg call.Channel
		err error
	}
	dctx, cancel := context.WithCancel(t.ctx)
	defer cancel()
	res := make(chan dialed, 1)
	go func() {
		leg, err := t.cfg.Dialer.Originate(dctx, call.Target{URI: number},
			call.OriginateOptions{CallerID: t.caller.Caller(), RingTimeout: t.cfg.RingTimeout})
		res <- dialed{leg, err}
	}()
	var d dialed
	select {
	case d = <-res:
	case <-t.ctx.Done():
		cancel()
		if d = <-res; d.leg != nil {
			_ = d.leg.Hangup(call.CauseNormal)
		}
		stop()
		progress(r, 487, "Request Terminated")
		return t.finish(CallerLeft), true
	}
	stop()
	if d.err != nil {
		status, reason := dialStatus(d.err)
		t.j.Note("transfer to %s failed: %v", number, d.err)
		progress(r, status, reason)
		return t.returnCaller()
	}
	progress(r, 200, "OK")
	t.endPart("transferred to a number")
	_ = t.agent.Leg.Hangup(call.CauseNormal)
	acts, _ := t.d.TransferAway(id)
	t.apply(acts)
	t.j.Note("transferred to %s", number)
	t.j.SetState(call.StateConnected, t.queue, "")
	began := time.Now()
	_, _ = t.caller.Bridge(t.ctx, d.leg)
	_ = d.leg.Hangup(call.CauseNormal)
	t.talked += time.Since(began)
	return Outcome{End: Away, Agent: t.agent.Agent, Talked: t.talked}, true
}

// returnCaller puts the caller back with the agent who transferred them, or, if they have
// gone, at the front of the queue they came from (with their original arrival).
func (t *talk) returnCaller() (Outcome, bool) {
	if t.agent.Leg.Context().Err() == nil {
		return Outcome{}, false
	}
	t.endPart("left during a transfer")
	acts, err := t.d.TransferToQueue(t.j.ID(), t.queue, true)
	t.apply(acts)
	if err != nil {
		t.log.Warn("cannot put the caller back in line", "call", t.j.ID(), "error", err)
		return Outcome{End: AgentLeft, Agent: t.agent.Agent, Talked: t.talked}, true
	}
	t.j.Note("back in line in %s", t.queue)
	return Outcome{End: Requeued, Queue: t.queue, Agent: t.agent.Agent, Talked: t.talked}, true
}
