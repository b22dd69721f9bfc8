package acd

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// kpiScenario runs seven callers with known outcomes through a queue with T = 20s, S = 5s:
//
//	c1 answered after 10s (talk 60s, wrap-up 10s)   c5 abandoned after 40s
//	c2 answered after 30s (talk 120s, wrap-up 10s)  c6 timed out after 60s
//	c3 abandoned after 3s (short)                   c7 converted to a callback after 12s,
//	c4 abandoned after 15s                             then cancelled
func kpiScenario(t *testing.T, rec *recorder) *rig {
	cfg := Config{
		Queues: []QueueConfig{{Name: "q", ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second,
			WrapUp: 10 * time.Second, MaxWait: time.Minute}},
		Agents: agents(1, []string{"q"}, nil),
	}
	var opts []Option
	if rec != nil {
		opts = append(opts, WithObserver(rec))
	}
	r := newRig(t, cfg, opts...)
	if rec != nil {
		rec.d = r.d
	}
	r.advance(time.Hour)
	ago := func(d time.Duration) func(*Call) { return arrived(r.clk.Now().Add(-d)) }
	for _, c := range []struct {
		id         string
		wait, talk time.Duration
	}{{"c1", 10 * time.Second, time.Minute}, {"c2", 30 * time.Second, 2 * time.Minute}} {
		r.enqueue(c.id, "q", ago(c.wait))
		r.answerAll(r.login("a1"))
		r.advance(c.talk)
		r.hangup(c.id)
		r.advance(10 * time.Second) // wrap-up
		r.ok(r.d.Logout("a1"))
	}
	for _, c := range []struct {
		id   string
		wait time.Duration
	}{{"c3", 3 * time.Second}, {"c4", 15 * time.Second}, {"c5", 40 * time.Second}} {
		r.enqueue(c.id, "q", ago(c.wait))
		r.ok(r.d.Abandon(c.id))
	}
	r.enqueue("c6", "q")
	r.advance(time.Minute)
	r.enqueue("c7", "q", ago(12*time.Second))
	r.ok(r.d.ConvertToCallback("c7"))
	r.ok(r.d.Abandon("c7"))
	return r
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestKPIsFollowTheDocumentedFormulas(t *testing.T) {
	r := kpiScenario(t, nil)
	qs, _ := r.d.QueueStats("q")
	c := qs.Totals
	wantCounters := Counters{
		Entered: 7, Offered: 7, Answered: 2, AnsweredInTarget: 1, Abandoned: 3, ShortAbandoned: 1,
		AbandonedInTarget: 2, TimedOut: 1, ConvertedToCallback: 1, LeftInTarget: 4,
		AnsweredWait: 40 * time.Second, CallbacksCancelled: 1, Handled: 2,
		TalkTime: 3 * time.Minute, WrapUpTime: 20 * time.Second,
		AgentBusyTime: 3*time.Minute + 20*time.Second,
	}
	if c != wantCounters {
		t.Fatalf("counters\n got %+v\nwant %+v", c, wantCounters)
	}
	k := qs.TotalKPIs
	for name, got := range map[string][2]float64{
		"service level (default)":  {k.ServiceLevel, 1.0 / 6},         // answered≤T / (offered − abandoned≤S)
		"service level, answered":  {k.ServiceLevelAnswered, 0.5},     // answered≤T / answered
		"service level + abandons": {k.ServiceLevelWithAbandons, 0.6}, // (1+2)/(2+3)
		"service level, left":      {k.ServiceLevelLeft, 4.0 / 7},
		"ASA":                      {k.ASA, 20},
		"AHT":                      {k.AHT, 100},             // (60+10 + 120+10)/2
		"abandon rate":             {k.AbandonRate, 2.0 / 6}, // short abandons apart, callbacks excluded
		"short abandon rate":       {k.ShortAbandonRate, 1.0 / 7},
		"occupancy":                {k.Occupancy, 1}, // the agent only ever worked
	} {
		if !near(got[0], got[1]) {
			t.Errorf("%s = %v, want %v", name, got[0], got[1])
		}
	}
}

func TestRollingWindowsForgetOldContacts(t *testing.T) {
	r := kpiScenario(t, nil)
	r.advance(20 * time.Minute)
	qs, _ := r.d.QueueStats("q")
	if len(qs.Windows) != 3 {
		t.Fatalf("windows %v", qs.Windows)
	}
	w15, w1h, w24h := qs.Windows[0], qs.Windows[1], qs.Windows[2]
	if w15.Window != 15*time.Minute || w15.Counters.Offered != 0 || !math.IsNaN(w15.KPIs.ServiceLevel) {
		t.Fatalf("15m window still holds old contacts: %+v", w15)
	}
	if w1h.Counters != qs.Totals || w24h.Counters.Offered != 7 {
		t.Fatalf("1h window %+v\ntotals %+v", w1h.Counters, qs.Totals)
	}
	b, err := json.Marshal(qs)
	if err != nil {
		t.Fatalf("stats must encode to JSON: %v", err)
	}
	if !strings.Contains(string(b), `"ServiceLevel":null`) {
		t.Fatalf("an undefined KPI must be null in JSON: %s", b)
	}
}

func TestOccupancyCountsLiveAgentTime(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 1))
	r.login("a1")
	r.advance(time.Minute) // idle 1m
	r.answerAll(r.enqueue("c1", "q"))
	r.advance(3 * time.Minute) // on call 3m, still in progress
	qs, _ := r.d.QueueStats("q")
	if k := qs.Windows[0].KPIs.Occupancy; !near(k, 0.75) {
		t.Fatalf("occupancy %v, want 0.75", k)
	}
	if qs.Agents != (AgentCounts{OnCall: 1}) {
		t.Fatalf("agents by state %+v", qs.Agents)
	}
}

