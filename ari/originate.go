package ari

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/call"
)

// origination is an outbound leg being dialed; onStasisStart hands over the answered channel.
type origination struct {
	answered chan *Channel // buffered 1
}

// Originate dials an agent (DriverConfig.Endpoint) or a number/URI (DriverConfig.URIEndpoint)
// with POST /channels into the Stasis application, and returns the leg once it answers
// (StasisStart). Failures are *call.DialError, classified from the Dial and ChannelDestroyed
// events Asterisk sends: BUSY or cause 17 is ErrBusy; cause 19 after RINGING is ErrNoAnswer;
// cause 19 that never rang, a refused POST or an unknown endpoint is ErrUnreachable; cause 21
// is ErrRejected. The ring timeout is Asterisk's `timeout`.
func (d *Driver) Originate(ctx context.Context, to call.Target, opts call.OriginateOptions) (call.Channel, error) {
	d.mu.Lock()
	running := d.ctx != nil && d.ctx.Err() == nil
	d.mu.Unlock()
	if !running {
		return nil, ErrNotRunning
	}
	if opts.RingTimeout <= 0 {
		opts.RingTimeout = d.cfg.RingTimeout
	}
	endpoint, err := d.endpoint(to)
	if err != nil {
		return nil, &call.DialError{Target: to, Cause: call.CauseUnallocated, Err: fmt.Errorf("%w: %v", call.ErrUnreachable, err)}
	}
	prefix := "hotline-out"
	if to.Agent != "" {
		prefix = "hotline-agent"
	}
	id := newID(prefix)
	p := &origination{answered: make(chan *Channel, 1)}
	d.mu.Lock()
	d.pending[id] = p
	d.mu.Unlock()
	sub := d.c.Subscribe(ChannelKey(id)) // before the POST: Dial may beat the response
	defer sub.Close()
	gen := d.c.reconnected()
	log := d.log.With("call", id, "to", to.String(), "endpoint", endpoint)
	started := time.Now()

	secs := max(1, int(math.Ceil(opts.RingTimeout.Seconds())))
	var vars map[string]string
	if strings.HasPrefix(endpoint, "PJSIP/") { // REFERs from this leg come to hotline (incall.go)
		vars = map[string]string{transferHandling: "ari-only"}
	}
	_, err = d.c.Originate(ctx, OriginateParams{
		Endpoint: endpoint, ChannelID: id, AppArgs: []string{originateArg, to.String()},
		CallerID: callerID(opts.CallerID), Timeout: secs, Variables: vars,
	})
	if err != nil {
		d.abandon(id, p)
		if ctx.Err() != nil { // Asterisk may have created the leg before we stopped listening
			d.cancelDial(id)
			return nil, ctx.Err()
		}
		log.Info("dial refused by Asterisk", "error", err)
		return nil, &call.DialError{Target: to, Cause: call.CauseNoResponse, Err: fmt.Errorf("%w: %v", call.ErrUnreachable, err)}
	}
	var (
		rang       bool
		dialstatus string
		watchdog   = time.NewTimer(opts.RingTimeout + 15*time.Second) // if Asterisk never tells
	)
	defer watchdog.Stop()
	answered := func(ch *Channel) (call.Channel, error) {
		ch.caller, ch.dialed = opts.CallerID, dialedOf(to)
		ch.log = ch.log.With("to", to.String())
		ch.log.Info("outbound call answered", "ring_time", time.Since(started).Round(time.Millisecond))
		return ch, nil
	}
	failed := func(cause int, causeTxt string) (call.Channel, error) {
		if ch := d.abandon(id, p); ch != nil { // answered just before it went: still a call
			return answered(ch)
		}
		e := classify(to, cause, causeTxt, dialstatus, rang)
		log.Info("dial failed", "reason", e.MissReason(), "cause", cause, "dialstatus", dialstatus, "rang", rang)
		return nil, e
	}
	for {
		select {
		case ch := <-p.answered:
			return answered(ch)
		case ev := <-sub.Events():
			switch e := ev.(type) {
			case *Dial:
				if e.Peer.ID != id {
					continue
				}
				if e.Dialstatus != "" {
					dialstatus = e.Dialstatus
				}
				if e.Dialstatus == "RINGING" || e.Dialstatus == "PROGRESS" || e.Peer.State == "Ringing" {
					rang = true
				}
			case *ChannelStateChange:
				if e.Channel.State == "Ringing" {
					rang = true
				}
			case *ChannelDestroyed:
				return failed(e.Cause, e.CauseTxt)
			}
		case <-gen: // the event WebSocket reconnected: the outcome may have been lost
			gen = d.c.reconnected()
			data, err := d.c.Channel(ctx, id)
			switch {
			case IsNotFound(err):
				return failed(0, "gone after the event WebSocket reconnected")
			case err == nil && data.State == "Ringing":
				rang = true
			case err == nil && data.State == "Up" && data.Dialplan.AppName == "Stasis":
				if ch := d.adopt(id, p, *data); ch != nil { // its StasisStart was lost
					return answered(ch)
				}
			}
		case <-watchdog.C:
			log.Warn("no outcome from Asterisk in time: cancelling the dial")
			d.cancelDial(id)
			return failed(0, "no outcome from Asterisk")
		case <-ctx.Done():
			if ch := d.abandon(id, p); ch != nil {
				_ = ch.Hangup(call.CauseNormal)
			}
			d.cancelDial(id)
			return nil, ctx.Err()
		}
	}
}

