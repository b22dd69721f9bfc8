package reports

import (
	"math"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
)

// Contact events that make a report exact. The center appends one to a contact for each
// acd.WaitSample and acd.HandleSample its Observer receives (LeftEvent, HandledEvent): then
// a report counts exactly what the distributor counted, overflows and callbacks included.
// A contact without them is counted from its fields (Queue, QueuedAt, Wait, Talk, Outcome),
// which is exact for a caller who stayed in one queue (see docs/kpis.md).
const (
	// EventLeft: the contact left a queue. Data: queue, outcome (answered, abandoned, timeout,
	// overflowed, callback), kind (caller, callback), wait_ms (from the original arrival),
	// short (an abandon within the short-abandon threshold).
	EventLeft = "acd.left"
	// EventHandled: the contact's wrap-up ended. Data: queue, agent, kind, talk_ms, wrap_up_ms.
	EventHandled = "acd.handled"
)

// LeftEvent is the contact event for a wait sample observed at `at`.
func LeftEvent(at time.Time, s acd.WaitSample) customers.Event {
	kind := s.Kind
	if kind == "" {
		kind = acd.KindCaller
	}
	return customers.Event{At: at, Type: EventLeft, Data: map[string]any{
		"queue": s.Queue, "outcome": string(s.Outcome), "kind": string(kind),
		"wait_ms": s.Wait.Milliseconds(), "short": s.Short,
	}}
}

// HandledEvent is the contact event for a handle sample observed at `at` (the wrap-up's end).
func HandledEvent(at time.Time, s acd.HandleSample) customers.Event {
	kind := s.Kind
	if kind == "" {
		kind = acd.KindCaller
	}
	return customers.Event{At: at, Type: EventHandled, Data: map[string]any{
		"queue": s.Queue, "agent": s.AgentID, "kind": string(kind),
		"talk_ms": s.Talk.Milliseconds(), "wrap_up_ms": s.WrapUp.Milliseconds(),
	}}
}

// leftSample reads back the wait sample of an EventLeft (LeftEvent's inverse); a missing kind
// is a caller, as LeftEvent writes it. shortKnown is false when the event has no "short".
func leftSample(e customers.Event) (s acd.WaitSample, shortKnown bool) {
	s = acd.WaitSample{
		Queue: dataString(e.Data, "queue"), Kind: acd.CallKind(dataString(e.Data, "kind")),
		Outcome: acd.Outcome(dataString(e.Data, "outcome")), Wait: dataMS(e.Data, "wait_ms"),
	}
	if s.Kind == "" {
		s.Kind = acd.KindCaller
	}
	s.Short, shortKnown = dataBool(e.Data, "short")
	return s, shortKnown
}

// Event data comes back from JSON: numbers are float64.
func dataString(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return s
}

func dataMS(d map[string]any, k string) time.Duration {
	switch v := d[k].(type) {
	case float64:
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			return time.Duration(v) * time.Millisecond
		}
	case int64:
		return time.Duration(v) * time.Millisecond
	case int:
		return time.Duration(v) * time.Millisecond
	}
	return 0
}

func dataBool(d map[string]any, k string) (bool, bool) {
	b, ok := d[k].(bool)
	return b, ok
}
