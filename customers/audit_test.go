package customers

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

func testAudit(e *env) {
	rec := "20260511T020000Z-0123456789abcdef"
	e.must(e.s.Audit(e.ctx, AuditEntry{Actor: "tok1", Role: "supervisor", Action: AuditRecordingPlay, Object: rec,
		Detail: map[string]any{"name": "Mei", "token": "hl_secret", "caller": "+8613800138000", "note": "called from sip:13800138000@10.0.0.1 today",
			"at": "2026-05-11", "bytes": 123456789}}))
	e.clk.Advance(time.Second)
	e.must(e.s.Audit(e.ctx, AuditEntry{Actor: "tok2", Role: "agent", Action: AuditRecordingDownload, Object: rec, From: "192.0.2.7"}))
	e.clk.Advance(time.Second)
	e.must(e.s.Audit(e.ctx, AuditEntry{Actor: "tok1", Role: "supervisor", Action: AuditMonitorStart, Object: "call-1",
		Detail: map[string]any{"mode": "listen", "supervisor": "9001"}}))
	if err := e.s.Audit(e.ctx, AuditEntry{Actor: "tok1", Action: "Play"}); !errors.Is(err, ErrInvalid) {
		e.Errorf("an action that is not a dotted name: %v", err)
	}
	if err := e.s.Audit(e.ctx, AuditEntry{Action: AuditRecordingPlay}); !errors.Is(err, ErrInvalid) {
		e.Errorf("no actor: %v", err)
	}
	if err := e.s.Audit(e.ctx, AuditEntry{Actor: "tok1", Action: AuditRecordingPlay, From: "10.0.0.1\nforged line"}); !errors.Is(err, ErrInvalid) {
		e.Errorf("a source with a line break: %v", err)
	}
	all, _, err := e.s.ListAudit(e.ctx, AuditFilter{}, Page{})
	e.must(err)
	if len(all) != 3 || all[0].Action != AuditMonitorStart || all[2].Action != AuditRecordingPlay {
		e.Fatalf("audit newest first: %+v", all)
	}
	d := all[2].Detail
	if _, ok := d["token"]; ok {
		e.Errorf("a secret was stored: %v", d)
	}
	if d["caller"] != "…8000" || strings.Contains(d["note"].(string), "13800138000") || d["at"] != "2026-05-11" || d["name"] != "Mei" || d["bytes"] != float64(123456789) {
		e.Errorf("detail as stored: %v", d)
	}
	if all[1].From != "192.0.2.7" || all[1].Seq != 2 || all[1].PrevHash != all[2].Hash || len(all[1].Hash) != 64 {
		e.Errorf("the second entry: from %q, #%d, prev %q, hash %q; want 192.0.2.7, #2, chained to the first", all[1].From, all[1].Seq, all[1].PrevHash, all[1].Hash)
	}
	if all[2].Actor != "tok1" || all[2].Role != "supervisor" || all[2].Object != rec || !all[2].At.Equal(monday10) {
		e.Errorf("entry: %+v", all[2])
	}
	for _, c := range []struct {
		f    AuditFilter
		want int
	}{
		{AuditFilter{Object: rec}, 2},
		{AuditFilter{Actor: "tok1"}, 2},
		{AuditFilter{Action: AuditRecordingDownload}, 1},
		{AuditFilter{Action: "recording."}, 2},
		{AuditFilter{Since: monday10.Add(time.Second)}, 2},
		{AuditFilter{Actor: "tok1", Action: "monitor."}, 1},
		{AuditFilter{Action: "recording"}, 2},
		{AuditFilter{From: "192.0.2.7"}, 1},
		{AuditFilter{Until: monday10.Add(time.Second)}, 1},
		{AuditFilter{Since: monday10.Add(time.Second), Until: monday10.Add(2 * time.Second)}, 1},
	} {
		got, _, err := e.s.ListAudit(e.ctx, c.f, Page{})
		e.must(err)
		if len(got) != c.want {
			e.Errorf("ListAudit(%+v): %d entries, want %d", c.f, len(got), c.want)
		}
	}
	p1, next, err := e.s.ListAudit(e.ctx, AuditFilter{}, Page{Limit: 2})
	e.must(err)
	p2, last, err := e.s.ListAudit(e.ctx, AuditFilter{}, Page{Limit: 2, Cursor: next})
	e.must(err)
	if len(p1) != 2 || len(p2) != 1 || last != "" || p2[0].ID != all[2].ID {
		e.Errorf("pages %v / %v", p1, p2)
	}
}

