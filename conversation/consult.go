package conversation

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/journey"
)

// consultation is the agent talking to a colleague about the call on a second call (their
// consultation leg), while the caller holds: the first half of an attended transfer.
type consultation struct {
	leg       call.Channel   // the agent's second call
	colleague journey.Answer // the colleague's leg
	cancel    context.CancelFunc
	ended     chan struct{} // closed when the agent and the colleague are no longer bridged
}

// consultEvents are what the conversation watches of a consultation: its end, and requests
// from the agent's consultation leg (a REFER may come on either of the agent's calls).
func (t *talk) consultEvents() (<-chan struct{}, <-chan call.Request) {
	if t.consult == nil {
		return nil, nil
	}
	return t.consult.ended, requests(t.consult.leg)
}

// startConsult rings the colleague for a consultation and, when they answer, connects the
// agent's consultation leg to them. The caller goes on holding meanwhile.
func (t *talk) startConsult(r call.ConsultRequest) {
	id := t.j.ID()
	refuse := func(format string, a ...any) {
		t.j.Note("consultation by %s refused: %s", t.agent.Agent, fmt.Sprintf(format, a...))
		_ = r.Leg.Hangup(call.CauseBusy)
	}
	if t.consult != nil {
		refuse("a consultation is already going on")
		return
	}
	to, err := t.cfg.Plan.Resolve(r.Target)
	if err != nil || to.Kind != ToAgent {
		refuse("%q is no agent", r.Target)
		return
	}
	w := t.j.Waiting()
	if w == nil {
		refuse("the call has no mailbox")
		return
	}
	select { // a stale miss from before
	case <-w.Missed:
	default:
	}
	acts, err := t.d.OfferConsult(id, to.Name)
	t.apply(acts)
	if err != nil {
		refuse("%v", err)
		return
	}
	t.j.Note("consultation by %s with %s", t.agent.Agent, to.Name)
	var stop func()
	if t.held {
		stop = t.music()
	} else {
		stop = func() {}
	}
	defer stop()
	select {
	case a := <-w.Connect:
		if err := r.Leg.Answer(t.ctx); err != nil {
			_ = a.Leg.Hangup(call.CauseNormal)
			acts, _ := t.d.EndConsult(a.Agent)
			t.apply(acts)
			return
		}
		cctx, cancel := context.WithCancel(context.WithoutCancel(t.ctx))
		c := &consultation{leg: r.Leg, colleague: a, cancel: cancel, ended: make(chan struct{})}
		go func() { _, _ = r.Leg.Bridge(cctx, a.Leg); close(c.ended) }()
		t.consult = c
		t.j.Note("consulting %s", a.Agent)
	case why := <-w.Missed:
		t.j.Note("consultation with %s failed: %s", to.Name, why)
		_ = r.Leg.Hangup(call.CauseBusy)
	case <-r.Leg.Context().Done(): // the agent gave up before the colleague answered
		acts, _ := t.d.CancelTransfer(id)
		t.apply(acts)
	case <-t.ctx.Done():
		acts, _ := t.d.CancelTransfer(id)
		t.apply(acts)
		_ = r.Leg.Hangup(call.CauseNormal)
	}
}

// endConsult ends a consultation without a transfer: both legs are hung up, the colleague
// is free again, the call stays with its agent.
func (t *talk) endConsult() {
	c := t.consult
	if c == nil {
		return
	}
	t.consult = nil
	c.cancel()
	<-c.ended
	_ = c.leg.Hangup(call.CauseNormal)
	_ = c.colleague.Leg.Hangup(call.CauseNormal)
	acts, _ := t.d.EndConsult(c.colleague.Agent)
	t.apply(acts)
	if st := call.StatsOf(c.colleague.Leg); st != nil {
		t.j.Note("consulted %s: %d packets to the colleague, %d from the colleague", c.colleague.Agent, st.PacketsSent, st.PacketsReceived)
	}
	t.j.Note("consultation with %s ended", c.colleague.Agent)
}

