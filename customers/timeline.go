package customers

import (
	"context"
	"sort"
	"time"
)

// EntryKind is what a timeline entry is.
type EntryKind string

const (
	EntryContact  EntryKind = "contact"
	EntryTicket   EntryKind = "ticket"
	EntryCallback EntryKind = "callback"
	// EntryRecording is a conversation recording (kind call), dated by its start; voicemails
	// are on the timeline as their tickets.
	EntryRecording EntryKind = "recording"
	// EntryDisposition is an agent's wrap-up of one of the contacts (code and note), dated by
	// its first submission.
	EntryDisposition EntryKind = "disposition"
	// EntryMerge is a record merged into this one: from which, by whom, what moved.
	EntryMerge EntryKind = "merge"
)

// Entry is one thing on a customer's timeline; exactly one of Contact, Ticket, Callback,
// Recording, Disposition and Merge is set.
type Entry struct {
	At          time.Time
	Kind        EntryKind
	ID          string
	Contact     *Contact
	Ticket      *Ticket
	Callback    *Callback
	Recording   *RecordingInfo
	Disposition *Disposition
	Merge       *MergeRecord
}

// Timeline is everything that happened with a customer, oldest first: every contact
// (including each callback attempt), ticket, callback, conversation recording and wrap-up
// disposition, and every merge, of this record and of every record merged into it. Contacts are dated by
// their start, tickets and callbacks by their creation, recordings by their start,
// dispositions by their first submission, merges by when they were made.
func (s *Store) Timeline(ctx context.Context, customerID string) ([]Entry, error) {
	r := s.r()
	id, err := s.resolve(ctx, r, customerID)
	if err != nil {
		return nil, err
	}
	var out []Entry
	contacts, err := s.scanContacts(r.query(ctx, "SELECT "+contactCols+" FROM contacts WHERE customer_id = ?", id))
	if err != nil {
		return nil, err
	}
	for i := range contacts {
		c := &contacts[i]
		out = append(out, Entry{At: c.StartedAt, Kind: EntryContact, ID: c.ID, Contact: c})
	}
	tickets, err := s.scanTickets(ctx, r, "SELECT "+ticketCols+" FROM tickets WHERE customer_id = ?", id)
	if err != nil {
		return nil, err
	}
	for i := range tickets {
		t := &tickets[i]
		out = append(out, Entry{At: t.CreatedAt, Kind: EntryTicket, ID: t.ID, Ticket: t})
	}
	callbacks, err := s.scanCallbacks(r.query(ctx, "SELECT "+callbackCols+" FROM callbacks WHERE customer_id = ?", id))
	if err != nil {
		return nil, err
	}
	for i := range callbacks {
		c := &callbacks[i]
		out = append(out, Entry{At: c.CreatedAt, Kind: EntryCallback, ID: c.ID, Callback: c})
	}
	rows, err := r.query(ctx, "SELECT "+recordingCols+" FROM recordings WHERE customer_id = ? AND kind = 'call'", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		ri, err := scanRecording(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{At: ri.CreatedAt, Kind: EntryRecording, ID: ri.ID, Recording: &ri})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	disps, err := scanDispositions(r.query(ctx, "SELECT "+dispositionCols+" FROM dispositions WHERE contact_id IN (SELECT id FROM contacts WHERE customer_id = ?)", id))
	if err != nil {
		return nil, err
	}
	for i := range disps {
		d := &disps[i]
		out = append(out, Entry{At: d.CreatedAt, Kind: EntryDisposition, ID: d.ID, Disposition: d})
	}
	merges, err := s.merges(ctx, r, id)
	if err != nil {
		return nil, err
	}
	for i := range merges {
		m := &merges[i]
		out = append(out, Entry{At: m.At, Kind: EntryMerge, ID: m.ID, Merge: m})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].ID < out[j].ID // UUIDv7: creation order
	})
	return out, nil
}
