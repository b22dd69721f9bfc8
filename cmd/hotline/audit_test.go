package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
)

// Token changes made with the command are on the audit trail, from cli; `hotline audit
// verify` finds the chain intact, then names the entry deleted and the entry edited by hand
// in the database, and exits 1.
func TestAuditVerify(t *testing.T) {
	dir := t.TempDir()
	cmd := func(f func([]string, io.Writer, io.Writer) int, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := f(append(args, "--data-dir", dir), &out, &errb)
		return out.String(), errb.String(), code
	}
	if _, errs, code := cmd(auditCommand, "verify"); code != 0 {
		t.Fatalf("verify of an empty trail: exit %d: %s", code, errs)
	}
	var ids []string
	for _, role := range []string{"supervisor", "integration"} {
		out, errs, code := cmd(tokenCommand, "create", "--role", role)
		if code != 0 {
			t.Fatalf("token create: exit %d: %s", code, errs)
		}
		for _, f := range strings.Fields(out) {
			if strings.HasPrefix(f, "tk_") {
				ids = append(ids, f)
			}
		}
	}
	if _, errs, code := cmd(tokenCommand, "revoke", ids[1]); code != 0 {
		t.Fatalf("token revoke: exit %d: %s", code, errs)
	}
	out, errs, code := cmd(auditCommand, "verify")
	if code != 0 || !strings.Contains(out, "Checked 3 entries") || !strings.Contains(out, "OK:") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}

	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	store, err := center.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	list, _, err := store.ListAudit(context.Background(), customers.AuditFilter{From: "cli"}, customers.Page{})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Action != "token.revoke" || list[0].Object != ids[1] || list[0].Role != "admin" ||
		!strings.HasPrefix(list[0].Actor, "os:") || list[2].Action != "token.create" || list[2].Detail["role"] != "supervisor" {
		t.Fatalf("the trail from cli: %+v", list)
	}

	db, err := sql.Open("sqlite", filepath.Join(dir, "hotline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []struct {
		sql string
		id  string
	}{
		{"DELETE FROM audit WHERE id = ?", list[1].ID},
		{"UPDATE audit SET object = 'tk_someone_else' WHERE id = ?", list[0].ID},
	} {
		if _, err := db.Exec(q.sql, q.id); err != nil {
			t.Fatal(err)
		}
	}
	out, errs, code = cmd(auditCommand, "verify")
	if code != 1 {
		t.Fatalf("verify of a tampered trail: exit %d, want 1\n%s%s", code, out, errs)
	}
	at := list[0].At.UTC().Format(time.RFC3339Nano)
	for _, want := range []string{"Checked 2 entries", "BROKEN: 2 problems", "deleted: entry " + list[0].ID, "#2 to #2",
		"altered: entry " + list[0].ID + " (" + at + ", #3)", "The chain starts at entry " + list[2].ID} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}
	if _, errs, code := cmd(auditCommand, "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("audit frobnicate: exit %d %q", code, errs)
	}
}
