package customers

import (
	"bytes"
	"errors"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func counterValue(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func testAgentStates(e *env) {
	blob, at, err := e.s.LoadAgentStates(e.ctx)
	if err != nil || blob != nil || !at.IsZero() {
		e.Fatalf("before any save: %q %v %v", blob, at, err)
	}
	first := []byte(`{"1001":{"state":"paused","reason":"lunch","since":"2026-05-11T02:00:00Z"}}`)
	e.must(e.s.SaveAgentStates(e.ctx, first))
	e.clk.Advance(time.Second)
	second := append([]byte{0, 1, 2}, first...) // opaque: any bytes
	e.must(e.s.SaveAgentStates(e.ctx, second))
	// After a restart the center finds the last one.
	blob, at, err = e.open().LoadAgentStates(e.ctx)
	e.must(err)
	if !bytes.Equal(blob, second) || !at.Equal(e.clk.Now()) {
		e.Errorf("loaded %q at %v, want the second save at %v", blob, at, e.clk.Now())
	}
}

func testSurveys(e *env) {
	call, _ := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", CallID: "call-9", Queue: "support", Agent: "1001"})
	sv, err := e.s.SaveSurvey(e.ctx, Survey{CallID: "call-9", Name: "csat", Queue: "support", Agent: "1001", Score: 5})
	e.must(err)
	if sv.ContactID != call.ID || sv.CustomerID != call.CustomerID {
		e.Errorf("survey linked to %s/%s, want the call's contact and customer", sv.ContactID, sv.CustomerID)
	}
	_, err = e.s.SaveSurvey(e.ctx, Survey{CallID: "unknown", Name: "csat", Queue: "support", Agent: "1001", Score: 2})
	e.must(err)
	if _, err := e.s.SaveSurvey(e.ctx, Survey{Name: "csat", Score: 6}); !errors.Is(err, ErrInvalid) {
		e.Errorf("score 6: %v", err)
	}
	scores, err := e.s.SurveyScores(e.ctx, time.Time{}, time.Time{})
	e.must(err)
	if len(scores) != 1 || scores[0].Count != 2 || scores[0].Mean != 3.5 || scores[0].Scale != ScaleCSAT {
		e.Errorf("scores %+v, want support/1001 csat: 2 answers, mean 3.5", scores)
	}
}

// NPS answers are 0 to 10; the scale is kept and listed.
func testSurveyScales(e *env) {
	promoters := counterValue(mSurveys.WithLabelValues("support", "1001", ScaleNPS, "promoter"))
	for _, sc := range []int{0, 10, 9} {
		_, err := e.s.SaveSurvey(e.ctx, Survey{Name: "nps", Queue: "support", Agent: "1001", Scale: ScaleNPS, Score: sc})
		e.must(err)
		e.clk.Advance(time.Second)
	}
	for _, bad := range []Survey{{Name: "nps", Scale: ScaleNPS, Score: 11}, {Name: "nps", Scale: ScaleNPS, Score: -1},
		{Name: "x", Score: 0}, {Name: "x", Scale: "stars", Score: 3}} {
		if _, err := e.s.SaveSurvey(e.ctx, bad); !errors.Is(err, ErrInvalid) {
			e.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
	if d := counterValue(mSurveys.WithLabelValues("support", "1001", ScaleNPS, "promoter")) - promoters; d != 2 {
		e.Errorf("hotline_surveys_answers_total{band=promoter} rose by %v, want 2 (the 10 and the 9)", d)
	}
	list, _, err := e.s.ListSurveys(e.ctx, SurveyFilter{Scale: ScaleNPS, Queue: "support"}, Page{Limit: 2})
	e.must(err)
	if len(list) != 2 || list[0].Score != 9 || list[1].Score != 10 || list[0].Scale != ScaleNPS {
		e.Errorf("nps answers %+v, want 9 then 10 (newest first, a page of 2)", list)
	}
}

func testConcurrent(e *env) {
	const n = 8
	ids := make(chan string, n)
	errs := make(chan error, 2*n)
	tickets := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			c, err := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
			errs <- err
			ids <- c.ID
			t, err := e.s.CreateTicket(e.ctx, NewTicket{CustomerID: c.ID, Subject: "same time"})
			errs <- err
			tickets <- t.Number
		}()
	}
	seen, numbers := map[string]bool{}, map[string]bool{}
	for i := 0; i < n; i++ {
		seen[<-ids] = true
		numbers[<-tickets] = true
	}
	for i := 0; i < 2*n; i++ {
		if err := <-errs; err != nil {
			e.Errorf("concurrent call: %v", err)
		}
	}
	if len(seen) != 1 {
		e.Errorf("%d customers for one number called %d times at once", len(seen), n)
	}
	if len(numbers) != n {
		e.Errorf("%d distinct ticket numbers for %d tickets", len(numbers), n)
	}
}
