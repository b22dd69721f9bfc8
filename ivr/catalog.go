package ivr

import (
	"strings"
	"time"

	"github.com/hotline-cc/hotline/schedule"
)

// Catalog is what flows may refer to outside themselves: queues, schedules, prompt files,
// languages with a voice, and where a transfer may go. The checker resolves every name a
// flow uses against it, so a flow that names a queue the configuration lacks never loads.
// The wiring builds it from the configuration.
type Catalog struct {
	Queues    []string
	Schedules map[string]*schedule.Hours // by name
	Prompts   PromptNames                // nil: no prompt files (play steps are errors)
	Languages []string                   // languages a call may speak; empty means en and zh
	Transfer  []string                   // allowed transfer targets, as prefixes ("sip:", "+8610")
	// QueueRules are the queues' priority rules, checked against the flows by
	// CheckQueueRules (`hotline flow check` does, for the configured flows), not by Compile.
	QueueRules []QueueRule
}

// PromptNames tells whether a prompt file exists; *prompts.Library implements it.
type PromptNames interface {
	Has(name string) bool
}

func (c *Catalog) languages() []string {
	if c == nil || len(c.Languages) == 0 {
		return []string{"en", "zh"}
	}
	return c.Languages
}

func (c *Catalog) hasQueue(name string) bool {
	for _, q := range c.Queues {
		if q == name {
			return true
		}
	}
	return false
}

func (c *Catalog) transferAllowed(to string) bool {
	for _, p := range c.Transfer {
		if p != "" && strings.HasPrefix(to, p) {
			return true
		}
	}
	return false
}

// Hours is what a schedule says about one moment: the exits of the hours step.
type Hours string

const (
	Open    Hours = "open"
	Closed  Hours = "closed"
	Holiday Hours = "holiday" // a listed holiday: closed all day
)

// hoursAt says whether h is open at t, read in the schedule's time zone.
func hoursAt(h *schedule.Hours, t time.Time) Hours {
	switch {
	case h.Holiday(t):
		return Holiday
	case h.Open(t):
		return Open
	}
	return Closed
}
