package acd

import (
	"fmt"
	"slices"
	"time"
)

var zeroTime time.Time

// Transfers and hold of connected calls. A transfer to another agent rings that agent while
// the call stays with its agent: if the new agent answers, the call moves to them and the
// first agent goes to wrap-up; if not, it stays where it was (the miss is counted as any
// other). A transfer to a queue ends the agent's part like a hangup and puts the caller back
// in line, by default with their original arrival time, so nobody goes to the back of the
// line because they were passed on.

// OfferTransfer rings agentID for callID, a call connected to another agent. The Offer comes
// back as an action like any other; Answered moves the call, OfferFailed (or the ring
// timeout) leaves it with its agent. The agent must be available: ErrAgentBusy otherwise.
func (d *Distributor) OfferTransfer(callID, agentID string) ([]Action, error) {
	d.begin()
	err := d.offerTransfer(callID, agentID)
	return d.end(), err
}

// OfferConsult rings agentID for a consultation about callID, a call connected to another
// agent who has put the caller on hold (an attended transfer's first half). When the
// colleague answers they are on call (consulting), the call stays with its agent;
// CompleteConsult then moves the call to them, EndConsult frees them.
func (d *Distributor) OfferConsult(callID, agentID string) ([]Action, error) {
	d.begin()
	err := d.offerTransfer(callID, agentID)
	if err == nil {
		d.calls[callID].offers[0].consult = true
	}
	return d.end(), err
}

func (d *Distributor) offerTransfer(callID, agentID string) error {
	e, err := d.call("transfer", callID)
	if err != nil {
		return err
	}
	if e.state != CallConnected {
		return fmt.Errorf("acd: transfer call %q: %w (it is %s)", callID, ErrNotConnected, e.state)
	}
	b, err := d.agent("transfer", agentID)
	if err != nil {
		return err
	}
	if b == e.agent {
		return fmt.Errorf("acd: transfer call %q to agent %q: %w: the call is already theirs", callID, agentID, ErrInvalidCall)
	}
	if len(e.offers) > 0 || e.consultant != nil {
		return fmt.Errorf("acd: transfer call %q: %w", callID, ErrTransferPending)
	}
	if b.state != Available {
		return fmt.Errorf("acd: transfer call %q to agent %q: %w (agent is %s)", callID, agentID, ErrAgentBusy, b.state)
	}
	d.ring(e, b, d.now.Add(e.q.cfg.RingTimeout))
	return nil
}

// answeredTransfer moves a connected call to the agent who answered its transfer offer.
func (d *Distributor) answeredTransfer(o *offer) {
	e, b, q := o.e, o.a, o.e.q
	o.active = false
	e.offers = nil
	b.offer = nil
	from := e.agent
	d.endPart(from, e)
	q.stats.add(d.now, &Counters{Transferred: 1})
	from.transfers++
	e.agent, e.answeredAt, e.holdSince = b, d.now, zeroTime
	b.consecutiveMisses = 0
	b.sessionCalls++
	b.callsHandled++
	b.work = &work{callID: e.call.ID, q: q, kind: e.call.Kind, customerID: e.call.CustomerID, answeredAt: d.now}
	d.setState(b, OnCall, "")
}

// TransferToQueue ends the agent's part of a connected call (wrap-up, as at hangup) and
// puts the caller in queue: with their original arrival time when keepArrival, else as a
// new arrival. A transfer ringing another agent is withdrawn.
func (d *Distributor) TransferToQueue(callID, queue string, keepArrival bool) ([]Action, error) {
	d.begin()
	err := d.transferToQueue(callID, queue, keepArrival)
	return d.end(), err
}

func (d *Distributor) transferToQueue(callID, queue string, keepArrival bool) error {
	e, err := d.call("transfer", callID)
	if err != nil {
		return err
	}
	if e.state != CallConnected {
		return fmt.Errorf("acd: transfer call %q: %w (it is %s)", callID, ErrNotConnected, e.state)
	}
	if d.queueByName[queue] == nil {
		return fmt.Errorf("acd: transfer call %q: %w %q", callID, ErrUnknownQueue, queue)
	}
	c := e.call
	c.Queue = queue
	c.ArrivedAt = d.now
	if keepArrival {
		c.ArrivedAt = e.arrived
	}
	excluded := slices.DeleteFunc(slices.Clone(e.excluded), func(x exclusion) bool { return !d.now.Before(x.until) })
	e.q.stats.add(d.now, &Counters{Transferred: 1})
	e.agent.transfers++
	if err := d.hangup(callID); err != nil {
		return err
	}
	if err := d.enqueueWith(c, excluded); err != nil {
		return err
	}
	for _, x := range excluded { // route the caller to them once the delay is over
		d.schedule(x.until, timerRetry, d.calls[callID], nil, nil, 0)
	}
	return nil
}

// TransferAway ends the agent's part of a connected call that was transferred out of the
// distributor's hands (to an outside number): the agent goes to wrap-up, the call is gone.
func (d *Distributor) TransferAway(callID string) ([]Action, error) {
	d.begin()
	err := d.transferAway(callID)
	return d.end(), err
}

