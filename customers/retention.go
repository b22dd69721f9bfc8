package customers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// deliveredKept is how long delivered webhooks stay in the outbox (for support questions).
const deliveredKept = 30 * 24 * time.Hour

// Retention is what ApplyRetention removed.
type Retention struct {
	Recordings int // recording files deleted (their rows stay, marked)
	Orphans    int // files in the recordings directory the database did not know
	Deliveries int // delivered webhooks cleared from the outbox
	Sessions   int // expired dashboard sessions removed
}

// ApplyRetention deletes recordings older than the retention period, or, for a conversation
// recording whose queue sets its own retention, past its RetainUntil (the tickets, contacts
// and timelines keep that they had one: the row stays, marked deleted), delivered webhooks
// older than 30 days and expired dashboard sessions. Run it daily; it is idempotent.
func (s *Store) ApplyRetention(ctx context.Context, now time.Time) (Retention, error) {
	var out Retention
	// A recording is due when its queue's retention has ended (retain_until), or, without
	// one, when it is older than the store's retention.
	due, args := "retain_until IS NOT NULL AND retain_until <= ?", []any{ms(now)}
	cutoff := now.Add(-s.retain)
	if s.retain > 0 {
		due, args = "("+due+") OR (retain_until IS NULL AND created_at < ?)", append(args, ms(cutoff))
	}
	var ids []string
	keep := map[string]bool{} // older than the default, kept longer by their queue
	err := s.inTx(ctx, func(r run) error {
		var err error
		if ids, err = queryIDs(ctx, r, "SELECT id FROM recordings WHERE deleted_at IS NULL AND ("+due+")", args...); err != nil {
			return err
		}
		if s.retain > 0 {
			kept, err := queryIDs(ctx, r, "SELECT id FROM recordings WHERE deleted_at IS NULL AND retain_until > ? AND created_at < ?", ms(now), ms(cutoff))
			if err != nil {
				return err
			}
			for _, id := range kept {
				keep[id] = true
			}
		}
		_, err = r.exec(ctx, "UPDATE recordings SET deleted_at = ?, deleted_why = 'retention' WHERE deleted_at IS NULL AND ("+due+")",
			append([]any{ms(now)}, args...)...)
		return err
	})
	if err != nil {
		return out, err
	}
	var errs []error
	for _, id := range ids {
		if err := s.rec.Delete(id); err != nil {
			errs = append(errs, err)
			continue
		}
		out.Recordings++
	}
	if s.retain > 0 {
		pruned, err := s.rec.PruneKeeping(ctx, cutoff, keep)
		out.Orphans = len(pruned)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("customers: retention: %w", err)
	}
	res, err := s.r().exec(ctx, "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?", ms(now.Add(-deliveredKept)))
	if err != nil {
		return out, err
	}
	n, _ := res.RowsAffected()
	out.Deliveries = int(n)
	if out.Sessions, err = s.DeleteExpiredSessions(ctx, now); err != nil {
		return out, err
	}
	if out.Recordings+out.Orphans+out.Deliveries+out.Sessions > 0 {
		s.log.Info("retention applied", "recordings", out.Recordings, "orphans", out.Orphans, "deliveries", out.Deliveries,
			"sessions", out.Sessions)
	}
	return out, nil
}

