package customers

import (
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func dispositionCount(queue, agent, code string) float64 {
	var m dto.Metric
	mDispositions.WithLabelValues(queue, agent, code).(prometheus.Metric).Write(&m)
	return m.GetCounter().GetValue()
}

// answeredCall adds an answered support contact of call callID whose agents' parts are agents.
func (e *env) answeredCall(callID string, agents ...string) Contact {
	e.Helper()
	var evs []Event
	for _, a := range agents {
		evs = append(evs, Event{At: e.clk.Now(), Node: a, Step: "agent", Exit: "hangup", DurationMS: 60000})
	}
	c, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", CallID: callID, Queue: "support",
		Agent: agents[len(agents)-1], Outcome: OutcomeAnswered, Events: evs})
	e.must(err)
	return c
}

func testDispositions(e *env) {
	c := e.answeredCall("call-1", "1001", "1002")
	if !c.HadAgent("1001") || !c.HadAgent("1002") || c.HadAgent("1003") || c.HadAgent("") {
		e.Errorf("HadAgent wrong for agents of %+v", c.Events)
	}
	before, beforeResolved := dispositionCount("support", "1001", "follow-up"), dispositionCount("support", "1001", "resolved")
	d, err := e.s.SaveDisposition(e.ctx, Disposition{CallID: "call-1", Agent: "1001", Code: "follow-up", Note: "send the invoice again"})
	e.must(err)
	if d.ID == "" || d.ContactID != c.ID || d.CustomerID != c.CustomerID || d.Queue != "support" || d.CallID != "call-1" ||
		d.Code != "follow-up" || d.Note != "send the invoice again" || !d.CreatedAt.Equal(e.clk.Now().Truncate(time.Millisecond)) {
		e.Fatalf("saved %+v", d)
	}
	e.clk.Advance(time.Minute)
	again, err := e.s.SaveDisposition(e.ctx, Disposition{ContactID: c.ID, Agent: "1001", Code: "resolved", Note: "sent"})
	e.must(err)
	if again.ID != d.ID || again.Code != "resolved" || again.Note != "sent" || !again.CreatedAt.Equal(d.CreatedAt) || !again.UpdatedAt.After(d.UpdatedAt) {
		e.Errorf("a second submit should replace code and note of %+v, got %+v", d, again)
	}
	if got := dispositionCount("support", "1001", "follow-up") - before; got != 1 {
		e.Errorf("metric counted %v new dispositions, want 1 (the replacement is not new)", got)
	}
	if got := dispositionCount("support", "1001", "resolved") - beforeResolved; got != 0 {
		e.Errorf("a replacement counted under its new code: %v", got)
	}
	other, err := e.s.SaveDisposition(e.ctx, Disposition{ContactID: c.ID, Agent: "1002", Note: "transferred it back"})
	e.must(err)
	if other.ID == d.ID || other.Code != "" {
		e.Errorf("the second agent's disposition %+v", other)
	}
	list, _, err := e.s.ListDispositions(e.ctx, DispositionFilter{Contact: c.ID}, Page{})
	e.must(err)
	if len(list) != 2 {
		e.Errorf("%d dispositions on the contact, want 2 (one per agent)", len(list))
	}

	for _, bad := range []Disposition{
		{CallID: "call-1", Code: "resolved"},
		{CallID: "call-1", Agent: "1001", Code: "Resolved!"},
		{CallID: "call-1", Agent: "1001", Note: strings.Repeat("é", MaxDispositionNote+1)},
		{Agent: "1001"},
	} {
		if _, err := e.s.SaveDisposition(e.ctx, bad); !errors.Is(err, ErrInvalid) {
			e.Errorf("SaveDisposition(%+v): %v, want ErrInvalid", bad.Code, err)
		}
	}
	if _, err := e.s.SaveDisposition(e.ctx, Disposition{CallID: "call-1", Agent: "1001", Note: strings.Repeat("é", MaxDispositionNote)}); err != nil {
		e.Errorf("a note of exactly %d characters: %v", MaxDispositionNote, err)
	}
	if _, err := e.s.SaveDisposition(e.ctx, Disposition{CallID: "no-such-call", Agent: "1001"}); !errors.Is(err, ErrNotFound) {
		e.Errorf("unknown call: %v, want ErrNotFound", err)
	}
}

