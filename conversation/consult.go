package conversation

import (
	"context"
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
	var named string
	if t.cfg.Resolver != nil {
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
