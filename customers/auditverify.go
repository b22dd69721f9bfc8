package customers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AuditCheck is what VerifyAudit found walking the audit chain.
type AuditCheck struct {
	Checked int // chained entries whose hash and link were checked
	// Legacy entries were written before the chain existed (schema version 7): they have no
	// hash, and nothing shows whether they were altered.
	Legacy int
	First  *AuditEntry // the chain's first entry (nil: no chained entry yet)
	Last   *AuditEntry // its last
	Head   int64       // the seq the head row says is last
	// HeadHash is the hash of the last entry as the head row holds it. Kept somewhere else
	// (a ticket, another system's log), it proves later that nothing was rewritten before it.
	HeadHash string
	Breaks   []AuditBreak // empty: the chain is intact
}

// OK says the chain is intact.
func (c AuditCheck) OK() bool { return len(c.Breaks) == 0 }

// AuditBreak is one place where the chain does not hold.
type AuditBreak struct {
	Kind string    // altered, deleted or inserted
	ID   string    // the entry where it shows ("" for deletions at the end: see Msg)
	At   time.Time // that entry's time
	Seq  int64     // and place in the chain
	Msg  string    // what is wrong, for a person
}

// Break kinds.
const (
	AuditAltered  = "altered"  // the entry's content does not match its hash
	AuditDeleted  = "deleted"  // entries are missing from the chain
	AuditInserted = "inserted" // an entry that the chain does not lead to
)

func (b AuditBreak) String() string {
	if b.ID == "" {
		return fmt.Sprintf("%s: %s", b.Kind, b.Msg)
	}
	return fmt.Sprintf("%s: entry %s (%s, #%d): %s", b.Kind, b.ID, b.At.UTC().Format(time.RFC3339Nano), b.Seq, b.Msg)
}

// VerifyAudit walks the audit chain from its first entry to the head and reports every
// entry that was altered, deleted or inserted since it was written. It reads; it changes
// nothing.
func (s *Store) VerifyAudit(ctx context.Context) (AuditCheck, error) {
	var c AuditCheck
	var legacyLast sql.NullInt64
	if err := s.r().row(ctx, "SELECT COUNT(*), MAX(at) FROM audit WHERE seq IS NULL").Scan(&c.Legacy, &legacyLast); err != nil {
		return c, fmt.Errorf("customers: audit verify: %w", err)
	}
	headless := false
	switch err := s.r().row(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&c.Head, &c.HeadHash); {
	case errors.Is(err, sql.ErrNoRows):
		headless = true
	case err != nil:
		return c, fmt.Errorf("customers: audit verify: the chain's head row: %w", err)
	}
	rows, err := s.r().query(ctx, "SELECT "+auditColumns+" FROM audit WHERE seq IS NOT NULL ORDER BY seq")
	if err != nil {
		return c, fmt.Errorf("customers: audit verify: %w", err)
	}
	defer rows.Close()
	var prev *AuditEntry
	add := func(kind string, a *AuditEntry, format string, args ...any) {
		b := AuditBreak{Kind: kind, Msg: fmt.Sprintf(format, args...)}
		if a != nil {
			b.ID, b.At, b.Seq = a.ID, a.At, a.Seq
		}
		c.Breaks = append(c.Breaks, b)
	}
	for rows.Next() {
		a, detail, err := scanAudit(rows)
		if err != nil {
			return c, fmt.Errorf("customers: audit verify: %w", err)
		}
		c.Checked++
		if c.First == nil {
			first := a
			c.First = &first
		}
		canon, err := canonicalJSON(detail)
		if err != nil {
			add(AuditAltered, &a, "its detail is not a JSON object any more: %v", err)
		} else if chainHash(a, canon) != a.Hash {
			add(AuditAltered, &a, "its content does not match its hash: a column was changed after it was written")
		}
		prevSeq, prevHash := int64(0), ""
		if prev != nil {
			prevSeq, prevHash = prev.Seq, prev.Hash
		}
		switch {
		case a.Seq > prevSeq+1 && prev == nil:
			add(AuditDeleted, &a, "missing before it, at the start of the chain: %s (#1 to #%d)", entries(a.Seq-1), a.Seq-1)
		case a.Seq > prevSeq+1:
			add(AuditDeleted, &a, "missing between entry %s (%s, #%d) and this one: %s (#%d to #%d)",
				prev.ID, prev.At.UTC().Format(time.RFC3339Nano), prevSeq, entries(a.Seq-prevSeq-1), prevSeq+1, a.Seq-1)
		case a.PrevHash != prevHash && prev == nil:
			add(AuditInserted, &a, "it is the first of the chain but names an entry before it")
		case a.PrevHash != prevHash:
			add(AuditInserted, &a, "it does not follow entry %s (#%d): the hash it names is not that entry's; one of the two was put in or rewritten whole",
				prev.ID, prev.Seq)
		}
		prev = &a
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("customers: audit verify: %w", err)
	}
	c.Last = prev
	last, lastHash := int64(0), ""
	if prev != nil {
		last, lastHash = prev.Seq, prev.Hash
	}
	switch {
	case headless:
		add(AuditDeleted, nil, "the chain's head row (audit_head) was deleted: entries at the end may be missing unseen")
	case c.Head > last:
		add(AuditDeleted, nil, "missing at the end of the chain: %s (#%d to #%d); the head says #%d, the last entry is #%d",
			entries(c.Head-last), last+1, c.Head, c.Head, last)
	case c.Head < last:
		add(AuditInserted, prev, "the chain goes past its head (#%d): entries were added without taking the chain's lock", c.Head)
	case c.HeadHash != lastHash:
		add(AuditInserted, prev, "the head holds another hash for the last entry: it was put in or rewritten whole")
	}
	if c.First != nil && legacyLast.Valid && fromMS(legacyLast.Int64).After(c.First.At) {
		if err := s.legacyAfter(ctx, c.First.At, add); err != nil {
			return c, err
		}
	}
	return c, nil
}

// legacyAfter reports the entries without a place in the chain dated after the chain began:
// entries from before the chain cannot be.
func (s *Store) legacyAfter(ctx context.Context, start time.Time, add func(string, *AuditEntry, string, ...any)) error {
	rows, err := s.r().query(ctx, "SELECT "+auditColumns+" FROM audit WHERE seq IS NULL AND at > ? ORDER BY at, id", ms(start))
	if err != nil {
		return fmt.Errorf("customers: audit verify: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, _, err := scanAudit(rows)
		if err != nil {
			return fmt.Errorf("customers: audit verify: %w", err)
		}
		add(AuditInserted, &a, "it has no place in the chain, yet is dated after the chain began (%s)", start.UTC().Format(time.RFC3339Nano))
	}
	return rows.Err()
}

func entries(n int64) string {
	if n == 1 {
		return "1 entry"
	}
	return fmt.Sprintf("%d entries", n)
}
