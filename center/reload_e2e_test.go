package center

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

func reloadFlow(node string) string {
	return `description: hot reload test
language: en
start: ` + node + `
nodes:
  ` + node + `:
    menu:
      prompt:
        en: This is ` + node + `. Press 1.
      timeout: 30s
      retries: 0
    on:
      digit:1: bye
      retries_exhausted: bye
  bye:
    hangup: {}
`
}

// Issue 3, acceptance 5: edits reach new calls only; a broken edit leaves the old flow serving.
func TestFlowHotReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "direct.yaml")
	write := func(s string) {
		if err := os.WriteFile(file+".tmp", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(file+".tmp", file); err != nil {
			t.Fatal(err)
		}
	}
	write(reloadFlow("version-one"))
	h := startHotline(t, func(c *config.Config) {
		c.Flows.Dir, c.Flows.Entry, c.SIP.DefaultEntry, c.Flows.Reload = dir, "direct", "direct", true
	}, WithReloadInterval(100*time.Millisecond))

	call := func(stay time.Duration) *sipptest.Proc {
		return sipptest.Start(t, sipptest.Options{Scenario: "uac_hold.xml", Target: h.sipAddr, Service: "hotline", Pause: stay})
	}
	first := call(3 * time.Second) // in version one when the file changes
	time.Sleep(700 * time.Millisecond)
	write(reloadFlow("version-two"))
	time.Sleep(600 * time.Millisecond)
	second := call(time.Second)
	second.MustSucceed(t)
	first.MustSucceed(t)

	write("description: broken\nstart: nowhere\nnodes:\n  x:\n    goto: missing\n")
	time.Sleep(600 * time.Millisecond)
	call(time.Second).MustSucceed(t)

	recs := h.waitCalls(t, 3, 5*time.Second)
	firstNode := func(r CallRecord) string {
		if len(r.Path) == 0 {
			return ""
		}
		return r.Path[0].Node
	}
	// Records are in order of ending: the second call ends before the first.
	got := []string{firstNode(recs[0]), firstNode(recs[1]), firstNode(recs[2])}
	want := []string{"version-two", "version-one", "version-two"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("flows run: %v, want %v (second call, first call, call after the broken edit)", got, want)
	}
	if recs[0].Path[0].Version == recs[1].Path[0].Version {
		t.Errorf("old and new calls report the same flow version %q", recs[0].Path[0].Version)
	}

	// The applied reload is on the audit trail, from the watcher, with the version it brought;
	// the broken edit the watcher kept seeing is not written again and again. A reload asked
	// by a signal that is refused is written.
	list, _, err := h.Store().ListAudit(context.Background(), customers.AuditFilter{Action: "flows."}, customers.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Action != "flows.reload" || list[0].From != "watch" || list[0].Object != dir ||
		fmt.Sprint(list[0].Detail["changed"]) != "[direct@"+recs[0].Path[0].Version+"]" {
		t.Errorf("flow reloads audited: %+v", list)
	}
	if err := h.ReloadFlows("signal"); err == nil {
		t.Error("a reload of the broken flow on a signal was not refused")
	}
	list, _, _ = h.Store().ListAudit(context.Background(), customers.AuditFilter{Action: "flows.reload_refused", From: "signal"}, customers.Page{})
	if len(list) != 1 || list[0].Actor != "system" {
		t.Errorf("the refused reload on a signal: %+v", list)
	}
}
