package customers

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Export is everything hotline holds on a customer, for an access request (PIPL art. 45,
// GDPR art. 15): the record and its identities, its timeline (contacts with their events,
// tickets with their notes, callbacks, recordings, dispositions, merges), voicemail
// recordings, survey answers, and the audit entries whose object is the customer.
type Export struct {
	Customer   Customer
	Timeline   []Entry
	Tickets    []Ticket        // with their notes (the timeline's tickets have none)
	Recordings []RecordingInfo // voicemails and conversation recordings
	Surveys    []Survey
	Audit      []AuditEntry // entries about this customer (merges, erasure, exports, identity changes)
	At         time.Time    // when the export was made
}

// Export gathers everything on a customer (the survivor, for a record merged away).
func (s *Store) Export(ctx context.Context, customerID string) (Export, error) {
	c, err := s.Customer(ctx, customerID)
	if err != nil {
		return Export{}, err
	}
	x := Export{Customer: c, At: s.now()}
	if x.Timeline, err = s.Timeline(ctx, c.ID); err != nil {
		return Export{}, err
	}
	for _, e := range x.Timeline {
		if e.Ticket != nil {
			t, err := s.Ticket(ctx, e.Ticket.ID)
			if err != nil {
				return Export{}, err
			}
			x.Tickets = append(x.Tickets, t)
		}
	}
	r := s.r()
	ids := append([]any{c.ID}, toAny(c.MergedFrom)...)
	ph := "?" + repeat(", ?", len(ids)-1)
	rows, err := r.query(ctx, "SELECT "+recordingCols+" FROM recordings WHERE customer_id = ? OR contact_id IN (SELECT id FROM contacts WHERE customer_id = ?) ORDER BY created_at, id", c.ID, c.ID)
	if err != nil {
		return Export{}, err
	}
	for rows.Next() {
		ri, err := scanRecording(rows)
		if err != nil {
			rows.Close()
			return Export{}, err
		}
		x.Recordings = append(x.Recordings, ri)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Export{}, err
	}
	rows, err = r.query(ctx, `SELECT id, call_id, contact_id, customer_id, survey, queue, agent, score, language, created_at
		FROM surveys WHERE customer_id = ? ORDER BY created_at, id`, c.ID)
	if err != nil {
		return Export{}, err
	}
	for rows.Next() {
		var sv Survey
		var contact, cust sql.NullString
		var at int64
		if err := rows.Scan(&sv.ID, &sv.CallID, &contact, &cust, &sv.Name, &sv.Queue, &sv.Agent, &sv.Score, &sv.Language, &at); err != nil {
			rows.Close()
			return Export{}, err
		}
		sv.ContactID, sv.CustomerID, sv.At = contact.String, cust.String, fromMS(at)
		x.Surveys = append(x.Surveys, sv)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Export{}, err
	}
	rows, err = r.query(ctx, "SELECT "+auditColumns+" FROM audit WHERE object IN ("+ph+") ORDER BY at, id", ids...)
	if err != nil {
		return Export{}, err
	}
	defer rows.Close()
	for rows.Next() {
		a, detail, err := scanAudit(rows)
		if err != nil {
			return Export{}, err
		}
		if err := json.Unmarshal([]byte(detail), &a.Detail); err != nil {
			return Export{}, fmt.Errorf("customers: audit %s: detail: %w", a.ID, err)
		}
		x.Audit = append(x.Audit, a)
	}
	return x, rows.Err()
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Audit actions on customer data. The object is the customer's ID; the detail never holds
// the personal data itself (an identity's kind, not its value; which fields changed, not to
// what).
const (
	AuditCustomerMerge          = "customer.merge"           // detail: merged (the ID merged away), moved (counts)
	AuditCustomerErase          = "customer.erase"           // detail: via (api, cli)
	AuditCustomerExport         = "customer.export"          // detail: via, counts
	AuditCustomerIdentityAdd    = "customer.identity.add"    // detail: kind
	AuditCustomerIdentityRemove = "customer.identity.remove" // detail: kind
	AuditCustomerUpdate         = "customer.update"          // detail: fields
)