// auditN writes n entries a second apart and returns them oldest first.
func (e *env) auditN(n int) []AuditEntry {
	e.Helper()
	for i := 0; i < n; i++ {
		e.must(e.s.Audit(e.ctx, AuditEntry{Actor: "tok1", Role: "supervisor", Action: "agent.pause", Object: fmt.Sprintf("100%d", i),
			From: "192.0.2.1", Detail: map[string]any{"reason": "lunch", "n": i}}))
		e.clk.Advance(time.Second)
	}
	list, _, err := e.s.ListAudit(e.ctx, AuditFilter{}, Page{Limit: 500})
	e.must(err)
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

func (e *env) verify() AuditCheck {
	e.Helper()
	c, err := e.s.VerifyAudit(e.ctx)
	e.must(err)
	return c
}

func (e *env) sql(q string, args ...any) {
	e.Helper()
	_, err := e.s.r().exec(e.ctx, q, args...)
	e.must(err)
}

// An operator with SQL access deletes one entry and edits another: verify names both, by
// ID and time, and says which was deleted and which altered.
func testAuditTamper(e *env) {
	list := e.auditN(6)
	c := e.verify()
	if !c.OK() || c.Checked != 6 || c.Legacy != 0 || c.First.ID != list[0].ID || c.Head != 6 || c.HeadHash != list[5].Hash {
		e.Fatalf("an untouched chain: %+v", c)
	}
	e.sql("DELETE FROM audit WHERE id = ?", list[1].ID)
	e.sql("UPDATE audit SET detail = ? WHERE id = ?", `{"n":3,"reason":"training"}`, list[3].ID)
	c = e.verify()
	if c.Checked != 5 || len(c.Breaks) != 2 {
		e.Fatalf("after a delete and an edit: checked %d, breaks %v", c.Checked, c.Breaks)
	}
	del, alt := c.Breaks[0], c.Breaks[1]
	if del.Kind != AuditDeleted || del.ID != list[2].ID || !strings.Contains(del.Msg, "#2 to #2") || !strings.Contains(del.Msg, list[0].ID) {
		e.Errorf("the deletion: %v", del)
	}
	if alt.Kind != AuditAltered || alt.ID != list[3].ID || !alt.At.Equal(list[3].At) || alt.Seq != 4 {
		e.Errorf("the edit: %v", alt)
	}
	if s := alt.String(); !strings.Contains(s, list[3].ID) || !strings.Contains(s, list[3].At.UTC().Format(time.RFC3339Nano)) {
		e.Errorf("the edit as printed: %s", s)
	}
	// The actor rewritten with a recomputed hash still breaks the link to the next entry.
	forged := list[4]
	forged.Actor = "someone-else"
	canon, _ := canonicalJSON(`{"n":4,"reason":"lunch"}`)
	e.sql("UPDATE audit SET actor = ?, hash = ? WHERE id = ?", forged.Actor, chainHash(forged, canon), forged.ID)
	c = e.verify()
	if len(c.Breaks) != 3 || c.Breaks[2].Kind != AuditInserted || c.Breaks[2].ID != list[5].ID {
		e.Errorf("a rewritten entry with its hash recomputed: %v", c.Breaks)
	}
	// The last entry deleted: the head still counts it.
	e.sql("DELETE FROM audit WHERE id = ?", list[5].ID)
	c = e.verify()
	if b := c.Breaks[len(c.Breaks)-1]; b.Kind != AuditDeleted || !strings.Contains(b.Msg, "#6 to #6") {
		e.Errorf("the last entry deleted: %v", c.Breaks)
	}
	// The head row deleted too: said so, not an error.
	e.sql("DELETE FROM audit_head")
	c = e.verify()
	if b := c.Breaks[len(c.Breaks)-1]; b.Kind != AuditDeleted || !strings.Contains(b.Msg, "audit_head") {
		e.Errorf("the head row deleted: %v", c.Breaks)
	}
}

// A row put in by hand, with no place in the chain, or after its head.
func testAuditInserted(e *env) {
	list := e.auditN(3)
	e.sql("INSERT INTO audit (id, at, actor, role, action, object, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
		"forged-1", ms(list[1].At.Add(time.Millisecond)), "tok1", "supervisor", "agent.pause", "1009", "{}")
	e.sql("INSERT INTO audit (id, at, actor, role, action, object, detail, seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"forged-2", ms(e.clk.Now()), "tok1", "supervisor", "agent.pause", "1009", "{}", 4, list[2].Hash, "00")
	c := e.verify()
	var kinds []string
	for _, b := range c.Breaks {
		kinds = append(kinds, b.Kind+" "+b.ID)
	}
	want := []string{"altered forged-2", "inserted forged-2", "inserted forged-1"}
	if strings.Join(kinds, ", ") != strings.Join(want, ", ") {
		e.Errorf("breaks %v, want %v", c.Breaks, want)
	}
}

// Entries from before the chain (schema version 3 to 6) are counted apart; the chain
// starts after them and verifies clean.
func testAuditLegacy(e *env) {
	for i := 0; i < 2; i++ {
		e.sql("INSERT INTO audit (id, at, actor, role, action, object, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
			fmt.Sprintf("old-%d", i), ms(e.clk.Now().Add(-time.Hour)), "tok1", "supervisor", "recording.play", "r1", "{}")
	}
	list := e.auditN(2)
	c := e.verify()
	if !c.OK() || c.Legacy != 2 || c.Checked != 2 || c.First == nil || c.First.ID != list[2].ID {
		e.Errorf("legacy entries then the chain: %+v (breaks %v)", c, c.Breaks)
	}
}

// Writers in parallel still make one line: no two entries share a place or a predecessor.
func testAuditConcurrent(e *env) {
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				errs <- e.s.Audit(e.ctx, AuditEntry{Actor: fmt.Sprintf("tok%d", w), Role: "integration", Action: "call.transfer", Object: "c"})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.must(err)
	}
	if c := e.verify(); !c.OK() || c.Checked != 40 || c.Head != 40 {
		e.Errorf("40 entries from 8 writers: checked %d, head %d, breaks %v", c.Checked, c.Head, c.Breaks)
	}
}