func (d *Distributor) transferAway(callID string) error {
	e, err := d.call("transfer", callID)
	if err != nil {
		return err
	}
	if e.state != CallConnected {
		return fmt.Errorf("acd: transfer call %q: %w (it is %s)", callID, ErrNotConnected, e.state)
	}
	e.q.stats.add(d.now, &Counters{Transferred: 1})
	e.agent.transfers++
	return d.hangup(callID)
}

// Hold records that a connected call's caller was put on hold (on) or taken off it. Hold time
// is part of the talk time (and so of AHT), and counted apart as HoldTime.
func (d *Distributor) Hold(callID string, on bool) ([]Action, error) {
	d.begin()
	err := d.hold(callID, on)
	return d.end(), err
}

func (d *Distributor) hold(callID string, on bool) error {
	e, err := d.call("hold", callID)
	if err != nil {
		return err
	}
	if e.state != CallConnected {
		return fmt.Errorf("acd: hold call %q: %w (it is %s)", callID, ErrNotConnected, e.state)
	}
	switch {
	case on && e.holdSince.IsZero():
		e.holdSince = d.now
	case !on && !e.holdSince.IsZero():
		e.agent.work.hold += d.now.Sub(e.holdSince)
		e.holdSince = zeroTime
	}
	return nil
}

// endPart ends agent a's part of connected call e as a hangup does: wrap-up for the queue the
// call was answered from, then available.
func (d *Distributor) endPart(a *agent, e *entry) {
	w := a.work
	if !e.holdSince.IsZero() {
		w.hold += d.now.Sub(e.holdSince)
	}
	w.hungUpAt = d.now
	a.sessionTalk += d.now.Sub(w.answeredAt)
	if wrap := w.q.cfg.WrapUp; wrap > 0 {
		d.setState(a, WrapUp, "")
		a.wrapUntil = d.now.Add(wrap)
		a.wrapTok++
		d.schedule(a.wrapUntil, timerWrapUp, nil, a, nil, a.wrapTok)
		return
	}
	d.endWork(a)
}

// answeredConsult makes the colleague who answered a consultation busy with it.
func (d *Distributor) answeredConsult(o *offer) {
	e, b := o.e, o.a
	o.active = false
	e.offers = nil
	b.offer = nil
	e.consultant = b
	b.consecutiveMisses = 0
	b.work = &work{callID: e.call.ID, q: e.q, kind: e.call.Kind, customerID: e.call.CustomerID, answeredAt: d.now, consult: true}
	d.setState(b, OnCall, "")
}

// CompleteConsult ends an attended transfer: the call moves to the colleague the agent
// consulted, and the agent goes to wrap-up. One transfer is counted.
func (d *Distributor) CompleteConsult(callID string) ([]Action, error) {
	d.begin()
	err := d.completeConsult(callID)
	return d.end(), err
}

func (d *Distributor) completeConsult(callID string) error {
	e, err := d.call("complete transfer", callID)
	if err != nil {
		return err
	}
	b := e.consultant
	if e.state != CallConnected || b == nil {
		return fmt.Errorf("acd: complete transfer of call %q: %w (no consultation)", callID, ErrNoOffer)
	}
	from := e.agent
	d.endPart(from, e)
	e.q.stats.add(d.now, &Counters{Transferred: 1})
	from.transfers++
	e.agent, e.consultant, e.answeredAt, e.holdSince = b, nil, d.now, zeroTime
	b.work.consult, b.work.answeredAt = false, d.now
	b.sessionCalls++
	b.callsHandled++
	return nil
}

// EndConsult frees an agent who was consulted, when the consultation ends without a
// transfer (or after the caller has gone); the call, if any, stays with its agent.
func (d *Distributor) EndConsult(agentID string) ([]Action, error) {
	d.begin()
	err := d.endConsult(agentID)
	return d.end(), err
}

func (d *Distributor) endConsult(agentID string) error {
	b, err := d.agent("end consultation", agentID)
	if err != nil {
		return err
	}
	if b.work == nil || !b.work.consult {
		return fmt.Errorf("acd: end consultation of agent %q: %w (agent is %s)", agentID, ErrInvalidTransition, b.state)
	}
	if e := d.calls[b.work.callID]; e != nil && e.consultant == b {
		e.consultant = nil
	}
	b.work = nil
	d.finishWork(b, false)
	d.routeAgent(b)
	return nil
}

// CancelTransfer withdraws a transfer or consultation offer still ringing for a connected
// call (the agent changed their mind); it is nobody's miss.
func (d *Distributor) CancelTransfer(callID string) ([]Action, error) {
	d.begin()
	err := d.cancelTransfer(callID)
	return d.end(), err
}

func (d *Distributor) cancelTransfer(callID string) error {
	e, err := d.call("cancel transfer", callID)
	if err != nil {
		return err
	}
	if e.state != CallConnected || len(e.offers) == 0 {
		return fmt.Errorf("acd: cancel transfer of call %q: %w", callID, ErrNoOffer)
	}
	for _, o := range slices.Clone(e.offers) {
		d.withdraw(o, CancelTransferred)
	}
	return nil
}
