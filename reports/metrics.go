package reports

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-cc/hotline/acd"
)

// Collector exports the distributor's live view at scrape time, so /metrics and the
// dashboard read the same numbers from the same place.
type Collector struct {
	d acd.Engine

	waiting, oldest, agents, handleEst                  *prometheus.Desc
	offered, answered, abandoned, shortAbandoned        *prometheus.Desc
	timedOut, callbacks, transferred, holdSeconds       *prometheus.Desc
	agentTransfers                                      *prometheus.Desc
	serviceLevel, asa, aht, abandonRate, occupancy      *prometheus.Desc
	agentState, agentHandled, agentMisses, agentSeconds *prometheus.Desc
	agentPause                                          *prometheus.Desc
}

// NewCollector exports d's queues and agents at scrape time.
func NewCollector(d acd.Engine) *Collector {
	q := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("hotline_queue_"+name, help, append([]string{"queue"}, labels...), nil)
	}
	a := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("hotline_agent_"+name, help, append([]string{"agent"}, labels...), nil)
	}
	return &Collector{
		d:              d,
		waiting:        q("calls_waiting", "Contacts waiting in the queue (callbacks and ringing included)."),
		oldest:         q("oldest_wait_seconds", "Longest current wait, from original arrival."),
		agents:         q("agents", "Member agents by state.", "state"),
		handleEst:      q("handle_time_estimate_seconds", "Mean recent handle time used by wait estimates."),
		offered:        q("offered_total", "Callers who left the queue, whatever the outcome."),
		answered:       q("answered_total", "Callers answered by an agent."),
		abandoned:      q("abandoned_total", "Callers who hung up while waiting (short abandons included)."),
		shortAbandoned: q("short_abandoned_total", "Callers who hung up within the short-abandon threshold."),
		timedOut:       q("timed_out_total", "Callers who reached the queue's max wait."),
		callbacks:      q("converted_to_callback_total", "Callers who took a callback that keeps their place."),
		serviceLevel:   q("service_level_ratio", "Service level by window and variant (default: answered within T / (offered - short abandons)).", "window", "variant"),
		asa:            q("average_speed_of_answer_seconds", "Mean wait of answered callers.", "window"),
		aht:            q("average_handle_time_seconds", "Mean talk + hold + wrap-up per handled contact.", "window"),
		abandonRate:    q("abandon_rate_ratio", "(abandoned - short) / (offered - short), callbacks excluded.", "window"),
		occupancy:      q("occupancy_ratio", "Agent busy time / (busy + idle) for the queue's agents.", "window"),
		agentState:     a("state", "1 for the agent's current state.", "state", "reason"),
		agentHandled:   a("calls_handled_total", "Calls the agent answered."),
		agentTransfers: a("transfers_total", "Calls the agent transferred (to an agent, a queue or a number)."),
		transferred:    q("transferred_total", "Connected calls an agent transferred (to an agent, a queue or a number)."),
		holdSeconds:    q("hold_seconds_total", "Time handled callers spent on hold (part of the handle time)."),
		agentMisses:    a("missed_offers_total", "Offers the agent missed, by reason.", "reason"),
		agentSeconds:   a("state_seconds_total", "Time spent in each state.", "state"),
		agentPause:     a("pause_seconds_total", "Time spent paused, by reason.", "reason"),
	}
}

// OutboxGauge reports webhooks not yet delivered (read from the store at scrape time).
func OutboxGauge(store interface {
	PendingDeliveries(context.Context) (int, error)
}) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "hotline", Subsystem: "webhooks", Name: "outbox_pending",
		Help: "Webhooks committed but not yet delivered to the helpdesk.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := store.PendingDeliveries(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
}

// Describe implements prometheus.Collector.
func (k *Collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(k, ch) }

// Collect implements prometheus.Collector.
func (k *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	counter := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, l...)
	}
	for _, s := range k.d.Queues() {
		n := s.Queue
		gauge(k.waiting, float64(s.Waiting), n)
		gauge(k.oldest, s.OldestWait.Seconds(), n)
		gauge(k.handleEst, s.HandleTimeEstimate.Seconds(), n)
		for state, v := range map[acd.AgentState]int{ // same state names as hotline_agent_state
			acd.LoggedOut: s.Agents.LoggedOut, acd.Available: s.Agents.Available, acd.Reserved: s.Agents.Reserved,
			acd.OnCall: s.Agents.OnCall, acd.WrapUp: s.Agents.WrapUp, acd.Paused: s.Agents.Paused,
		} {
			gauge(k.agents, float64(v), n, state.String())
		}
		t := s.Totals
		counter(k.offered, float64(t.Offered), n)
		counter(k.answered, float64(t.Answered), n)
		counter(k.abandoned, float64(t.Abandoned), n)
		counter(k.shortAbandoned, float64(t.ShortAbandoned), n)
		counter(k.timedOut, float64(t.TimedOut), n)
		counter(k.transferred, float64(t.Transferred), n)
		counter(k.holdSeconds, t.HoldTime.Seconds(), n)
		counter(k.callbacks, float64(t.ConvertedToCallback), n)
		kpis := func(window string, kp acd.KPIs) {
			gauge(k.serviceLevel, kp.ServiceLevel, n, window, "default")
			gauge(k.serviceLevel, kp.ServiceLevelAnswered, n, window, "answered")
			gauge(k.serviceLevel, kp.ServiceLevelWithAbandons, n, window, "with_abandons")
			gauge(k.serviceLevel, kp.ServiceLevelLeft, n, window, "left")
			gauge(k.asa, kp.ASA, n, window)
			gauge(k.aht, kp.AHT, n, window)
			gauge(k.abandonRate, kp.AbandonRate, n, window)
			gauge(k.occupancy, kp.Occupancy, n, window)
		}
		kpis("total", s.TotalKPIs)
		for _, w := range s.Windows {
			kpis(w.Window.String(), w.KPIs)
		}
	}
	for _, a := range k.d.Agents() {
		gauge(k.agentState, 1, a.ID, a.State.String(), a.PauseReason)
		counter(k.agentHandled, float64(a.CallsHandled), a.ID)
		counter(k.agentTransfers, float64(a.Transfers), a.ID)
		for reason, v := range map[string]int64{"no_answer": a.Misses.NoAnswer, "busy": a.Misses.Busy, "rejected": a.Misses.Rejected, "unreachable": a.Misses.Unreachable} {
			counter(k.agentMisses, float64(v), a.ID, reason)
		}
		for st, d := range a.TimeInState {
			counter(k.agentSeconds, d.Seconds(), a.ID, st.String())
		}
		for r, d := range a.TimeInPause {
			counter(k.agentPause, d.Seconds(), a.ID, r)
		}
	}
}

// QueueHistograms are a center's wait and handle time distributions, registered with its
// other metrics (so two centers in one process, as in tests, keep their own).
type QueueHistograms struct{ Wait, Handle *prometheus.HistogramVec }

// NewQueueHistograms makes the two histograms, registered nowhere yet.
func NewQueueHistograms() QueueHistograms {
	return QueueHistograms{
		Wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hotline", Subsystem: "queue", Name: "wait_seconds",
			Help:    "Time callers spent in queue, from original arrival, by outcome.",
			Buckets: []float64{5, 10, 20, 30, 60, 120, 300, 600, 1800},
		}, []string{"queue", "outcome"}),
		Handle: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hotline", Subsystem: "queue", Name: "handle_seconds",
			Help:    "Handle time (talk + hold + wrap-up) of handled contacts.",
			Buckets: []float64{30, 60, 120, 180, 300, 600, 1200, 3600},
		}, []string{"queue"}),
	}
}
