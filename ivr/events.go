package ivr

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Event is one node a call passed through. Events are what the contact's record keeps and
// what per-node drop-off counts are made of. They never hold a sensitive value: an input
// marked sensitive, and every variable computed from one, shows as [redacted].
type Event struct {
	CallID   string
	Flow     string
	Version  string // the flow file's version (hash), so a record shows which edit ran
	Node     string
	Step     string // the node's step: menu, queue ...
	Exit     string // the exit taken; "hangup" when the caller hung up here, "end" when the flow ended here
	Next     string // the node next ("flow/node" when a goto leaves the flow); "" when the call leaves the flow
	Start    time.Time
	Duration time.Duration
	Detail   string // one line for people: "office: closed", "support: answered by 1001 after 42s"
	Set      []Var  // variables this node set
	Err      string // what went wrong, on an error exit
}

// Var is a variable's new value as text.
type Var struct {
	Name  string
	Value string
}

// Observer receives each node's event as the node ends, on the call's goroutine.
type Observer interface {
	Observe(Event)
}

// NodeStarter is an Observer that also wants to know when a node begins (the simulator
// prints a node's name before its prompts).
type NodeStarter interface {
	NodeStart(Event)
}

// PrivacyObserver is an Observer that must know while a step takes sensitive input (an
// input with sensitive: true), so that nothing records it: a conversation recording holds
// silence in between. Sensitive(callID, true) comes before the step's prompt plays and
// Sensitive(callID, false) once its digits are in, also when the caller hung up.
type PrivacyObserver interface {
	Sensitive(callID string, on bool)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

func (f ObserverFunc) Observe(e Event) { f(e) }

// Observers fans events out to several observers.
func Observers(obs ...Observer) Observer {
	return ObserverFunc(func(e Event) {
		for _, o := range obs {
			if o != nil {
				o.Observe(e)
			}
		}
	})
}

// Metrics counts what flows do, for Prometheus: hotline_ivr_node_exits_total{flow,node,exit}
// (per-node drop-off: exit="hangup" is a caller lost at that node), node durations, and
// calls by outcome.
type Metrics struct {
	nodeExits *prometheus.CounterVec
	nodeTime  *prometheus.HistogramVec
	calls     *prometheus.CounterVec
}

// NewMetrics registers the flow metrics with reg (nil: not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		nodeExits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hotline", Subsystem: "ivr", Name: "node_exits_total",
			Help: "Calls leaving a flow node, by exit; exit=\"hangup\" counts callers who hung up there.",
		}, []string{"flow", "node", "exit"}),
		nodeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hotline", Subsystem: "ivr", Name: "node_duration_seconds",
			Help:    "Time calls spend in a flow node.",
			Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600},
		}, []string{"flow", "node"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hotline", Subsystem: "ivr", Name: "calls_total",
			Help: "Calls that finished their flow, by the flow they started in and the outcome.",
		}, []string{"flow", "outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.nodeExits, m.nodeTime, m.calls)
	}
	return m
}

// Observe counts a node event.
func (m *Metrics) Observe(e Event) {
	m.nodeExits.WithLabelValues(e.Flow, e.Node, e.Exit).Inc()
	m.nodeTime.WithLabelValues(e.Flow, e.Node).Observe(e.Duration.Seconds())
}

func (m *Metrics) ended(entry string, res Result) {
	m.calls.WithLabelValues(entry, string(res.Outcome)).Inc()
}

// NodeExits is the current count for one (flow, node, exit), for tests and the dashboard.
func (m *Metrics) NodeExits(flow, node, exit string) float64 {
	c, err := m.nodeExits.GetMetricWithLabelValues(flow, node, exit)
	if err != nil {
		return 0
	}
	var out float64
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	close(ch)
	for mt := range ch {
		var pb dto.Metric
		if err := mt.Write(&pb); err == nil && pb.Counter != nil {
			out = pb.Counter.GetValue()
		}
	}
	return out
}
