package customers

import (
	"fmt"
	"testing"
)

// TestStmtCacheFull: queries keep answering, prepared or not, once the cache is full, and a
// cached query is prepared once.
func TestStmtCacheFull(t *testing.T) {
	e := newEnv(t, "")
	r := e.s.r()
	for i := range maxStmts + 10 {
		var n int
		e.must(r.row(e.ctx, fmt.Sprintf("SELECT %d + ?", i), 1).Scan(&n))
		if n != i+1 {
			t.Fatalf("query %d answered %d", i, n)
		}
	}
	if got := len(e.s.stmts.stmts); got != maxStmts {
		t.Errorf("%d statements cached, want the bound %d", got, maxStmts)
	}
	first := e.s.stmts.get(e.ctx, "SELECT 0 + ?", false)
	if first == nil || e.s.stmts.get(e.ctx, "SELECT 0 + ?", false) != first {
		t.Error("a cached query was prepared again")
	}
}