// abandon forgets a pending dial; it returns the channel if the leg answered meanwhile.
func (d *Driver) abandon(id string, p *origination) *Channel {
	d.mu.Lock()
	delete(d.pending, id)
	d.mu.Unlock()
	select {
	case ch := <-p.answered:
		return ch
	default:
		return nil
	}
}

// adopt takes an answered leg whose StasisStart was lost in a WebSocket gap.
func (d *Driver) adopt(id string, p *origination, data ChannelData) *Channel {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending[id] != p || d.ctx == nil {
		return nil // StasisStart got there first; the channel is in p.answered
	}
	delete(d.pending, id)
	return d.newChannel(data, "outbound")
}

func (d *Driver) cancelDial(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), d.c.cfg.Timeout)
	defer cancel()
	if err := d.c.Hangup(ctx, id, "normal"); err != nil {
		d.log.Warn("cancel dial", "call", id, "error", err)
	}
}

// endpoint is the Asterisk dial string for a target.
func (d *Driver) endpoint(to call.Target) (string, error) {
	if to.Agent != "" {
		if strings.ContainsAny(to.Agent, "/,&@ \t") {
			return "", fmt.Errorf("agent id %q cannot be part of an endpoint", to.Agent)
		}
		return fmt.Sprintf(d.cfg.Endpoint, to.Agent), nil
	}
	uri := strings.TrimSpace(to.URI)
	if uri == "" {
		return "", fmt.Errorf("empty target")
	}
	if tech, _, ok := strings.Cut(uri, "/"); ok && !strings.Contains(tech, ":") {
		return uri, nil // already Tech/resource
	}
	if d.cfg.URIEndpoint == "" {
		return "", fmt.Errorf("no URI endpoint configured to call %q", uri)
	}
	return fmt.Sprintf(d.cfg.URIEndpoint, uri), nil
}

func dialedOf(to call.Target) string {
	if to.Agent != "" {
		return to.Agent
	}
	return to.URI
}

func callerID(p call.Party) string {
	switch {
	case p.Name != "" && p.Number != "":
		return p.Name + " <" + p.Number + ">"
	case p.Number != "":
		return p.Number
	}
	return p.Name
}

// classify turns how an originated leg ended into a *call.DialError. Asterisk reports a
// ring timeout and an unreachable phone with the same cause 19; only a RINGING Dial tells
// them apart.
func classify(to call.Target, cause int, causeTxt, dialstatus string, rang bool) *call.DialError {
	detail := fmt.Sprintf("cause %d", cause)
	if causeTxt != "" {
		detail += " (" + causeTxt + ")"
	}
	if dialstatus != "" {
		detail += ", dial status " + dialstatus
	}
	e := func(c call.Cause, sentinel error) *call.DialError {
		return &call.DialError{Target: to, Cause: c, Err: fmt.Errorf("%w: %s", sentinel, detail)}
	}
	switch {
	case cause == int(call.CauseBusy) || dialstatus == "BUSY":
		return e(call.CauseBusy, call.ErrBusy)
	case cause == int(call.CauseRejected):
		return e(call.CauseRejected, call.ErrRejected)
	case cause == int(call.CauseNoAnswer) || cause == int(call.CauseNoResponse) || dialstatus == "NOANSWER" || cause == 0:
		if rang {
			return e(call.CauseNoAnswer, call.ErrNoAnswer)
		}
		return e(call.CauseNoResponse, call.ErrUnreachable)
	}
	c := call.Cause(cause)
	if c == call.CauseNormal && rang { // cleared while ringing
		return e(call.CauseNoAnswer, call.ErrNoAnswer)
	}
	return e(c, call.ErrUnreachable)
}
