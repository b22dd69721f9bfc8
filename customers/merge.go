package customers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MergeRecord describes one merge, on the survivor's timeline: which record went into which,
// who did it, and what moved. Identities and Name are the merged record's as they were
// (personal data: Erase blanks them); Moved counts the rows that moved, per table.
type MergeRecord struct {
	ID         string
	SurvivorID string
	MergedID   string
	Actor      string
	Moved      map[string]int64    // identities, contacts, tickets, callbacks, recordings, surveys, outbox, dispositions, callbacks_cancelled
	MovedIDs   map[string][]string // the IDs of the rows that moved, per table but identities (they are in Identities), and callbacks_cancelled
	Identities []Identity
	Name       string
	At         time.Time
}

// mergeTables are the tables whose rows follow a customer into the survivor of a merge.
var mergeTables = []string{"identities", "contacts", "callbacks", "tickets", "recordings", "surveys", "outbox", "dispositions", "worklist"}

// Merge makes two records found to be one person into one: everything of gone (identities,
// contacts, tickets, callbacks, recordings, surveys, dispositions) moves to keep, so keep's
// timeline holds both; gone stays as a pointer to keep. Blank details of keep are filled from
// gone. When both wait for a callback from the same queue, the one that arrived first is kept
// (with the higher priority) and the other cancelled. The merge is described on keep's
// timeline (MergeBy says by whom).
func (s *Store) Merge(ctx context.Context, keepID, goneID string) (Customer, error) {
	c, _, err := s.MergeBy(ctx, keepID, goneID, "system")
	return c, err
}