func testDispositionList(e *env) {
	t0 := e.clk.Now()
	save := func(callID, agent, queue, code string) {
		e.Helper()
		c := e.answeredCall(callID, agent)
		_, err := e.s.SaveDisposition(e.ctx, Disposition{ContactID: c.ID, Agent: agent, Queue: queue, Code: code})
		e.must(err)
		e.clk.Advance(time.Minute)
	}
	save("c1", "1001", "support", "resolved")
	save("c2", "1001", "support", "resolved")
	save("c3", "1002", "support", "escalated")
	save("c4", "1002", "sales", "resolved")
	save("c5", "1001", "sales", "")
	all, next, err := e.s.ListDispositions(e.ctx, DispositionFilter{}, Page{Limit: 2})
	e.must(err)
	if len(all) != 2 || next == "" || all[0].CallID != "c5" || all[1].CallID != "c4" {
		e.Fatalf("first page %+v next %q", all, next)
	}
	var seen []string
	for p := (Page{Limit: 2}); ; {
		page, next, err := e.s.ListDispositions(e.ctx, DispositionFilter{}, p)
		e.must(err)
		for _, d := range page {
			seen = append(seen, d.CallID)
		}
		if next == "" {
			break
		}
		p.Cursor = next
	}
	if strings.Join(seen, " ") != "c5 c4 c3 c2 c1" {
		e.Errorf("pages gave %v", seen)
	}
	for _, c := range []struct {
		f    DispositionFilter
		want string
	}{
		{DispositionFilter{Queue: "support"}, "c3 c2 c1"},
		{DispositionFilter{Agent: "1001"}, "c5 c2 c1"},
		{DispositionFilter{Code: "resolved"}, "c4 c2 c1"},
		{DispositionFilter{Code: "none"}, "c5"},
		{DispositionFilter{Queue: "support", Agent: "1002", Code: "escalated"}, "c3"},
		{DispositionFilter{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, "c3 c2"},
	} {
		list, _, err := e.s.ListDispositions(e.ctx, c.f, Page{})
		e.must(err)
		var got []string
		for _, d := range list {
			got = append(got, d.CallID)
		}
		if strings.Join(got, " ") != c.want {
			e.Errorf("filter %+v: %v, want %s", c.f, got, c.want)
		}
	}
	if _, _, err := e.s.ListDispositions(e.ctx, DispositionFilter{}, Page{Cursor: "nonsense"}); !errors.Is(err, ErrBadCursor) {
		e.Errorf("bad cursor: %v", err)
	}
	counts, err := e.s.CountDispositions(e.ctx, time.Time{}, time.Time{})
	e.must(err)
	want := []DispositionCount{
		{"sales", "1001", "", 1}, {"sales", "1002", "resolved", 1},
		{"support", "1001", "resolved", 2}, {"support", "1002", "escalated", 1},
	}
	if len(counts) != len(want) {
		e.Fatalf("counts %+v, want %+v", counts, want)
	}
	for i := range want {
		if counts[i] != want[i] {
			e.Errorf("counts %+v, want %+v", counts, want)
			break
		}
	}
	counts, err = e.s.CountDispositions(e.ctx, t0.Add(2*time.Minute), t0.Add(4*time.Minute))
	e.must(err)
	if len(counts) != 2 || counts[0] != (DispositionCount{"sales", "1002", "resolved", 1}) || counts[1] != (DispositionCount{"support", "1002", "escalated", 1}) {
		e.Errorf("counts in [2m, 4m): %+v", counts)
	}
}

func testDispositionErase(e *env) {
	c := e.answeredCall("call-9", "1001")
	e.clk.Advance(time.Minute)
	d, err := e.s.SaveDisposition(e.ctx, Disposition{CallID: "call-9", Agent: "1001", Code: "follow-up", Note: "her new address is 12 Nanjing Road"})
	e.must(err)
	tl, err := e.s.Timeline(e.ctx, c.CustomerID)
	e.must(err)
	if len(tl) != 2 || tl[0].Kind != EntryContact || tl[1].Kind != EntryDisposition || tl[1].ID != d.ID ||
		tl[1].Disposition == nil || tl[1].Disposition.Code != "follow-up" || tl[1].Disposition.Agent != "1001" || !tl[1].At.Equal(d.CreatedAt) {
		e.Fatalf("timeline %+v", tl)
	}
	// A merge carries the dispositions to the surviving record.
	keep, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613900012345")
	_, err = e.s.Merge(e.ctx, keep.ID, c.CustomerID)
	e.must(err)
	if list, _, _ := e.s.ListDispositions(e.ctx, DispositionFilter{CustomerID: keep.ID}, Page{}); len(list) != 1 {
		e.Errorf("after the merge the surviving customer has %d dispositions, want 1", len(list))
	}
	e.must(e.s.Erase(e.ctx, keep.ID))
	got, err := e.s.Disposition(e.ctx, d.ID)
	e.must(err)
	if got.Note != "" || got.Code != "follow-up" || got.Agent != "1001" || got.Queue != "support" {
		e.Errorf("erased disposition %+v: want the note gone, code, agent and queue kept", got)
	}
}