func TestQueueStatsShowWaitingCallersAndOldestWait(t *testing.T) {
	r := newRig(t, oneQueue(LongestIdle, 2))
	r.login("a1")
	r.answerAll(r.enqueue("busy", "q"))
	r.enqueue("c1", "q", prio(0))
	r.advance(time.Minute)
	r.enqueue("c2", "q", prio(9))
	r.ok(r.d.ConvertToCallback("c1"))
	r.advance(time.Minute)
	qs, _ := r.d.QueueStats("q")
	if qs.Waiting != 2 || qs.WaitingCallbacks != 1 || qs.OldestWait != 2*time.Minute || qs.Agents.LoggedOut != 1 {
		t.Fatalf("stats %+v", qs)
	}
	if all := r.d.Queues(); len(all) != 1 || all[0].Queue != "q" {
		t.Fatalf("Queues() = %v", all)
	}
	if _, ok := r.d.QueueStats("nope"); ok {
		t.Fatal("unknown queue reported")
	}
}

// recorder is an Observer that calls back into the distributor, which would deadlock if the
// distributor called it while holding its lock.
type recorder struct {
	d       *Distributor
	waits   []WaitSample
	handles []HandleSample
}

func (o *recorder) ObserveWait(s WaitSample)     { o.d.Queues(); o.waits = append(o.waits, s) }
func (o *recorder) ObserveHandle(s HandleSample) { o.d.Agents(); o.handles = append(o.handles, s) }

func TestObserverGetsWaitAndHandleSamplesOutsideTheLock(t *testing.T) {
	rec := &recorder{}
	kpiScenario(t, rec)
	var got []string
	for _, w := range rec.waits {
		got = append(got, fmt.Sprintf("%s:%s:%v:%v", w.CallID, w.Outcome, w.Wait, w.Short))
	}
	want := []string{
		"c1:answered:10s:false", "c2:answered:30s:false", "c3:abandoned:3s:true", "c4:abandoned:15s:false",
		"c5:abandoned:40s:false", "c6:timeout:1m0s:false", "c7:callback:12s:false", "c7:abandoned:12s:false",
	}
	if !equal(got, want) {
		t.Fatalf("wait samples\n got %v\nwant %v", got, want)
	}
	if len(rec.handles) != 2 || rec.handles[1] != (HandleSample{Queue: "q", CallID: "c2", AgentID: "a1", Kind: KindCaller, Talk: 2 * time.Minute, WrapUp: 10 * time.Second}) {
		t.Fatalf("handle samples %+v", rec.handles)
	}
	if rec.handles[1].Handle() != 130*time.Second {
		t.Fatal("handle = talk + wrap-up")
	}
}

// The counting rule the reports share: a wait equal to T is within target, an abandon after
// exactly S is short, and callbacks never count as callers.
func TestWaitSampleCountersAreTheCountingRule(t *testing.T) {
	const T, S = 20 * time.Second, 5 * time.Second
	sample := func(k CallKind, o Outcome, w time.Duration) WaitSample {
		return WaitSample{Kind: k, Outcome: o, Wait: w, Short: IsShortAbandon(o, w, S)}
	}
	for _, c := range []struct {
		s    WaitSample
		want Counters
	}{
		{sample(KindCaller, OutcomeAnswered, T), Counters{Offered: 1, Answered: 1, AnsweredInTarget: 1, LeftInTarget: 1, AnsweredWait: T}},
		{sample(KindCaller, OutcomeAnswered, T+1), Counters{Offered: 1, Answered: 1, AnsweredWait: T + 1}},
		{sample(KindCaller, OutcomeAbandoned, S), Counters{Offered: 1, Abandoned: 1, ShortAbandoned: 1, AbandonedInTarget: 1, LeftInTarget: 1}},
		{sample(KindCaller, OutcomeAbandoned, S+1), Counters{Offered: 1, Abandoned: 1, AbandonedInTarget: 1, LeftInTarget: 1}},
		{sample(KindCaller, OutcomeTimeout, time.Minute), Counters{Offered: 1, TimedOut: 1}},
		{sample(KindCaller, OutcomeOverflowed, 3*time.Second), Counters{Offered: 1, OverflowedOut: 1}},
		{sample(KindCaller, OutcomeCallback, 12*time.Second), Counters{Offered: 1, ConvertedToCallback: 1, LeftInTarget: 1}},
		{sample(KindCallback, OutcomeAnswered, time.Hour), Counters{CallbacksAnswered: 1, CallbackWait: time.Hour}},
		{sample(KindCallback, OutcomeAbandoned, time.Second), Counters{CallbacksCancelled: 1}},
		{sample(KindCallback, OutcomeOverflowed, time.Second), Counters{}},
	} {
		if got := c.s.Counters(T); got != c.want {
			t.Errorf("%s %s after %v:\n got %+v\nwant %+v", c.s.Kind, c.s.Outcome, c.s.Wait, got, c.want)
		}
	}
	if IsShortAbandon(OutcomeTimeout, time.Second, S) {
		t.Error("a timeout is never a short abandon")
	}
}
