package sip

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

var _ call.Monitorer = (*Channel)(nil)

// ErrNoMonitorControl is Monitor called without a MonitorControl.
var ErrNoMonitorControl = errors.New("sip: monitor: no MonitorControl")

// Monitor joins a supervisor's leg to the conversation of c (the caller) and agent, each of
// them *Channel of this driver: the three are mixed (media.Mix), each hearing whom
// ctl.Mode().Hears says (0 the caller, 1 the agent, 2 the supervisor), asked every frame, so
// a mode change is heard within 20 ms. It runs until ctx ends or one of the three hangs up,
// and returns the ID of the one that hung up ("" when ctx ended first). Nobody else is hung
// up: when the supervisor leaves, the call path bridges caller and agent again. Each leg's
// digits stay on its own channel (the supervisor's keys switch modes through ReadDigits) and
// nobody hears them.
func (c *Channel) Monitor(ctx context.Context, agent, supervisor call.Channel, ctl *call.MonitorControl) (string, error) {
	if ctl == nil {
		return "", ErrNoMonitorControl
	}
	chans := []*Channel{c}
	for i, other := range []call.Channel{agent, supervisor} {
		o, ok := other.(*Channel)
		if !ok {
			return "", fmt.Errorf("sip: monitor: party %d is a %T, want a SIP channel: %w", i+2, other, call.ErrNotBridgeable)
		}
		if o == nil || o.sess == nil {
			return "", fmt.Errorf("sip: monitor: party %d has no RTP session", i+2)
		}
		chans = append(chans, o)
	}
	for _, ch := range chans {
		if err := ch.hungUp(); err != nil {
			return ch.id, err
		}
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	legs := make([]*media.Session, len(chans))
	for i, ch := range chans {
		legs[i] = ch.sess
		stop := context.AfterFunc(ch.ctx, cancel) // a BYE ends the mix at once
		defer stop()
	}
	c.log.Info("monitoring", "caller", c.id, "agent", chans[1].id, "supervisor", chans[2].id, "mode", ctl.Mode())
	ended, err := media.Mix(mctx, func(a, b int) bool { return ctl.Mode().Hears(a, b) }, legs...)
	var who string // ctx may be one party's own context: the parties' state decides
	for _, ch := range chans {
		if ch.ctx.Err() != nil {
			who = ch.id
			break
		}
	}
	switch {
	case who != "":
	case ended >= 0:
		who = chans[ended].id // its media ended; the channel hangs up after it
	case mctx.Err() == nil:
		return "", fmt.Errorf("sip: monitor: %w", err) // refused: nothing was mixed
	}
	c.log.Info("monitoring ended", "caller", c.id, "supervisor", chans[2].id, "mode", ctl.Mode(), "hung_up", who)
	return who, nil
}
