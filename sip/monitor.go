package sip

import (
	"context"
	"errors"

	"github.com/hotline-cc/hotline/call"
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
	return c.mix(ctx, "monitor", func(a, b int) bool { return ctl.Mode().Hears(a, b) }, agent, supervisor)
}