// attended completes an attended transfer (a REFER with Replaces naming one of the agent's
// two calls): the caller is joined to the colleague, the agent's two calls are hung up.
func (t *talk) attended(r call.TransferRequest) (Outcome, bool) {
	c := t.consult
	if c == nil {
		progress(r, 481, "Call/Transaction Does Not Exist: no consultation to join")
		return Outcome{}, false
	}
	named := r.ReplacesChannel
	if named == "" && t.cfg.Resolver != nil {
		named, _ = t.cfg.Resolver.Resolve(*r.Replaces)
	}
	if named == "" || (named != c.leg.ID() && named != t.agent.Leg.ID()) {
		t.j.Note("attended transfer by %s refused: Replaces names no call of this conversation", t.agent.Agent)
		progress(r, 481, "Call/Transaction Does Not Exist: the Replaces dialog is not this call's")
		return Outcome{}, false
	}
	t.consult = nil
	c.cancel()
	<-c.ended
	acts, err := t.d.CompleteConsult(t.j.ID())
	t.apply(acts)
	if err != nil {
		progress(r, 500, "Server Internal Error: "+err.Error())
		t.consult = c // nothing moved; the consultation is over all the same
		t.endConsult()
		return Outcome{}, false
	}
	progress(r, 200, "OK")
	t.endPart("transferred to agent " + c.colleague.Agent + " (attended)")
	_ = t.agent.Leg.Hangup(call.CauseNormal)
	_ = c.leg.Hangup(call.CauseNormal)
	t.j.Note("transferred to %s (attended)", c.colleague.Agent)
	t.startPart(c.colleague)
	return Outcome{}, false
}

// ErrNoConsultation is why a three-way call cannot be made: the agent is not consulting.
var ErrNoConsultation = errors.New("the agent is not consulting a colleague")

// conference merges the caller, the agent and the colleague they consult into one call until
// one of them hangs up: if the agent leaves, the call goes on between the caller and the
// colleague (it is theirs now); if the colleague leaves, the caller is back with the agent.
func (t *talk) conference(r call.ConferenceRequest) (Outcome, bool) {
	done := func(err error) {
		if r.Done != nil {
			r.Done(err)
		}
	}
	c := t.consult
	mixer, ok := t.caller.(call.Conferencer)
	switch {
	case c == nil:
		done(ErrNoConsultation)
		return Outcome{}, false
	case !ok:
		done(errors.New("this call's driver cannot mix three parties"))
		return Outcome{}, false
	}
	t.endMonitor("three-way call")
	c.cancel()
	<-c.ended
	t.setHold(false)
	t.j.Note("three-way call: caller, %s and %s", t.agent.Agent, c.colleague.Agent)
	t.j.Bridged(nil)
	done(nil)
	gone, _ := mixer.Conference(t.ctx, t.agent.Leg, c.colleague.Leg)
	switch {
	case t.ctx.Err() != nil || gone == t.caller.ID():
		t.consult = c // finish hangs everyone up
		return t.finish(CallerLeft), true
	case gone == t.agent.Leg.ID(): // the agent left: the colleague has the caller now
		t.consult = nil
		_ = c.leg.Hangup(call.CauseNormal)
		acts, err := t.d.CompleteConsult(t.j.ID())
		t.apply(acts)
		if err != nil {
			t.log.Warn("three-way call: cannot hand the call over", "call", t.j.ID(), "error", err)
		}
		t.endPart("left a three-way call with " + c.colleague.Agent)
		t.j.Note("%s left the three-way call", t.agent.Agent)
		t.startPart(c.colleague)
	default: // the colleague left: back to the agent
		t.consult = c
		t.endConsult()
		t.j.Note("%s left the three-way call", c.colleague.Agent)
	}
	return Outcome{}, false
}