// MergeBy is Merge done by actor (a token ID, "system"); it returns the survivor and the
// record of the merge. Merging a record with itself, or with one merged into it, is
// ErrInvalid; an erased record, ErrErased; an unknown one, ErrNotFound.
func (s *Store) MergeBy(ctx context.Context, keepID, goneID, actor string) (Customer, MergeRecord, error) {
	var rec MergeRecord
	err := s.inTx(ctx, func(r run) error {
		keep, err := s.loadCustomer(ctx, r, keepID)
		if err != nil {
			return err
		}
		gone, err := s.loadCustomer(ctx, r, goneID)
		if err != nil {
			return err
		}
		if keep.ID == gone.ID {
			return fmt.Errorf("%w: %s and %s are already one customer", ErrInvalid, keepID, goneID)
		}
		if !keep.ErasedAt.IsZero() || !gone.ErasedAt.IsZero() {
			return fmt.Errorf("%w: an erased customer cannot be merged", ErrErased)
		}
		keepID, goneID = keep.ID, gone.ID
		at := s.now()
		now := ms(at)
		rec = MergeRecord{ID: newID(), SurvivorID: keepID, MergedID: goneID, Actor: actor, Moved: map[string]int64{}, MovedIDs: map[string][]string{},
			Identities: gone.Identities, Name: gone.Name, At: at}
		if rec.Identities == nil {
			rec.Identities = []Identity{}
		}
		// Callbacks waiting in the same queue for both: keep the earlier arrival.
		live, err := s.scanCallbacks(r.query(ctx, `SELECT `+callbackCols+` FROM callbacks
			WHERE customer_id IN (?, ?) AND status IN ('pending', 'dialing') ORDER BY arrived_at, id`, keepID, goneID))
		if err != nil {
			return err
		}
		first := map[string]Callback{}
		for _, cb := range live {
			f, ok := first[cb.Queue]
			if !ok {
				first[cb.Queue] = cb
				continue
			}
			if _, err := r.exec(ctx, `UPDATE callbacks SET status = 'cancelled', last_result = 'merged', updated_at = ? WHERE id = ?`, now, cb.ID); err != nil {
				return err
			}
			rec.Moved["callbacks_cancelled"]++
			rec.MovedIDs["callbacks_cancelled"] = append(rec.MovedIDs["callbacks_cancelled"], cb.ID)
			if cb.Priority > f.Priority {
				if _, err := r.exec(ctx, "UPDATE callbacks SET priority = ? WHERE id = ?", cb.Priority, f.ID); err != nil {
					return err
				}
			}
		}
		for _, t := range mergeTables {
			if t != "identities" {
				ids, err := queryIDs(ctx, r, "SELECT id FROM "+t+" WHERE customer_id = ? ORDER BY id", goneID)
				if err != nil {
					return fmt.Errorf("customers: merge %s: %w", t, err)
				}
				if len(ids) > 0 {
					rec.MovedIDs[t] = ids
				}
			}
			res, err := r.exec(ctx, "UPDATE "+t+" SET customer_id = ? WHERE customer_id = ?", keepID, goneID)
			if err != nil {
				return fmt.Errorf("customers: merge %s: %w", t, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				rec.Moved[t] = n
			}
		}
		pick := func(a, b string) string {
			if a != "" {
				return a
			}
			return b
		}
		if _, err := r.exec(ctx, `UPDATE customers SET name = ?, language = ?, tier = ?, vip = ?, anonymous = ?, updated_at = ? WHERE id = ?`,
			pick(keep.Name, gone.Name), pick(keep.Language, gone.Language), pick(keep.Tier, gone.Tier),
			b2i(keep.VIP || gone.VIP), b2i(keep.Anonymous && gone.Anonymous), now, keepID); err != nil {
			return err
		}
		if _, err := r.exec(ctx, "UPDATE customers SET merged_into = ?, updated_at = ? WHERE id = ? OR merged_into = ?", keepID, now, goneID, goneID); err != nil {
			return err
		}
		moved, _ := json.Marshal(rec.Moved)
		movedIDs, _ := json.Marshal(rec.MovedIDs)
		idents, _ := json.Marshal(rec.Identities)
		_, err = r.exec(ctx, `INSERT INTO customer_merges (id, survivor_id, merged_id, actor, moved, moved_ids, identities, name, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, rec.ID, keepID, goneID, actor, string(moved), string(movedIDs), string(idents), rec.Name, now)
		return err
	})
	if err != nil {
		return Customer{}, MergeRecord{}, err
	}
	c, err := s.Customer(ctx, keepID)
	return c, rec, err
}

// Merges lists the merges that made a customer what it is (into it, or into a record that was
// later merged into it), oldest first.
func (s *Store) Merges(ctx context.Context, customerID string) ([]MergeRecord, error) {
	r := s.r()
	id, err := s.resolve(ctx, r, customerID)
	if err != nil {
		return nil, err
	}
	return s.merges(ctx, r, id)
}

func (s *Store) merges(ctx context.Context, r run, id string) ([]MergeRecord, error) {
	rows, err := r.query(ctx, `SELECT id, survivor_id, merged_id, actor, moved, moved_ids, identities, name, at FROM customer_merges
		WHERE survivor_id = ? OR survivor_id IN (SELECT id FROM customers WHERE merged_into = ?) ORDER BY at, id`, id, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []MergeRecord
	for rows.Next() {
		var m MergeRecord
		var moved, movedIDs, idents string
		var at int64
		if err := rows.Scan(&m.ID, &m.SurvivorID, &m.MergedID, &m.Actor, &moved, &movedIDs, &idents, &m.Name, &at); err != nil {
			return nil, err
		}
		m.At = fromMS(at)
		if err := json.Unmarshal([]byte(moved), &m.Moved); err != nil {
			return nil, fmt.Errorf("customers: merge %s: moved: %w", m.ID, err)
		}
		if err := json.Unmarshal([]byte(movedIDs), &m.MovedIDs); err != nil {
			return nil, fmt.Errorf("customers: merge %s: moved_ids: %w", m.ID, err)
		}
		if err := json.Unmarshal([]byte(idents), &m.Identities); err != nil {
			return nil, fmt.Errorf("customers: merge %s: identities: %w", m.ID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// MergedInto says where a record merged away went: the survivor's ID, or "" when id is a
// record of its own. An unknown ID is ErrNotFound.
func (s *Store) MergedInto(ctx context.Context, id string) (string, error) {
	to, err := s.resolve(ctx, s.r(), id)
	if err != nil || to == id {
		return "", err
	}
	return to, nil
}

// IdentitiesCustomer is the customer any of idents (normalized first) belongs to: the
// identities nobody has yet are linked to them, so the next contact by any of them finds
// the same customer. When nobody has any, a new customer gets them all (created true). When
// two belong to different customers, nothing changes and the second is an
// *IdentityTakenError naming its owner: Merge the two if they are one person.
func (s *Store) IdentitiesCustomer(ctx context.Context, idents []Identity) (Customer, bool, error) {
	if len(idents) == 0 {
		return Customer{}, false, fmt.Errorf("%w: no identity to find the customer by", ErrInvalid)
	}
	norm := make([]Identity, 0, len(idents))
	for _, ident := range idents {
		n, err := NewIdentity(ident.Kind, ident.Value, s.policy.Region)
		if err != nil {
			return Customer{}, false, err
		}
		norm = append(norm, n)
	}
	var id string
	var created bool
	err := s.inTxRetry(ctx, func(r run) error {
		id, created = "", false
		var free []Identity
		for _, ident := range norm {
			owner, err := s.owner(ctx, r, ident)
			switch {
			case err == nil && id == "":
				id = owner
			case err == nil && owner != id:
				return &IdentityTakenError{Identity: ident, Owner: owner}
			case err == nil:
			case errors.Is(err, ErrNotFound):
				free = append(free, ident)
			default:
				return err
			}
		}
		if id == "" {
			var err error
			if id, err = s.insertCustomer(ctx, r, Customer{}); err != nil {
				return err
			}
			created = true
		}
		for _, ident := range free {
			if err := s.link(ctx, r, id, ident); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Customer{}, false, err
	}
	c, err := s.Customer(ctx, id)
	return c, created, err
}

// Region is the ISO 3166 region phone numbers without a + are read in (the callback policy's).
func (s *Store) Region() string { return s.policy.Region }

// AddressIdentity is the identity a contact's address gives on a channel, as AddContact reads
// it: an e-mail address (on any channel but voice), a chat handle network:handle (chat), a
// caller ID. An address that identifies no one is an error (ErrWithheld, ErrInvalidIdentity).
func (s *Store) AddressIdentity(address string, ch Channel) (Identity, error) {
	return s.contactIdentity(address, ch)
}
