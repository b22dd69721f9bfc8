package customers

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// StateRecord is one agent's state or one queue's history as the center keeps it across
// restarts: the distributor's record of it, as opaque JSON. Each agent and each queue is a row
// of its own, so nodes sharing a PostgreSQL store and saving different agents never overwrite
// each other.
type StateRecord struct {
	ID      string    // the agent's ID or the queue's name
	Data    []byte    // JSON
	SavedAt time.Time // when it was saved; set by SaveStates
	Node    string    // the node that saved it; set by SaveStates ("" = saved before schema version 9)
}

// SaveStates writes the given agents' and queues' records in one transaction, each replacing
// the one saved before for the same agent or queue; the others are left as they are. On
// PostgreSQL each table is one statement whatever the number of records (a round trip each
// would be most of the time).
func (s *Store) SaveStates(ctx context.Context, agents, queues []StateRecord) error {
	if len(agents) == 0 && len(queues) == 0 {
		return nil
	}
	at := ms(s.now())
	return s.inTx(ctx, func(r run) error {
		if err := s.upsertStates(ctx, r, "agent_records", "agent_id", agents, at); err != nil {
			return fmt.Errorf("customers: saving agent states: %w", err)
		}
		if err := s.upsertStates(ctx, r, "queue_records", "queue", queues, at); err != nil {
			return fmt.Errorf("customers: saving queue history: %w", err)
		}
		return nil
	})
}

// upsertStates writes recs into table (keyed by key), the last of a repeated ID winning.
func (s *Store) upsertStates(ctx context.Context, r run, table, key string, recs []StateRecord, at int64) error {
	if len(recs) == 0 {
		return nil
	}
	last := make(map[string]int, len(recs))
	for i, rec := range recs {
		last[rec.ID] = i
	}
	update := " ON CONFLICT (" + key + ") DO UPDATE SET data = excluded.data, saved_at = excluded.saved_at, node = excluded.node"
	if s.d == postgres {
		ids, data := make([]string, 0, len(last)), make([]string, 0, len(last))
		for i, rec := range recs {
			if last[rec.ID] == i {
				ids, data = append(ids, rec.ID), append(data, string(rec.Data))
			}
		}
		_, err := r.exec(ctx, "INSERT INTO "+table+" ("+key+", data, saved_at, node) SELECT id, data, ?, ? FROM unnest(?::text[], ?::text[]) AS t (id, data)"+update,
			at, s.node, ids, data)
		return err
	}
	for i, rec := range recs {
		if last[rec.ID] != i {
			continue
		}
		if _, err := r.exec(ctx, "INSERT INTO "+table+" ("+key+", data, saved_at, node) VALUES (?, ?, ?, ?)"+update,
			rec.ID, string(rec.Data), at, s.node); err != nil {
			return err
		}
	}
	return nil
}

