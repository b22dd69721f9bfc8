package customers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SaveAgentStates keeps the ACD's agent states (an opaque blob the center writes, e.g. JSON
// of who is logged in and paused, with the reason and since when), replacing the last one.
func (s *Store) SaveAgentStates(ctx context.Context, blob []byte) error {
	if blob == nil {
		blob = []byte{}
	}
	return s.inTx(ctx, func(r run) error {
		res, err := r.exec(ctx, "UPDATE agent_states SET data = ?, saved_at = ? WHERE id = 1", blob, ms(s.now()))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			_, err = r.exec(ctx, "INSERT INTO agent_states (id, data, saved_at) VALUES (1, ?, ?)", blob, ms(s.now()))
		}
		return err
	})
}

// LoadAgentStates returns the last saved blob and when it was saved; nil if none was.
func (s *Store) LoadAgentStates(ctx context.Context) ([]byte, time.Time, error) {
	var blob []byte
	var at int64
	err := s.r().row(ctx, "SELECT data, saved_at FROM agent_states WHERE id = 1").Scan(&blob, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	return blob, fromMS(at), nil
}

// Survey is one answer to a post-call survey.
type Survey struct {
	ID         string
	CallID     string
	ContactID  string // found from CallID when empty
	CustomerID string // the contact's customer when empty
	Name       string // the survey step's name
	Queue      string
	Agent      string
	Score      int // 1 to 5
	Language   string
	At         time.Time
}

// SaveSurvey stores a survey answer, linked to the contact with the same call ID if there is one.
func (s *Store) SaveSurvey(ctx context.Context, sv Survey) (Survey, error) {
	if sv.Score < 1 || sv.Score > 5 {
		return Survey{}, fmt.Errorf("%w: survey score %d is outside 1..5", ErrInvalid, sv.Score)
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
		_, err := r.exec(ctx, `INSERT INTO surveys (id, call_id, contact_id, customer_id, survey, queue, agent, score, language, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sv.ID, sv.CallID, nullStr(sv.ContactID), nullStr(sv.CustomerID), sv.Name,
			sv.Queue, sv.Agent, sv.Score, sv.Language, ms(sv.At))
		return err
	})
	if err != nil {
		return Survey{}, err
	}
	return sv, nil
}

// SurveyScores averages survey answers per queue and agent in [from, to) (zero times = all).
func (s *Store) SurveyScores(ctx context.Context, from, to time.Time) ([]SurveyScore, error) {
	q := "SELECT queue, agent, COUNT(*), AVG(score) FROM surveys WHERE created_at >= ?"
	args := []any{ms(from)}
	if !to.IsZero() {
		q += " AND created_at < ?"
		args = append(args, ms(to))
	}
	rows, err := s.r().query(ctx, q+" GROUP BY queue, agent ORDER BY queue, agent", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SurveyScore
	for rows.Next() {
		var sc SurveyScore
		if err := rows.Scan(&sc.Queue, &sc.Agent, &sc.Count, &sc.Mean); err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// SurveyScore is the answers for one queue and agent.
type SurveyScore struct {
	Queue, Agent string
	Count        int
	Mean         float64
}
