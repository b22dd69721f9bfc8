package journey

import (
	"sort"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr"
)

// Registry is the journeys in progress: the one map from call ID to call. It publishes each
// change of a journey's live view to the function it was made with.
type Registry struct {
	publishFn func(l call.Live, ended bool)

	mu      sync.Mutex
	calls   map[string]*Journey
	created map[string]int // customer ID -> journeys in progress whose contact created it
}

// NewRegistry makes an empty registry; publish (may be nil) receives every change of a live
// call, and its end, on the goroutine that made the change. It must not block.
func NewRegistry(publish func(l call.Live, ended bool)) *Registry {
	return &Registry{publishFn: publish, calls: map[string]*Journey{}, created: map[string]int{}}
}

// Start registers a call entering its flow.
func (r *Registry) Start(ch call.Channel, flow string) *Journey {
	now := time.Now()
	j := &Journey{ch: ch, flow: flow, reg: r}
	j.live = call.Live{ID: ch.ID(), Caller: ch.Caller(), Dialed: ch.Dialed(), State: call.StateIVR,
		Started: now, Since: now, Flow: flow}
	r.mu.Lock()
	r.calls[ch.ID()] = j
	r.mu.Unlock()
	r.publish(j.Live(), false)
	return j
}

// End removes a journey whose call has ended and publishes its last view.
func (r *Registry) End(j *Journey) {
	r.mu.Lock()
	if r.calls[j.ID()] == j {
		delete(r.calls, j.ID())
	}
	j.mu.Lock()
	if j.created != "" {
		if r.created[j.created]--; r.created[j.created] <= 0 {
			delete(r.created, j.created)
		}
	}
	j.ended = true
	l, agent := j.live, j.agentLeg
	j.mu.Unlock()
	r.mu.Unlock()
	r.publish(j.withMedia(l, agent), true)
}

// Get is the journey of a call in progress, nil if there is none.
func (r *Registry) Get(callID string) *Journey {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[callID]
}

// Connected is the journey connected to agent, nil if none.
func (r *Registry) Connected(agent string) *Journey {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range r.calls {
		j.mu.Lock()
		ok := j.live.State == call.StateConnected && j.live.Agent == agent
		j.mu.Unlock()
		if ok {
			return j
		}
	}
	return nil
}

// Calls is every call in progress, oldest first.
func (r *Registry) Calls() []call.Live {
	r.mu.Lock()
	js := make([]*Journey, 0, len(r.calls))
	for _, j := range r.calls {
		js = append(js, j)
	}
	r.mu.Unlock()
	out := make([]call.Live, 0, len(js))
	for _, j := range js {
		out = append(out, j.Live())
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Started.Before(out[k].Started) })
	return out
}

// opened records the call's contact, and the customer record it created if it did.
func (r *Registry) opened(j *Journey, contactID, customerID, createdCustomer string) {
	r.mu.Lock()
	j.mu.Lock()
	j.contactID, j.created = contactID, createdCustomer
	j.mu.Unlock()
	if createdCustomer != "" {
		r.created[createdCustomer]++
	}
	r.mu.Unlock()
	j.update(func(l *call.Live) { l.CustomerID = customerID }) // the live view (and the agent's screen-pop) names the customer
}

// createdByLiveCall says whether a call in progress created this customer record.
func (r *Registry) createdByLiveCall(customerID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.created[customerID] > 0
}

// contactFor is the contact of a call in progress, "" if none.
func (r *Registry) contactFor(callID string) string {
	if j := r.Get(callID); j != nil {
		return j.ContactID()
	}
	return ""
}

func (r *Registry) publish(l call.Live, ended bool) {
	if r.publishFn != nil {
		r.publishFn(l, ended)
	}
}

// Nodes follows the flow node each journey is in, for the live view (an ivr.Observer and
// ivr.NodeStarter).
type Nodes struct{ Calls *Registry }

// Observe is told of each node as it ends: the journey keeps it on its trail, which the agent
// desktop shows when the call is offered.
func (n Nodes) Observe(e ivr.Event) {
	if j := n.Calls.Get(e.CallID); j != nil {
		j.AddStep(e)
	}
}

// NodeStart records the node a call has entered.
func (n Nodes) NodeStart(e ivr.Event) {
	if j := n.Calls.Get(e.CallID); j != nil {
		j.SetNode(e.Node)
	}
}