// LoadStates returns every saved agent and queue record, by ID.
func (s *Store) LoadStates(ctx context.Context) (agents, queues []StateRecord, err error) {
	load := func(q string) ([]StateRecord, error) {
		rows, err := s.r().query(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []StateRecord
		for rows.Next() {
			var rec StateRecord
			var data string
			var at int64
			if err := rows.Scan(&rec.ID, &data, &at, &rec.Node); err != nil {
				return nil, err
			}
			rec.Data, rec.SavedAt = []byte(data), fromMS(at)
			out = append(out, rec)
		}
		return out, rows.Err()
	}
	if agents, err = load("SELECT agent_id, data, saved_at, node FROM agent_records ORDER BY agent_id"); err != nil {
		return nil, nil, err
	}
	if queues, err = load("SELECT queue, data, saved_at, node FROM queue_records ORDER BY queue"); err != nil {
		return nil, nil, err
	}
	return agents, queues, nil
}

// splitAgentStates is schema version 9's Go step: the site's one blob of agent states (the
// distributor's whole state as the agents' desk saved it: {"Agents": [{"ID": ...}],
// "Queues": [{"Name": ...}], ...}) becomes a row per agent and per queue, saved when the blob
// was; its waiting contacts are dropped, as a restart drops them. A blob that is not such JSON
// is dropped with a warning: the agents start logged out, as on a new store.
func splitAgentStates(ctx context.Context, s *Store, r run) error {
	var blob []byte
	var at int64
	err := r.row(ctx, "SELECT data, saved_at FROM agent_states WHERE id = 1").Scan(&blob, &at)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err == nil && len(blob) > 0 {
		var st struct {
			Agents, Queues []json.RawMessage
		}
		var key struct{ ID, Name string }
		if err := json.Unmarshal(blob, &st); err != nil {
			s.log.Warn("stored agent states are not JSON; dropped", "error", err)
		}
		for _, a := range st.Agents {
			if key.ID = ""; json.Unmarshal(a, &key) != nil || key.ID == "" {
				continue
			}
			if _, err := r.exec(ctx, `INSERT INTO agent_records (agent_id, data, saved_at, node) VALUES (?, ?, ?, '')
				ON CONFLICT (agent_id) DO NOTHING`, key.ID, string(a), at); err != nil {
				return err
			}
		}
		for _, q := range st.Queues {
			if key.Name = ""; json.Unmarshal(q, &key) != nil || key.Name == "" {
				continue
			}
			if _, err := r.exec(ctx, `INSERT INTO queue_records (queue, data, saved_at, node) VALUES (?, ?, ?, '')
				ON CONFLICT (queue) DO NOTHING`, key.Name, string(q), at); err != nil {
				return err
			}
		}
	}
	_, err = r.exec(ctx, "DROP TABLE agent_states")
	return err
}

// Survey scales: csat is 1 to 5 (satisfied: 4 or 5), nps 0 to 10 (promoters 9 and 10,
// detractors 0 to 6); docs/kpis.md.
const (
	ScaleCSAT = "csat"
	ScaleNPS  = "nps"
)

// Survey is one answer to a post-call survey.
type Survey struct {
	ID         string
	CallID     string
	ContactID  string // found from CallID when empty
	CustomerID string // the contact's customer when empty
	Name       string // the survey step's name
	Queue      string
	Agent      string
	Scale      string // ScaleCSAT ("" = csat) or ScaleNPS
	Score      int    // 1 to 5 (csat), 0 to 10 (nps)
	Language   string
	At         time.Time
}

// CheckScore says what is wrong with a score on a scale, naming the range.
func CheckScore(scale string, score int) error {
	switch scale {
	case "", ScaleCSAT:
		if score < 1 || score > 5 {
			return fmt.Errorf("%w: survey score %d is outside 1..5 (scale csat)", ErrInvalid, score)
		}
	case ScaleNPS:
		if score < 0 || score > 10 {
			return fmt.Errorf("%w: survey score %d is outside 0..10 (scale nps)", ErrInvalid, score)
		}
	default:
		return fmt.Errorf("%w: survey scale %q; use csat (1 to 5) or nps (0 to 10)", ErrInvalid, scale)
	}
	return nil
}

// SaveSurvey stores a survey answer, linked to the contact with the same call ID if there is one.
func (s *Store) SaveSurvey(ctx context.Context, sv Survey) (Survey, error) {
	if err := CheckScore(sv.Scale, sv.Score); err != nil {
		return Survey{}, err
	}
	if sv.Scale == "" {
		sv.Scale = ScaleCSAT
	}
	if sv.Name == "" {
		return Survey{}, fmt.Errorf("%w: a survey answer needs the survey's name", ErrInvalid)
	}
	if sv.ID == "" {
		sv.ID = newID()
	}
	if sv.At.IsZero() {
		sv.At = s.now()
	}
	sv.At = sv.At.UTC().Truncate(time.Millisecond)
	err := s.inTx(ctx, func(r run) error {
		if sv.ContactID == "" && sv.CallID != "" {
			var contact, cust string
			err := r.row(ctx, "SELECT id, customer_id FROM contacts WHERE call_id = ? ORDER BY started_at DESC, id DESC LIMIT 1", sv.CallID).Scan(&contact, &cust)
			if err == nil {
				sv.ContactID = contact
				if sv.CustomerID == "" {
					sv.CustomerID = cust
				}
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		_, err := r.exec(ctx, `INSERT INTO surveys (id, call_id, contact_id, customer_id, survey, queue, agent, scale, score, language, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sv.ID, sv.CallID, nullStr(sv.ContactID), nullStr(sv.CustomerID), sv.Name,
			sv.Queue, sv.Agent, sv.Scale, sv.Score, sv.Language, ms(sv.At))
		return err
	})
	if err != nil {
		return Survey{}, err
	}
	mSurveys.WithLabelValues(sv.Queue, sv.Agent, sv.Scale, SurveyBand(sv.Scale, sv.Score)).Inc()
	return sv, nil
}

// SurveyBand is how an answer counts: csat satisfied (4, 5) or not; nps promoter (9, 10),
// passive (7, 8) or detractor (0 to 6).
func SurveyBand(scale string, score int) string {
	if scale == ScaleNPS {
		switch {
		case score >= 9:
			return "promoter"
		case score >= 7:
			return "passive"
		}
		return "detractor"
	}
	if score >= 4 {
		return "satisfied"
	}
	return "unsatisfied"
}

// SurveyFilter selects survey answers; empty fields select everything.
type SurveyFilter struct {
	Queue, Agent, Scale string
	From, To            time.Time // answered in [From, To)
}

// ListSurveys returns survey answers newest first, a page at a time; next is the cursor of
// the following page ("" after the last).
func (s *Store) ListSurveys(ctx context.Context, f SurveyFilter, p Page) ([]Survey, string, error) {
	var c conds
	c.eq("queue", f.Queue)
	c.eq("agent", f.Agent)
	c.eq("scale", f.Scale)
	c.during("created_at", f.From, f.To)
	where, args := c.where, c.args
	limit, err := p.apply("created_at", &where, &args)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.r().query(ctx, `SELECT id, call_id, COALESCE(contact_id, ''), COALESCE(customer_id, ''), survey, queue, agent,
		scale, score, language, created_at FROM surveys`+whereSQL(where)+" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var list []Survey
	for rows.Next() {
		var sv Survey
		var at int64
		if err := rows.Scan(&sv.ID, &sv.CallID, &sv.ContactID, &sv.CustomerID, &sv.Name, &sv.Queue, &sv.Agent, &sv.Scale,
			&sv.Score, &sv.Language, &at); err != nil {
			return nil, "", err
		}
		sv.At = fromMS(at)
		list = append(list, sv)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	list, next := cutPage(list, limit, func(x Survey) (time.Time, string) { return x.At, x.ID })
	return list, next, nil
}

// SurveyScores averages survey answers per queue, agent and scale in [from, to) (zero times
// = all).
func (s *Store) SurveyScores(ctx context.Context, from, to time.Time) ([]SurveyScore, error) {
	q := "SELECT queue, agent, scale, COUNT(*), AVG(score) FROM surveys WHERE created_at >= ?"
	args := []any{ms(from)}
	if !to.IsZero() {
		q += " AND created_at < ?"
		args = append(args, ms(to))
	}
	rows, err := s.r().query(ctx, q+" GROUP BY queue, agent, scale ORDER BY queue, agent, scale", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SurveyScore
	for rows.Next() {
		var sc SurveyScore
		if err := rows.Scan(&sc.Queue, &sc.Agent, &sc.Scale, &sc.Count, &sc.Mean); err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// SurveyScore is the answers for one queue, agent and scale.
type SurveyScore struct {
	Queue, Agent, Scale string
	Count               int
	Mean                float64
}
