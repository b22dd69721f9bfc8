package ari

import (
	"context"
	"time"

	"github.com/hotline-cc/hotline/call"
)

// In-call requests from the far end of a leg (call.Requester) and three-way mixing
// (call.Conferencer), as Asterisk 22 reports them over ARI (ari/testdata/asterisk22):
//
//   - hold: the phone's re-INVITE a=sendonly gives ChannelHold, a=sendrecv ChannelUnhold. Asterisk
//     itself plays nothing to the other party; the call path plays hotline's hold music.
//   - transfer: a REFER on a PJSIP channel reaches the application only when the channel's
//     transfer handling is "ari-only" (the driver sets PJSIP_TRANSFER_HANDLING() on every
//     PJSIP leg it originates); Asterisk answers 202 Accepted, sends ChannelTransfer and NOTIFYs
//     the phone with what POST /channels/{id}/transfer_progress reports. With the default
//     ("core") Asterisk would transfer the caller itself, out of hotline's hands.

var (
	_ call.Requester   = (*Channel)(nil)
	_ call.Conferencer = (*Channel)(nil)
)

// unreadRequest is how long a transfer request waits for the call path before the driver
// refuses it (declined), so the phone is never left waiting.
var unreadRequest = 5 * time.Second

// transferHandling is the channel variable that hands REFERs to ARI (chan_pjsip).
const transferHandling = "PJSIP_TRANSFER_HANDLING()"

// Requests delivers the far end's hold and transfer requests in order; the channel is closed
// once the leg has ended.
func (c *Channel) Requests() <-chan call.Request { return c.reqs }

// onRequest runs on the event reader: it queues the request for runRequests.
func (c *Channel) onRequest(r call.Request) {
	c.reqMu.Lock()
	c.reqQ = append(c.reqQ, r)
	c.reqMu.Unlock()
	select {
	case c.reqWake <- struct{}{}:
	default:
	}
}

// runRequests hands queued requests to Requests() until the leg ends, then closes it. A
// transfer nobody takes within unreadRequest is declined.
func (c *Channel) runRequests() {
	defer close(c.reqs)
	for {
		select {
		case <-c.ctx.Done():
			c.declineQueued()
			return
		case <-c.reqWake:
		}
		for {
			c.reqMu.Lock()
			if len(c.reqQ) == 0 {
				c.reqMu.Unlock()
				break
			}
			r := c.reqQ[0]
			c.reqQ = c.reqQ[1:]
			c.reqMu.Unlock()
			t := time.NewTimer(unreadRequest)
			select {
			case c.reqs <- r:
			case <-t.C:
				c.refuse(r, "nobody took the request")
			case <-c.ctx.Done():
				t.Stop()
				c.refuse(r, "the leg ended")
				c.declineQueued()
				return
			}
			t.Stop()
		}
	}
}

func (c *Channel) declineQueued() {
	c.reqMu.Lock()
	q := c.reqQ
	c.reqQ = nil
	c.reqMu.Unlock()
	for _, r := range q {
		c.refuse(r, "the leg ended")
	}
}

func (c *Channel) refuse(r call.Request, why string) {
	if t, ok := r.(call.TransferRequest); ok && t.Report != nil {
		c.log.Info("transfer request refused", "target", t.Target, "why", why)
		t.Report(call.TransferProgress{Status: 603, Reason: "Declined"})
	}
}

// transferRequest turns ChannelTransfer into the driver-neutral request, with a Report that
// calls transfer_progress on the channel the REFER arrived on.
func (c *Channel) transferRequest(e *ChannelTransfer) call.TransferRequest {
	dest := e.ReferTo.RequestedDestination
	req := call.TransferRequest{Target: dest.Destination}
	if dest.ProtocolID != "" { // attended: Refer-To carried Replaces
		rp := &call.Replaces{CallID: dest.ProtocolID}
		for _, p := range dest.AdditionalProtocolParams {
			switch p.Name {
			case "to":
				rp.ToTag = p.Value
			case "from":
				rp.FromTag = p.Value
			}
		}
		req.Replaces = rp
		if d := e.ReferTo.DestinationChannel; d != nil {
			req.ReplacesChannel = d.ID
		}
	}
	var done bool                  // a final status was reported: later ones are ignored
	lock := make(chan struct{}, 1) // one report at a time, in the order they are made
	req.Report = func(p call.TransferProgress) {
		lock <- struct{}{}
		defer func() { <-lock }()
		if done || c.ctx.Err() != nil {
			return
		}
		done = p.Final()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := c.d.c.TransferProgress(ctx, c.id, progressState(p)); err != nil {
			c.log.Warn("transfer progress", "status", p.Status, "error", err)
		}
	}
	return req
}