// Erase removes a customer's personal data: name and details, identities (numbers, accounts,
// e-mail, CRM IDs, chat handles), addresses, the number dialed on outbound contacts and the
// events of their contacts (flow steps, IVR variables, summaries), callback numbers and
// results, ticket subjects and notes, wrap-up notes of dispositions, survey call IDs, the
// identities and names merges remember, recordings (voicemails and conversations: rows
// marked erased, files deleted), and webhooks not yet delivered (delivered ones are blanked).
// What stays is anonymous: the record's ID and its contacts' times, queues, agents, durations
// and outcomes, the dispositions' codes and the survey scores, so reports still add up.
// Waiting callbacks are cancelled, and a customer.erased webhook tells the helpdesk to erase
// its copy. On SQLite freed pages are zeroed (secure_delete) and the write-ahead log is
// checkpointed and truncated, so the old rows are not left in the files either. Erasing twice
// is harmless. The next call from the same number starts a new record.
func (s *Store) Erase(ctx context.Context, customerID string) error {
	var recs, gone []string // recordings; the record and those merged into it
	err := s.inTx(ctx, func(r run) error {
		recs, gone = nil, nil
		id, err := s.resolve(ctx, r, customerID)
		if err != nil {
			return err
		}
		now := ms(s.now())
		ids := []any{id}
		rows, err := r.query(ctx, "SELECT id FROM customers WHERE merged_into = ?", id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var m string
			if err := rows.Scan(&m); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, m)
		}
		rows.Close()
		ph := "?" + repeat(", ?", len(ids)-1)
		for _, v := range ids {
			gone = append(gone, v.(string))
		}
		rows, err = r.query(ctx, "SELECT id FROM recordings WHERE customer_id = ? OR contact_id IN (SELECT id FROM contacts WHERE customer_id = ?)", id, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var rid string
			if err := rows.Scan(&rid); err != nil {
				rows.Close()
				return err
			}
			recs = append(recs, rid)
		}
		rows.Close()
		stmts := []struct {
			q    string
			args []any
		}{
			{"UPDATE customers SET name = '', language = '', tier = '', vip = 0, erased_at = COALESCE(erased_at, ?), updated_at = ? WHERE id IN (" + ph + ")", append([]any{now, now}, ids...)},
			{"DELETE FROM identities WHERE customer_id = ?", []any{id}},
			{"UPDATE contacts SET address = '', events = '[]' WHERE customer_id = ?", []any{id}},
			{"UPDATE contacts SET dialed = '' WHERE customer_id = ? AND direction = 'outbound'", []any{id}},
			{"UPDATE callbacks SET status = 'cancelled', last_result = 'erased', dialing_until = NULL, updated_at = ? WHERE customer_id = ? AND status IN ('pending', 'dialing')", []any{now, id}},
			{"UPDATE callbacks SET number = '', last_result = 'erased' WHERE customer_id = ?", []any{id}},
			{"DELETE FROM ticket_notes WHERE ticket_id IN (SELECT id FROM tickets WHERE customer_id = ?)", []any{id}},
			{"UPDATE tickets SET subject = '(erased)' WHERE customer_id = ?", []any{id}},
			{"UPDATE recordings SET deleted_at = ?, deleted_why = 'erased' WHERE (customer_id = ? OR contact_id IN (SELECT id FROM contacts WHERE customer_id = ?)) AND deleted_at IS NULL", []any{now, id, id}},
			{"DELETE FROM outbox WHERE customer_id = ? AND delivered_at IS NULL", []any{id}},
			{"UPDATE outbox SET payload = '{}' WHERE customer_id = ?", []any{id}},
			{"UPDATE surveys SET call_id = '' WHERE customer_id = ?", []any{id}},
			{"UPDATE worklist SET address = '', done_note = '' WHERE customer_id = ?", []any{id}},
			{"UPDATE dispositions SET note = '' WHERE customer_id = ? OR contact_id IN (SELECT id FROM contacts WHERE customer_id = ?)", []any{id, id}},
			{"UPDATE customer_merges SET identities = '[]', name = '' WHERE survivor_id IN (" + ph + ") OR merged_id IN (" + ph + ")", append(append([]any{}, ids...), ids...)},
		}
		for _, st := range stmts {
			if _, err := r.exec(ctx, st.q, st.args...); err != nil {
				return fmt.Errorf("customers: erase: %w", err)
			}
		}
		return s.enqueue(ctx, r, "", Webhook{Event: EventCustomerErased, Customer: &WebhookCustomer{ID: id}})
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range recs {
		errs = append(errs, s.rec.Delete(id))
	}
	errs = append(errs, s.flushErased(ctx))
	for _, fn := range s.erased {
		for _, id := range gone {
			errs = append(errs, fn(ctx, id))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: the records are erased but deleting recordings, rendered prompts or flushing the database files failed (erase again to finish): %w", ErrEraseIncomplete, err)
	}
	return nil
}

// flushErased leaves no copy of erased rows in SQLite's files: secure_delete (set on every
// connection) zeroed the freed space in the database; the old pages still in the
// write-ahead log go with a truncating checkpoint. PostgreSQL keeps dead row versions until
// VACUUM (autovacuum, or VACUUM by the operator: docs/customers.md).
func (s *Store) flushErased(ctx context.Context) error {
	if s.d != sqliteDialect {
		return nil
	}
	busy, _, err := s.checkpointWAL(ctx, "TRUNCATE")
	if err != nil {
		return fmt.Errorf("checkpointing the write-ahead log: %w", err)
	}
	if busy {
		return errors.New("the write-ahead log could not be checkpointed (a reader held it); erase again to retry")
	}
	return nil
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

func queryIDs(ctx context.Context, r run, q string, args ...any) ([]string, error) {
	rows, err := r.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
