package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
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

// SIGHUP reloads the flows of a running hotline, and a broken edit is refused; both are on
// the audit trail, from signal.
func TestSIGHUPReloadsFlowsAudited(t *testing.T) {
	testenv.Tool(t, "espeak-ng")
	dir := t.TempDir()
	flows := filepath.Join(dir, "flows")
	os.Mkdir(flows, 0o755)
	flow := filepath.Join(flows, "hotline.yaml")
	os.WriteFile(flow, []byte(holdFlow), 0o644)
	sipAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	cfgPath := filepath.Join(dir, "hotline.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("data_dir: %s\nsip: {addr: %q}\nhttp: {addr: %q}\nflows: {dir: %s, reload: false}\nqueues: [{name: support}]\n",
		filepath.Join(dir, "data"), sipAddr, httpAddr, flows)), 0o644)
	p := startServe(t, "--config", cfgPath)
	p.waitFor(t, "hotline is running", 20*time.Second)

	os.WriteFile(flow, []byte(strings.Replace(holdFlow, "pause: 60s", "pause: 30s", 1)), 0o644)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "SIGHUP: flows reloaded", 5*time.Second)
	os.WriteFile(flow, []byte("description: broken\nstart: nowhere\nnodes:\n  x:\n    goto: missing\n"), 0o644)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "SIGHUP: flows not reloaded", 5*time.Second)
	p.stop(t)

	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	store, err := center.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	list, _, err := store.ListAudit(context.Background(), customers.AuditFilter{Action: "flows", From: "signal"}, customers.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Action != "flows.reload_refused" || list[1].Action != "flows.reload" || list[1].Object != flows {
		t.Errorf("reloads on SIGHUP audited: %+v", list)
	}
}
