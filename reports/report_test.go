package reports

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/internal/fakeclock"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// day is the scripted day, local time.
func at(hms string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", "2026-05-11 "+hms, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

type sample struct {
	wait   *acd.WaitSample
	handle *acd.HandleSample
	at     time.Time
}

// day drives a real distributor through a scripted day and records what the center would:
// a contact per call with its fields, and (withEvents) the acd.left / acd.handled events.
type day struct {
	t          *testing.T
	ctx        context.Context
	clk        *fakeclock.Clock // the one time of the scripted day, shared by the distributor and the store
	d          *acd.Distributor
	st         *customers.Store
	withEvents bool
	contact    map[string]string // call ID → inbound contact ID
	attempt    map[string]string // call ID → callback attempt contact ID
	callback   map[string]string // call ID → callback ID
	answered   map[string]time.Time
	samples    []sample
}

func (d *day) ObserveWait(s acd.WaitSample) {
	d.samples = append(d.samples, sample{wait: &s, at: d.clk.Now()})
}
func (d *day) ObserveHandle(s acd.HandleSample) {
	d.samples = append(d.samples, sample{handle: &s, at: d.clk.Now()})
}

var rules = map[string]Rules{
	"support": {ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second, WrapUp: 10 * time.Second},
	"vip":     {ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second},
	"sales":   {ServiceLevel: 30 * time.Second, ShortAbandon: 5 * time.Second},
}

func newDay(t *testing.T, withEvents bool) *day {
	t.Helper()
	ctx := context.Background()
	clk := fakeclock.New(at("08:00:00"))
	st, err := customers.Open(ctx, customers.Config{DataDir: t.TempDir()}, customers.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dy := &day{t: t, ctx: ctx, clk: clk, st: st, withEvents: withEvents, contact: map[string]string{},
		attempt: map[string]string{}, callback: map[string]string{}, answered: map[string]time.Time{}}
	cfg := acd.Config{
		Queues: []acd.QueueConfig{
			{Name: "support", ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second, WrapUp: 10 * time.Second, MaxWait: 60 * time.Second},
			{Name: "vip", ServiceLevel: 20 * time.Second, ShortAbandon: 5 * time.Second, Overflow: acd.Overflow{Queue: "sales", After: 30 * time.Second}},
			{Name: "sales", ServiceLevel: 30 * time.Second, ShortAbandon: 5 * time.Second},
		},
		Agents: []acd.AgentConfig{
			{ID: "a1", Queues: []string{"support"}}, {ID: "a2", Queues: []string{"support"}}, {ID: "b1", Queues: []string{"sales"}},
		},
	}
	dy.d, err = acd.New(cfg, clk, acd.WithObserver(dy))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"a1", "a2", "b1"} {
		dy.ok(dy.d.Login(a))
		dy.ok(dy.d.Pause(a, "prep"))
	}
	return dy
}

// setClock moves the day's time on; the script never goes back.
func (d *day) setClock(t time.Time) {
	d.t.Helper()
	if t.Before(d.clk.Now()) {
		d.t.Fatalf("clock going back: %s", t)
	}
	d.clk.Set(t)
}

func (d *day) ok(acts []acd.Action, err error) []acd.Action {
	d.t.Helper()
	if err != nil {
		d.t.Fatal(err)
	}
	return acts
}

func (d *day) at(hms string) time.Time {
	tm := at(hms)
	d.setClock(tm)
	d.d.Tick()
	return tm
}

func (d *day) update(callID string, u customers.ContactUpdate) {
	d.t.Helper()
	if _, err := d.st.UpdateContact(d.ctx, d.contact[callID], u); err != nil {
		d.t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// arrive: the caller spent 15 s in the IVR before joining the queue at hms.
func (d *day) arrive(id, queue, number, hms string) {
	d.t.Helper()
	tm := d.at(hms)
	c, err := d.st.AddContact(d.ctx, customers.Contact{CallID: id, Address: number, Dialed: "4000", Flow: "hotline",
		Queue: queue, StartedAt: tm.Add(-15 * time.Second), QueuedAt: tm})
	if err != nil {
		d.t.Fatal(err)
	}
	d.contact[id] = c.ID
	d.ok(d.d.Enqueue(acd.Call{ID: id, Queue: queue, ArrivedAt: tm}))
}

// answer: the agent is unpaused, offered the call and answers at once; a pause is left
// pending so that the agent takes nothing else after the wrap-up.
func (d *day) answer(id, agent, hms string) {
	d.t.Helper()
	tm := d.at(hms)
	acts := d.ok(d.d.Unpause(agent))
	offered := false
	for _, a := range acts {
		if o, ok := a.(acd.Offer); ok && o.CallID == id && o.AgentID == agent {
			offered = true
		}
	}
	if !offered {
		d.t.Fatalf("%s: %s was not offered to %s: %#v", hms, id, agent, acts)
	}
	d.ok(d.d.Answered(id, agent))
	d.ok(d.d.Pause(agent, "prep"))
	d.answered[id] = tm
	if cb := d.callback[id]; cb != "" {
		if _, err := d.st.StartCallback(d.ctx, cb); err != nil {
			d.t.Fatal(err)
		}
		return
	}
	st, _ := d.d.CallStatus(id)
	d.update(id, customers.ContactUpdate{Agent: &agent, AnsweredAt: &tm, Wait: &st.Waited, Queue: &st.Queue})
}

func (d *day) hangup(id, hms string) {
	d.t.Helper()
	tm := d.at(hms)
	st, _ := d.d.CallStatus(id)
	d.ok(d.d.Hangup(id))
	talk := tm.Sub(d.answered[id])
	if cb := d.callback[id]; cb != "" {
		var evs []customers.Event
		if d.withEvents { // the callback's answer, on the attempt contact
			for _, s := range d.samples {
				if s.wait != nil && s.wait.CallID == id && s.wait.Kind == acd.KindCallback {
					evs = append(evs, LeftEvent(s.at, *s.wait))
				}
			}
		}
		if _, err := d.st.RecordCallbackAttempt(d.ctx, cb, customers.CallbackAttempt{Outcome: customers.OutcomeCallbackAnswered,
			CallID: id, Agent: st.Agents[0], StartedAt: d.answered[id], AnsweredAt: d.answered[id], EndedAt: tm, Talk: talk, Events: evs}); err != nil {
			d.t.Fatal(err)
		}
		c, err := d.st.ContactByCallID(d.ctx, id)
		if err != nil {
			d.t.Fatal(err)
		}
		d.attempt[id] = c.ID
		return
	}
	d.update(id, customers.ContactUpdate{EndedAt: &tm, Talk: &talk, Outcome: ptr(customers.OutcomeAnswered)})
}

func (d *day) abandon(id, hms string) {
	d.t.Helper()
	tm := d.at(hms)
	st, _ := d.d.CallStatus(id)
	d.ok(d.d.Abandon(id))
	o := customers.OutcomeAbandoned
	if st.Waited <= 5*time.Second {
		o = customers.OutcomeShortAbandoned
	}
	d.update(id, customers.ContactUpdate{EndedAt: &tm, Wait: &st.Waited, Outcome: &o})
}

// flush writes the observed samples as contact events: a caller's on its inbound contact,
// a callback's handling on the attempt contact (its answer went in with the attempt).
func (d *day) flush() {
	if !d.withEvents {
		return
	}
	for _, s := range d.samples {
		var id string
		var ev customers.Event
		switch {
		case s.wait != nil && s.wait.Kind == acd.KindCallback:
			continue
		case s.wait != nil:
			id, ev = d.contact[s.wait.CallID], LeftEvent(s.at, *s.wait)
		case s.handle.Kind == acd.KindCallback:
			id, ev = d.attempt[s.handle.CallID], HandledEvent(s.at, *s.handle)
		default:
			id, ev = d.contact[s.handle.CallID], HandledEvent(s.at, *s.handle)
		}
		if err := d.st.AppendContactEvents(d.ctx, id, ev); err != nil {
			d.t.Fatal(err)
		}
	}
}

func wav(seconds int) []byte {
	return audio.EncodeWAV(audio.SampleRate, 1, make([]int16, audio.SampleRate*seconds))
}

const (
	n1, n2, n3, n4, n5, n6, n7 = "+8613800000001", "+8613800000002", "+8613800000003", "+8613800000004", "+8613800000005", "+8613800000006", "+8613800000007"
	n10, n11, n12              = "+8613800000010", "+8613800000011", "+8613800000012"
)

// script is the day (Asia/Shanghai). Support has T = 20 s, S = 5 s, wrap-up 10 s, max wait 60 s;
// vip overflows to sales after 30 s; sales has T = 30 s and no wrap-up.
func (d *day) script() {
	d.arrive("c1", "support", n1, "09:00:00")
	d.answer("c1", "a1", "09:00:10") // wait 10
	d.hangup("c1", "09:01:10")       // talk 60
	d.at("09:01:20")                 // wrap-up ends
	d.arrive("c2", "support", n2, "09:02:00")
	d.answer("c2", "a1", "09:02:30") // wait 30
	d.hangup("c2", "09:04:30")       // talk 120
	d.at("09:04:40")
	d.arrive("c3", "support", n3, "09:05:00")
	d.abandon("c3", "09:05:03") // short
	d.arrive("c4", "support", n4, "09:06:00")
	d.abandon("c4", "09:06:15") // within T
	d.arrive("c5", "support", n5, "09:07:00")
	d.abandon("c5", "09:07:40")
	d.arrive("c6", "support", n6, "09:08:00")
	d.at("09:09:00") // max wait: timeout
	d.update("c6", customers.ContactUpdate{Wait: ptr(60 * time.Second), Outcome: ptr(customers.OutcomeTimeout)})
	d.at("09:09:40")
	if _, err := d.st.SaveVoicemail(d.ctx, customers.Voicemail{Caller: n6, ContactID: d.contact["c6"], Queue: "support", Audio: bytes.NewReader(wav(2))}); err != nil {
		d.t.Fatal(err)
	}
	d.update("c6", customers.ContactUpdate{EndedAt: ptr(at("09:10:00"))})
	d.arrive("c7", "support", n7, "09:10:00")
	d.at("09:10:12")
	d.ok(d.d.ConvertToCallback("c7"))
	cb, err := d.st.RequestCallback(d.ctx, customers.CallbackRequest{Number: n7, Queue: "support", Source: customers.FromQueue,
		ContactID: d.contact["c7"], ArrivedAt: at("09:10:00")})
	if err != nil {
		d.t.Fatal(err)
	}
	d.callback["c7"] = cb.ID
	d.update("c7", customers.ContactUpdate{Wait: ptr(12 * time.Second), EndedAt: ptr(at("09:10:20")), Outcome: ptr(customers.OutcomeCallbackRequested)})
	d.answer("c7", "a1", "09:20:00") // the callback: 600 s from the original arrival
	d.hangup("c7", "09:20:30")       // talk 30
	d.at("09:20:40")

	d.arrive("d1", "vip", n10, "11:00:00")
	d.at("11:00:30") // overflow to sales
	d.update("d1", customers.ContactUpdate{Queue: ptr("sales")})
	d.answer("d1", "b1", "11:00:50") // wait 50 from the original arrival
	d.hangup("d1", "11:02:30")       // talk 100, no wrap-up
	d.arrive("d2", "sales", n12, "11:05:00")
	d.answer("d2", "b1", "11:05:20") // wait 20
	d.hangup("d2", "11:06:00")       // talk 40

	d.arrive("c8", "support", n1, "14:00:00") // c1's customer again
	d.answer("c8", "a2", "14:00:05")          // wait 5
	d.hangup("c8", "14:01:35")                // talk 90
	d.at("14:01:45")
	d.arrive("c9", "support", "anonymous", "14:10:00")
	d.answer("c9", "a2", "14:10:25") // wait 25
	d.hangup("c9", "14:10:55")       // talk 30
	d.at("14:11:05")

	// A callback booked through the API that nobody answers three times: a ticket.
	d.at("15:00:00")
	cb2, err := d.st.RequestCallback(d.ctx, customers.CallbackRequest{Number: n11, Queue: "support", Source: customers.FromAPI})
	if err != nil {
		d.t.Fatal(err)
	}
	for _, hms := range []string{"15:00:10", "15:10:10", "15:30:10"} {
		d.at(hms)
		if _, err := d.st.RecordCallbackAttempt(d.ctx, cb2.ID, customers.CallbackAttempt{Outcome: customers.OutcomeCallbackNoAnswer, CallID: "cb2-" + hms}); err != nil {
			d.t.Fatal(err)
		}
	}
	d.flush()

	// Survey answers after the calls (csat 1-5, nps 0-10), and one with no queue, which no
	// queue's row counts.
	for _, sv := range []struct {
		call, queue, agent, scale string
		score                     int
		hms                       string
	}{
		{"c1", "support", "a1", customers.ScaleCSAT, 5, "09:01:30"},
		{"c2", "support", "a1", customers.ScaleCSAT, 2, "09:04:50"},
		{"c2", "support", "a1", customers.ScaleNPS, 9, "09:04:55"},
		{"c7", "support", "a1", customers.ScaleNPS, 6, "09:20:50"},
		{"d2", "sales", "b1", customers.ScaleCSAT, 5, "11:06:00"},
		{"c8", "support", "a2", customers.ScaleCSAT, 4, "14:01:40"},
		{"c8", "support", "a2", customers.ScaleNPS, 10, "14:01:41"},
		{"c9", "support", "a2", customers.ScaleNPS, 7, "14:11:00"},
		{"c9", "support", "a2", customers.ScaleCSAT, 3, "14:11:01"},
		{"x1", "", "", customers.ScaleCSAT, 1, "16:00:00"},
	} {
		if _, err := d.st.SaveSurvey(d.ctx, customers.Survey{CallID: sv.call, Name: "after-call", Queue: sv.queue, Agent: sv.agent,
			Scale: sv.scale, Score: sv.score, At: at(sv.hms)}); err != nil {
			d.t.Fatal(err)
		}
	}

	// Later contacts: c3's customer writes a chat two days later (a repeat); c2's customer
	// calls eight days later (outside the 7-day window).
	d.setClock(at("23:00:00").AddDate(0, 0, 8))
	for _, c := range []customers.Contact{
		{Channel: customers.ChannelChat, Address: n3, StartedAt: at("10:00:00").AddDate(0, 0, 2), Outcome: customers.OutcomeCompletedInIVR},
		{Address: n2, StartedAt: at("10:00:00").AddDate(0, 0, 8), Outcome: customers.OutcomeCompletedInIVR},
	} {
		if _, err := d.st.AddContact(d.ctx, c); err != nil {
			d.t.Fatal(err)
		}
	}
}

type want struct {
	offered, answered, abandoned, short, timedOut, overflowed, converted, handled int64
	sl, slAnswered, slAbandons, slLeft, asa, aht, abandonRate, shortRate          float64
	cbRequested, cbCompleted, cbFailed, voicemails, repeatBase, repeats           int64
	repeatRate                                                                    float64
}

var nan = math.NaN()

func check(t *testing.T, what string, r Row, w want) {
	t.Helper()
	c, k := r.Counters, r.KPIs
	ints := []struct {
		name      string
		got, want int64
	}{
		{"offered", c.Offered, w.offered}, {"answered", c.Answered, w.answered}, {"abandoned", c.Abandoned, w.abandoned},
		{"short-abandoned", c.ShortAbandoned, w.short}, {"timed out", c.TimedOut, w.timedOut},
		{"overflowed out", c.OverflowedOut, w.overflowed}, {"converted to callback", c.ConvertedToCallback, w.converted},
		{"handled", c.Handled, w.handled}, {"callbacks requested", r.CallbacksBooked, w.cbRequested},
		{"callbacks completed", r.CallbacksCompleted, w.cbCompleted}, {"callbacks failed", r.CallbacksFailed, w.cbFailed},
		{"voicemails", r.Voicemails, w.voicemails}, {"repeat base", r.RepeatBase, w.repeatBase}, {"repeats", r.Repeats, w.repeats},
	}
	for _, x := range ints {
		if x.got != x.want {
			t.Errorf("%s: %s = %d, want %d", what, x.name, x.got, x.want)
		}
	}
	floats := []struct {
		name      string
		got, want float64
	}{
		{"service level", k.ServiceLevel, w.sl}, {"service level (answered)", k.ServiceLevelAnswered, w.slAnswered},
		{"service level (answered+abandoned)", k.ServiceLevelWithAbandons, w.slAbandons}, {"service level (left)", k.ServiceLevelLeft, w.slLeft},
		{"ASA", k.ASA, w.asa}, {"AHT", k.AHT, w.aht}, {"abandon rate", k.AbandonRate, w.abandonRate},
		{"short-abandon rate", k.ShortAbandonRate, w.shortRate}, {"repeat-contact rate", r.RepeatRate, w.repeatRate},
	}
	for _, x := range floats {
		if math.IsNaN(x.want) != math.IsNaN(x.got) || (!math.IsNaN(x.want) && math.Abs(x.got-x.want) > 1e-9) {
			t.Errorf("%s: %s = %v, want %v", what, x.name, x.got, x.want)
		}
	}
}

// sat is the hand-computed satisfaction of a row or an agent.
type sat struct {
	csatAnswers, csatSatisfied, npsAnswers, promoters, passives, detractors int64
	csat, nps                                                               float64
}

func checkSat(t *testing.T, what string, got Satisfaction, w sat) {
	t.Helper()
	g := sat{got.CSATAnswers, got.CSATSatisfied, got.NPSAnswers, got.Promoters, got.Passive, got.Detractors, got.CSAT, got.NPS}
	same := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || math.Abs(a-b) < 1e-9 }
	if g.csatAnswers != w.csatAnswers || g.csatSatisfied != w.csatSatisfied || g.npsAnswers != w.npsAnswers ||
		g.promoters != w.promoters || g.passives != w.passives || g.detractors != w.detractors || !same(g.csat, w.csat) || !same(g.nps, w.nps) {
		t.Errorf("%s: satisfaction %+v, want %+v", what, g, w)
	}
}

// The hand-computed satisfaction of the scripted day. CSAT = share of 4-5 answers; NPS =
// 100 × (promoters 9-10 − detractors 0-6) / answers.
var (
	supportDaySat = sat{csatAnswers: 4, csatSatisfied: 2, csat: 2.0 / 4, // 5, 2, 4, 3
		npsAnswers: 4, promoters: 2, passives: 1, detractors: 1, nps: 100 * (2.0 - 1) / 4} // 9, 6, 10, 7: 25
	support09Sat = sat{csatAnswers: 2, csatSatisfied: 1, csat: 0.5, npsAnswers: 2, promoters: 1, detractors: 1, nps: 0} // 5, 2; 9, 6
	support14Sat = sat{csatAnswers: 2, csatSatisfied: 1, csat: 0.5, npsAnswers: 2, promoters: 1, passives: 1, nps: 50}  // 4, 3; 10, 7
	salesDaySat  = sat{csatAnswers: 1, csatSatisfied: 1, csat: 1, nps: nan}
	vipDaySat    = sat{csat: nan, nps: nan}
	agentSat     = map[string]sat{"support/a1": support09Sat, "support/a2": support14Sat, "sales/b1": salesDaySat}
)

func checkDaySatisfaction(t *testing.T, rep, hours Report) {
	t.Helper()
	checkSat(t, "support day", row(t, rep.Rows, "support", at("00:00:00")).Satisfaction, supportDaySat)
	checkSat(t, "sales day", row(t, rep.Rows, "sales", at("00:00:00")).Satisfaction, salesDaySat)
	checkSat(t, "vip day", row(t, rep.Rows, "vip", at("00:00:00")).Satisfaction, vipDaySat)
	checkSat(t, "support 09:00", row(t, hours.Rows, "support", at("09:00:00")).Satisfaction, support09Sat)
	checkSat(t, "support 14:00", row(t, hours.Rows, "support", at("14:00:00")).Satisfaction, support14Sat)
	checkSat(t, "support hours total", hours.Totals[indexOf(hours.Totals, "support")].Satisfaction, supportDaySat)
	if len(rep.Satisfaction) != len(agentSat) {
		t.Errorf("%d agents rated, want %d: %+v", len(rep.Satisfaction), len(agentSat), rep.Satisfaction)
	}
	for _, a := range rep.Satisfaction {
		w, ok := agentSat[a.Queue+"/"+a.Agent]
		if !ok {
			t.Errorf("unexpected agent %s/%s", a.Queue, a.Agent)
			continue
		}
		checkSat(t, a.Queue+"/"+a.Agent, a.Satisfaction, w)
	}
}

func row(t *testing.T, rows []Row, queue string, start time.Time) Row {
	t.Helper()
	for _, r := range rows {
		if r.Queue == queue && r.Start.Equal(start) {
			return r
		}
	}
	t.Fatalf("no row for %s at %s", queue, start)
	return Row{}
}

// The hand-computed figures of the scripted day.
var (
	supportDay = want{
		// c1..c9: answered c1 (10 s), c2 (30 s), c8 (5 s), c9 (25 s); abandoned c3 (3 s, short),
		// c4 (15 s), c5 (40 s); c6 timed out; c7 converted at 12 s.
		offered: 9, answered: 4, abandoned: 3, short: 1, timedOut: 1, converted: 1,
		handled:    5,             // c1, c2, c7's callback, c8, c9
		sl:         2.0 / (9 - 1), // c1, c8 within 20 s
		slAnswered: 2.0 / 4, slAbandons: (2.0 + 2) / (4 + 3), slLeft: 5.0 / 9,
		asa:         (10 + 30 + 5 + 25) / 4.0,
		aht:         (60 + 120 + 30 + 90 + 30 + 5*10) / 5.0, // talk + 10 s wrap-up each
		abandonRate: (3.0 - 1) / (9 - 1), shortRate: 1.0 / 9,
		cbRequested: 2, cbCompleted: 1, cbFailed: 1, voicemails: 1,
		repeatBase: 8, repeats: 2, repeatRate: 2.0 / 8, // c9 is withheld; c1 (c8) and c3 (chat) came back
	}
	support09 = want{ // the documented worked example, plus the callback handled
		offered: 7, answered: 2, abandoned: 3, short: 1, timedOut: 1, converted: 1, handled: 3,
		sl: 1.0 / 6, slAnswered: 0.5, slAbandons: 3.0 / 5, slLeft: 4.0 / 7, asa: 20, aht: (60 + 120 + 30 + 30) / 3.0,
		abandonRate: 2.0 / 6, shortRate: 1.0 / 7, cbRequested: 1, cbCompleted: 1, voicemails: 1,
		repeatBase: 7, repeats: 2, repeatRate: 2.0 / 7,
	}
	support14 = want{
		offered: 2, answered: 2, handled: 2, sl: 0.5, slAnswered: 0.5, slAbandons: 0.5, slLeft: 0.5, asa: 15, aht: (90 + 30 + 20) / 2.0,
		abandonRate: 0, shortRate: 0, repeatBase: 1, repeatRate: 0,
	}
	support15 = want{ // the failed API callback only
		sl: nan, slAnswered: nan, slAbandons: nan, slLeft: nan, asa: nan, aht: nan, abandonRate: nan, shortRate: nan,
		cbRequested: 1, cbFailed: 1, repeatRate: nan,
	}
	salesDay = want{ // d1 overflowed in (50 s, late), d2 (20 s)
		offered: 2, answered: 2, handled: 2, sl: 0.5, slAnswered: 0.5, slAbandons: 0.5, slLeft: 0.5, asa: 35, aht: 70,
		abandonRate: 0, shortRate: 0, repeatBase: 2, repeatRate: 0,
	}
	vipDay = want{ // d1 overflowed out after 30 s
		offered: 1, overflowed: 1, sl: 0, slAnswered: nan, slAbandons: nan, slLeft: 0, asa: nan, aht: nan,
		abandonRate: 0, shortRate: 0, repeatBase: 1, repeatRate: 0,
	}
)

func dayQuery(iv time.Duration) Query {
	return Query{From: at("00:00:00"), To: at("00:00:00").AddDate(0, 0, 1), Interval: iv, Location: shanghai}
}

func TestScriptedDayMatchesHandComputedFigures(t *testing.T) {
	d := newDay(t, true)
	d.script()
	rep, err := Compute(d.ctx, d.st, rules, dayQuery(Day))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 3 || len(rep.Totals) != 3 {
		t.Fatalf("rows %d totals %d, want one day for each of 3 queues", len(rep.Rows), len(rep.Totals))
	}
	check(t, "support day", row(t, rep.Rows, "support", at("00:00:00")), supportDay)
	check(t, "sales day", row(t, rep.Rows, "sales", at("00:00:00")), salesDay)
	check(t, "vip day", row(t, rep.Rows, "vip", at("00:00:00")), vipDay)

	hours, err := Compute(d.ctx, d.st, rules, dayQuery(Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(hours.Rows) != 3*24 {
		t.Fatalf("%d hourly rows, want 72", len(hours.Rows))
	}
	check(t, "support 09:00", row(t, hours.Rows, "support", at("09:00:00")), support09)
	check(t, "support 14:00", row(t, hours.Rows, "support", at("14:00:00")), support14)
	check(t, "support 15:00", row(t, hours.Rows, "support", at("15:00:00")), support15)
	check(t, "support hours total", hours.Totals[indexOf(hours.Totals, "support")], supportDay)
	checkDaySatisfaction(t, rep, hours)

	quarters, err := Compute(d.ctx, d.st, rules, Query{Queues: []string{"support"}, From: at("09:00:00"), To: at("09:30:00"), Interval: Quarter, Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	q1, q2 := quarters.Rows[0], quarters.Rows[1]
	if len(quarters.Rows) != 2 || q1.Counters.Offered != 7 || q2.Counters.Offered != 0 || q2.Counters.Handled != 1 {
		t.Errorf("quarters 09:00 and 09:15: offered %d, %d; handled in the second %d; want 7, 0, 1 (the callback's wrap-up ended 09:20:40)",
			q1.Counters.Offered, q2.Counters.Offered, q2.Counters.Handled)
	}

	// The live figures: the distributor counted the same day the same way.
	for _, name := range []string{"support", "sales", "vip"} {
		live, _ := d.d.QueueStats(name)
		var got acd.Counters
		for _, r := range rep.Totals {
			if r.Queue == name {
				got = r.Counters
			}
		}
		want := live.Totals
		want.Entered, want.AgentBusyTime, want.AgentIdleTime, want.CallbacksEntered = 0, 0, 0, 0 // not in the store
		if got != want {
			t.Errorf("%s: report counters differ from the distributor's:\nreport %+v\nlive   %+v", name, got, want)
		}
		lk, rk := live.TotalKPIs, rep.Totals[indexOf(rep.Totals, name)].KPIs
		for _, p := range [][2]float64{{lk.ServiceLevel, rk.ServiceLevel}, {lk.ASA, rk.ASA}, {lk.AHT, rk.AHT}, {lk.AbandonRate, rk.AbandonRate}} {
			if !(p[0] == p[1] || math.IsNaN(p[0]) && math.IsNaN(p[1])) {
				t.Errorf("%s: live KPIs %+v, report %+v", name, lk, rk)
				break
			}
		}
	}
}

func indexOf(rows []Row, queue string) int {
	for i, r := range rows {
		if r.Queue == queue {
			return i
		}
	}
	return -1
}

// A center that writes only the contact fields (no acd.left / acd.handled events) gets the
// same figures for callers who stayed in one queue; an overflow is then counted only in the
// queue the caller ended in (docs/kpis.md).
func TestScriptedDayFromContactFields(t *testing.T) {
	d := newDay(t, false)
	d.script()
	rep, err := Compute(d.ctx, d.st, rules, dayQuery(Day))
	if err != nil {
		t.Fatal(err)
	}
	check(t, "support day", row(t, rep.Rows, "support", at("00:00:00")), supportDay)
	check(t, "sales day", row(t, rep.Rows, "sales", at("00:00:00")), salesDay)
	hours, err := Compute(d.ctx, d.st, rules, dayQuery(Hour))
	if err != nil {
		t.Fatal(err)
	}
	checkDaySatisfaction(t, rep, hours)
	vip := row(t, rep.Rows, "vip", at("00:00:00"))
	if vip.Counters.Offered != 0 {
		t.Errorf("vip without events: offered %d, want 0 (the overflow is not in the fields)", vip.Counters.Offered)
	}
}

func TestCSVAndJSON(t *testing.T) {
	d := newDay(t, true)
	d.script()
	rep, err := Compute(d.ctx, d.st, rules, Query{Queues: []string{"support"}, From: at("09:00:00"), To: at("10:00:00"), Interval: Hour, Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("CSV:\n%s\nwant a header, the 09:00 row and the total", b.String())
	}
	if lines[0] != strings.Join(CSVHeader, ",") {
		t.Errorf("header %q", lines[0])
	}
	want := "support,1h,2026-05-11T09:00:00+08:00,2026-05-11T10:00:00+08:00,7,2,1,3,1,2,1,0,1,3,0.1667,0.5000,0.6000,0.5714,20.0,80.0,0.3333,0.1429,1,1,0,1,7,2,0.2857,,2,1,0.5000,2,1,0,1,0.0"
	if lines[1] != want { // ..., repeat rate, no dispositions, csat 2 answers 1 satisfied 50 %, nps 2 answers 1-0-1: 0
		t.Errorf("CSV row\n got %s\nwant %s", lines[1], want)
	}
	if !strings.HasPrefix(lines[2], "support,total,2026-05-11T09:00:00+08:00,2026-05-11T10:00:00+08:00,7,") {
		t.Errorf("CSV total %s", lines[2])
	}
	j := rep.JSONRows()
	if j[0].ServiceLevel == nil || math.Abs(*j[0].ServiceLevel-1.0/6) > 1e-12 || j[0].Interval != "1h" {
		t.Errorf("JSON row %+v", j[0])
	}
}

func TestQueryErrorsNameTheField(t *testing.T) {
	d := newDay(t, true)
	for _, c := range []struct {
		q    Query
		want string
	}{
		{Query{Interval: Hour}, "from and to"},
		{Query{From: at("10:00:00"), To: at("09:00:00"), Interval: Hour}, "from"},
		{Query{From: at("09:00:00"), To: at("10:00:00"), Interval: 5 * time.Minute}, "interval"},
		{Query{From: at("00:00:00"), To: at("00:00:00").AddDate(1, 0, 0), Interval: Quarter}, "shorten the range"},
	} {
		if _, err := Compute(d.ctx, d.st, rules, c.q); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compute(%+v) = %v, want an error about %q", c.q, err, c.want)
		}
	}
	if _, err := ParseInterval("week"); err == nil || !strings.Contains(err.Error(), "15m, 1h or 1d") {
		t.Errorf("ParseInterval(week) = %v", err)
	}
}

func TestTrafficByHourOfWeek(t *testing.T) {
	d := newDay(t, true)
	d.script()
	// Monday 2026-05-11 is in the last week before Tuesday 2026-05-12.
	hw, err := Traffic(d.ctx, d.st, rules, "support", 1, at("12:00:00").AddDate(0, 0, 1), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(hw) != 168 || hw[0].Weekday != time.Monday || hw[0].Hour != 0 {
		t.Fatalf("%d hours starting %v %d", len(hw), hw[0].Weekday, hw[0].Hour)
	}
	if h := hw[9]; h.Offered != 7 || h.CallsPerHour != 7 || h.AHT != 80*time.Second {
		t.Errorf("Monday 09:00: %+v, want 7 offered, AHT 80s", h)
	}
	if h := hw[10]; h.Offered != 0 || h.AHT != 76*time.Second {
		t.Errorf("Monday 10:00: %+v, want none offered and the week's AHT 76s", h)
	}
}

func TestDispositionsPerQueueAndAgent(t *testing.T) {
	d := newDay(t, true)
	save := func(hms, callID, queue, agent, code string) {
		t.Helper()
		d.clk.Set(at(hms))
		c, err := d.st.AddContact(d.ctx, customers.Contact{Address: "+8613800138000", CallID: callID, Queue: queue, Agent: agent, Outcome: customers.OutcomeAnswered})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.st.SaveDisposition(d.ctx, customers.Disposition{ContactID: c.ID, Agent: agent, Code: code}); err != nil {
			t.Fatal(err)
		}
	}
	save("09:10:00", "c1", "support", "a1", "resolved")
	save("09:20:00", "c2", "support", "a1", "resolved")
	save("09:30:00", "c3", "support", "a2", "escalated")
	save("10:05:00", "c4", "support", "a2", "resolved")
	save("10:10:00", "c5", "support", "a2", "")
	save("10:15:00", "c6", "sales", "b1", "wrong-number")
	save("11:00:00", "c7", "support", "a1", "resolved") // outside the range
	rep, err := Compute(d.ctx, d.st, rules, Query{Queues: []string{"support", "sales"}, From: at("09:00:00"), To: at("11:00:00"), Interval: Hour, Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rep.Rows {
		got[r.Queue+" "+r.Start.In(shanghai).Format("15:04")] = DispositionsField(r.Dispositions)
	}
	for k, want := range map[string]string{
		"support 09:00": "escalated=1;resolved=2", "support 10:00": "none=1;resolved=1",
		"sales 09:00": "", "sales 10:00": "wrong-number=1",
	} {
		if got[k] != want {
			t.Errorf("%s: dispositions %q, want %q", k, got[k], want)
		}
	}
	if f := DispositionsField(rep.Totals[0].Dispositions); rep.Totals[0].Queue != "support" || f != "escalated=1;none=1;resolved=3" {
		t.Errorf("support total %q", f)
	}
	var agents []string
	for _, a := range rep.Agents {
		agents = append(agents, a.Queue+"/"+a.Agent+":"+DispositionsField(a.Dispositions))
		if a.Agent == "a2" && a.Total != 3 {
			t.Errorf("a2 total %d, want 3", a.Total)
		}
	}
	if strings.Join(agents, " ") != "support/a1:resolved=2 support/a2:escalated=1;none=1;resolved=1 sales/b1:wrong-number=1" {
		t.Errorf("agent breakdown %v", agents)
	}
	j := rep.JSONRows()
	if j[0].Dispositions["resolved"] != 2 || j[2].Dispositions == nil {
		t.Errorf("JSON dispositions %v and %v (want {} rather than null when none)", j[0].Dispositions, j[2].Dispositions)
	}
	var b bytes.Buffer
	if err := rep.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if !strings.Contains(lines[0], ",dispositions,csat_answers,") || !strings.Contains(lines[1], ",escalated=1;resolved=2,0,0,,0,0,0,0,") {
		t.Errorf("CSV header %s\nrow %s", lines[0], lines[1])
	}
}

// Only a flow that reached its end is self-service; callers who hung up in the menus are
// not, and old self_service rows count as completed.
func TestSelfServiceCountsOnlyCompletedFlows(t *testing.T) {
	d := newDay(t, true)
	for i, o := range []customers.Outcome{customers.OutcomeCompletedInIVR, customers.OutcomeSelfService, customers.OutcomeAbandonedInIVR,
		customers.OutcomeAbandonedInIVR, customers.OutcomeAnswered} {
		if _, err := d.st.AddContact(d.ctx, customers.Contact{Address: "+861380013810" + string(rune('0'+i)), Flow: "hotline",
			StartedAt: at("10:00:00").Add(time.Duration(i) * time.Minute), Outcome: o}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Compute(d.ctx, d.st, rules, dayQuery(Day))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.IVR) != 1 {
		t.Fatalf("IVR %+v, want one flow", rep.IVR)
	}
	f := rep.IVR[0]
	if f.Flow != "hotline" || f.Calls != 5 || f.CompletedInIVR != 2 || f.AbandonedInIVR != 2 || f.SelfService != 2.0/5 {
		t.Errorf("hotline: %+v, want 5 calls, 2 completed (self-service 40%%), 2 abandoned in the IVR", f)
	}
}
