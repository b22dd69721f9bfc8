package customers

import (
	"errors"
	"strings"
	"time"
)

func testAudit(e *env) {
	rec := "20260511T020000Z-0123456789abcdef"
	e.must(e.s.Audit(e.ctx, AuditEntry{Actor: "tok1", Role: "supervisor", Action: AuditRecordingPlay, Object: rec,
		Detail: map[string]any{"name": "Mei", "token": "hl_secret", "caller": "+8613800138000", "note": "called from sip:13800138000@10.0.0.1 today",
			"at": "2026-05-11", "bytes": 123456789}}))
	e.clk.Advance(time.Second)
	e.must(e.s.Audit(e.ctx, AuditEntry{Actor: "tok2", Role: "agent", Action: AuditRecordingDownload, Object: rec}))
	e.clk.Advance(time.Second)
	e.must(e.s.Audit(e.ctx, AuditEntry{Actor: "tok1", Role: "supervisor", Action: AuditMonitorStart, Object: "call-1",
		Detail: map[string]any{"mode": "listen", "supervisor": "9001"}}))
	if err := e.s.Audit(e.ctx, AuditEntry{Actor: "tok1", Action: "Play"}); !errors.Is(err, ErrInvalid) {
		e.Errorf("an action that is not a dotted name: %v", err)
	}
	if err := e.s.Audit(e.ctx, AuditEntry{Action: AuditRecordingPlay}); !errors.Is(err, ErrInvalid) {
		e.Errorf("no actor: %v", err)
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