// progressState maps a sipfrag status to transfer_progress's states: 1xx channel_progress,
// 2xx channel_answered, busy/decline channel_declined, anything else channel_unavailable.
func progressState(p call.TransferProgress) string {
	switch {
	case p.Status < 200:
		return "channel_progress"
	case p.Status < 300:
		return "channel_answered"
	case p.Status == 486 || p.Status == 600 || p.Status == 603 || p.Status == 403:
		return "channel_declined"
	}
	return "channel_unavailable"
}

// Conference mixes c with others in one mixing bridge (every party hears the others) until
// ctx ends or one of them hangs up or leaves the bridge, then destroys the bridge and returns
// the ID of the one that ended it ("" when ctx ended first).
func (c *Channel) Conference(ctx context.Context, others ...call.Channel) (string, error) {
	legs := []*Channel{c}
	for _, o := range others {
		oc, ok := o.(*Channel)
		if !ok || oc.d != c.d {
			return "", call.ErrNotBridgeable
		}
		legs = append(legs, oc)
	}
	return c.mix(ctx, "hotline-conf", "conference", legs)
}

// mix puts legs in one mixing bridge until ctx ends or one of them hangs up or leaves it,
// then destroys the bridge, and returns the ID of the one that ended it ("" when ctx ended).
// Bridge and Conference are this with two legs and with more.
func (c *Channel) mix(ctx context.Context, prefix, what string, legs []*Channel) (string, error) {
	for _, l := range legs {
		if err := l.hungUp(); err != nil {
			return l.id, err
		}
	}
	id := newID(prefix)
	sub := c.d.c.Subscribe(BridgeKey(id))
	defer sub.Close()
	if _, err := c.d.c.CreateBridge(ctx, id, "mixing", "hotline"); err != nil {
		return "", c.opErr(ctx, err)
	}
	defer func() {
		dctx, cancel := c.bg(ctx)
		defer cancel()
		if err := c.d.c.DestroyBridge(dctx, id); err != nil {
			c.log.Warn("destroy conference bridge", "bridge", id, "error", err)
		}
	}()
	ids := make([]string, len(legs))
	for i, l := range legs {
		ids[i] = l.id
	}
	if err := c.d.c.AddChannels(ctx, id, ids...); err != nil {
		for _, l := range legs {
			if l.hungUp() != nil {
				return l.id, call.ErrHangup
			}
		}
		return c.id, c.opErr(ctx, err)
	}
	for _, l := range legs {
		l.setBridge(id, ids)
		defer l.clearBridge(id)
	}
	ended := make(chan string, len(legs))
	for _, l := range legs {
		stop := context.AfterFunc(l.ctx, func() { ended <- l.id })
		defer stop()
	}
	member := map[string]bool{}
	for _, i := range ids {
		member[i] = true
	}
	var who string
wait:
	for {
		select {
		case who = <-ended:
			break wait
		case <-ctx.Done():
			break wait
		case ev := <-sub.Events():
			if e, ok := ev.(*ChannelLeftBridge); ok && member[e.Channel.ID] {
				who = e.Channel.ID
				break wait
			}
		}
	}
	for _, l := range legs { // a hangup decides over a bridge event or ctx
		if l.ctx.Err() != nil {
			who = l.id
			break
		}
	}
	c.log.Info(what+" ended", "bridge", id, "legs", ids, "ended_by", who)
	return who, nil
}
