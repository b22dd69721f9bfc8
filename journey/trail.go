package journey

import (
	"strings"

	"github.com/hotline-cc/hotline/ivr"
)

// Step is one node of the flow the caller passed through, as the agent desktop shows it: what
// they chose and what the flow learned. It never holds a sensitive value: the flow's events
// already show those as [redacted], and the journey drops them.
type Step struct {
	Node   string
	Kind   string // the node's step: menu, input, queue ...
	Exit   string // the exit taken (a menu's choice, "match", "timeout" ...)
	Detail string
}

// maxSteps bounds a journey's trail: a caller looping in a menu cannot grow it without end.
const maxSteps = 64

// AddStep records a node the flow finished for this call (the center's flow observer).
func (j *Journey) AddStep(e ivr.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.steps) < maxSteps {
		j.steps = append(j.steps, Step{Node: e.Node, Kind: e.Step, Exit: e.Exit, Detail: e.Detail})
	}
	for _, v := range e.Set {
		if redacted(v.Value) {
			delete(j.vars, v.Name)
			continue
		}
		if j.vars == nil {
			j.vars = map[string]string{}
		}
		j.vars[v.Name] = v.Value
	}
}

// Trail is the nodes the caller passed through, in order, and the variables the flow set
// (sensitive ones left out).
func (j *Journey) Trail() ([]Step, map[string]string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	vars := make(map[string]string, len(j.vars))
	for k, v := range j.vars {
		vars[k] = v
	}
	return append([]Step(nil), j.steps...), vars
}

func redacted(v string) bool { return strings.Contains(v, ivr.Redacted) }
