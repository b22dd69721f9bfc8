package customers

import (
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
	agents, queues, err := e.s.LoadStates(e.ctx)
	if err != nil || len(agents) != 0 || len(queues) != 0 {
		e.Fatalf("before any save: %v %v %v", agents, queues, err)
	}
	a := e.open(WithNode("node-a"))
	b := e.open(WithNode("node-b"))
	e.must(a.SaveStates(e.ctx, []StateRecord{{ID: "1001", Data: []byte(`{"ID":"1001","State":3}`)},
		{ID: "1002", Data: []byte(`{"ID":"1002","State":1}`)}}, []StateRecord{{ID: "support", Data: []byte(`{"Name":"support"}`)}}))
	e.clk.Advance(time.Second)
	// Another node saves the agents it changed: the first node's others stay.
	e.must(b.SaveStates(e.ctx, []StateRecord{{ID: "1002", Data: []byte(`{"ID":"1002","State":4}`)},
		{ID: "1003", Data: []byte(`{"ID":"1003","State":1}`)}}, nil))
	// After a restart the center finds each agent's last save.
	agents, queues, err = e.open().LoadStates(e.ctx)
	e.must(err)
	want := []struct{ id, data, node string }{
		{"1001", `{"ID":"1001","State":3}`, "node-a"}, {"1002", `{"ID":"1002","State":4}`, "node-b"}, {"1003", `{"ID":"1003","State":1}`, "node-b"}}
	if len(agents) != len(want) {
		e.Fatalf("loaded %d agents, want %d: %+v", len(agents), len(want), agents)
	}
	for i, w := range want {
		g := agents[i]
		at := monday10.Add(time.Second)
		if w.node == "node-a" {
			at = monday10
		}
		if g.ID != w.id || string(g.Data) != w.data || g.Node != w.node || !g.SavedAt.Equal(at) {
			e.Errorf("agent %d: %s %s by %q at %v; want %s %s by %s at %v", i, g.ID, g.Data, g.Node, g.SavedAt, w.id, w.data, w.node, at)
		}
	}
	if len(queues) != 1 || queues[0].ID != "support" || string(queues[0].Data) != `{"Name":"support"}` {
		e.Errorf("queues %+v, want support's record", queues)
	}
	// An agent twice in one save: the last record stands.
	e.must(a.SaveStates(e.ctx, []StateRecord{{ID: "1004", Data: []byte(`{"n":1}`)}, {ID: "1004", Data: []byte(`{"n":2}`)}}, nil))
	agents, _, err = a.LoadStates(e.ctx)
	e.must(err)
	if len(agents) != 4 || agents[3].ID != "1004" || string(agents[3].Data) != `{"n":2}` {
		e.Errorf("after saving 1004 twice at once: %+v, want its last record", agents)
	}
}

// upTo migrates a store no further than schema version v, for upgrade tests.
func upTo(v int) Option { return func(s *Store) { s.upTo = v } }

// fresh moves the test to a new, empty database: later opens migrate it from scratch.
func (e *env) fresh() {
	if e.dsn == "" {
		e.dataDir = e.TempDir()
		return
	}
	e.dsn = postgresDB(e.T)
}

// A store from before schema version 9 kept the site's agent states in one blob: the upgrade
// makes it a row per agent and per queue, saved when the blob was, and drops the waiting
// contacts.
func testAgentStatesUpgrade(e *env) {
	e.fresh()
	old := e.open(upTo(8))
	blob := `{"At":"2026-05-11T02:00:00Z","Agents":[{"ID":"1001","State":3,"PauseReason":"lunch"},{"ID":"1002","State":0}],` +
		`"Calls":[{"Call":{"ID":"c1"}}],"Queues":[{"Name":"support","Totals":{"Offered":7}}]}`
	_, err := old.r().exec(e.ctx, "INSERT INTO agent_states (id, data, saved_at) VALUES (1, ?, ?)", []byte(blob), ms(monday10))
	e.must(err)
	old.Close()
	agents, queues, err := e.open().LoadStates(e.ctx)
	e.must(err)
	if len(agents) != 2 || agents[0].ID != "1001" || string(agents[0].Data) != `{"ID":"1001","State":3,"PauseReason":"lunch"}` ||
		agents[1].ID != "1002" || !agents[0].SavedAt.Equal(monday10) || agents[0].Node != "" {
		e.Errorf("agents after the upgrade: %+v; want 1001 (paused, lunch) and 1002 as the blob had them", agents)
	}
	if len(queues) != 1 || queues[0].ID != "support" || string(queues[0].Data) != `{"Name":"support","Totals":{"Offered":7}}` {
		e.Errorf("queues after the upgrade: %+v", queues)
	}
}

// A blob that is not the distributor's JSON is dropped: the upgrade does not fail.
func testAgentStatesUpgradeBadBlob(e *env) {
	e.fresh()
	old := e.open(upTo(8))
	_, err := old.r().exec(e.ctx, "INSERT INTO agent_states (id, data, saved_at) VALUES (1, ?, ?)", []byte{0, 1, 2}, ms(monday10))
	e.must(err)
	old.Close()
	agents, queues, err := e.open().LoadStates(e.ctx)
	e.must(err)
	if len(agents)+len(queues) != 0 {
		e.Errorf("from a blob that is not JSON: %+v %+v, want nothing", agents, queues)
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
