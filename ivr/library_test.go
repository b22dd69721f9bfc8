package ivr_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/ivr/sim"
)

// version writes a main flow whose menu sends 1 to a node named after the version.
func version(name string) string {
	return `
nodes:
  menu:
    menu: {prompt: "This is ` + name + `. Press 1."}
    on: {digit:1: ` + name + `, retries_exhausted: ` + name + `}
  ` + name + `:
    queue: support
`
}

func writeFlow(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startCall runs a call on the library's current flow; it stops at its first key press
// until release is closed.
func startCall(lib *ivr.Library, release chan struct{}) (<-chan ivr.Result, *sim.Call) {
	f := lib.Flow("main")
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, []string{"1"}, io.Discard)
	if release != nil {
		c.Channel.Block = func() { <-release }
	}
	out := make(chan ivr.Result, 1)
	go func() { out <- c.Run(context.Background(), f) }()
	return out, c
}

func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	writeFlow(t, dir, "main.yaml", version("old"))
	var logs bytes.Buffer
	lib, err := ivr.OpenDir(dir, testCatalog(t), ivr.WithLibraryLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}

	// A call starts on the old version and waits at the menu.
	release := make(chan struct{})
	before, _ := startCall(lib, release)

	// The file is edited and reloaded while that call is in progress.
	writeFlow(t, dir, "main.yaml", version("new"))
	if err := lib.Reload(); err != nil {
		t.Fatalf("a clean edit was refused: %v", err)
	}

	// 1. A call started after the edit follows the new version.
	after, _ := startCall(lib, nil)
	if res := <-after; strings.Join(res.Nodes(), " ") != "menu new" {
		t.Errorf("call after the edit: path %v, want the new version", res.Nodes())
	}

	// 2. The call started before the edit finishes on the old version.
	close(release)
	if res := <-before; strings.Join(res.Nodes(), " ") != "menu old" {
		t.Errorf("call in progress: path %v, want the old version it started with", res.Nodes())
	}
	newVersion := lib.Flow("main").Version

	// 3. A broken edit is refused, logged with its errors, and the new version keeps serving.
	writeFlow(t, dir, "main.yaml", strings.Replace(version("newer"), "queue: support", "queue: nowhere", 1))
	err = lib.Reload()
	var diags ivr.Diagnostics
	if !errors.As(err, &diags) || len(diags) != 1 || !strings.Contains(diags[0].String(), "main.yaml:7:12: no queue named \"nowhere\"") {
		t.Fatalf("broken edit: %v", err)
	}
	if lib.Flow("main").Version != newVersion {
		t.Error("a broken edit replaced the serving version")
	}
	if !strings.Contains(logs.String(), "main.yaml:7:12: no queue named") {
		t.Errorf("the refusal was not logged with its diagnostics:\n%s", logs.String())
	}
	_ = lib.Reload() // the same broken content again: refused, but not logged twice
	if n := strings.Count(logs.String(), "edited flows refused"); n != 1 {
		t.Errorf("the same broken edit was logged %d times", n)
	}
	third, _ := startCall(lib, nil)
	if res := <-third; strings.Join(res.Nodes(), " ") != "menu new" {
		t.Errorf("call after a broken edit: path %v, want the last good version", res.Nodes())
	}
}

func TestWatchPicksUpEdits(t *testing.T) {
	dir := t.TempDir()
	writeFlow(t, dir, "main.yaml", version("old"))
	lib, err := ivr.OpenDir(dir, testCatalog(t), ivr.WithLibraryLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go lib.Watch(ctx, 5*time.Millisecond)
	writeFlow(t, dir, "main.yaml", version("new"))
	deadline := time.Now().Add(2 * time.Second)
	for lib.Flow("main").Node("new") == nil {
		if time.Now().After(deadline) {
			t.Fatal("Watch did not pick up the edit")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOpenRefusesBrokenFlows(t *testing.T) {
	dir := t.TempDir()
	writeFlow(t, dir, "main.yaml", "nodes:\n  a:\n    goto: nowhere\n")
	_, err := ivr.OpenDir(dir, testCatalog(t))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "main.yaml")+":3:11: no flow named \"nowhere\"") {
		t.Fatalf("want the diagnostic serve would print, got %v", err)
	}
}

func TestOpenFlowsServesTheShippedFlowsAndChecksTheEntry(t *testing.T) {
	cfg := ivr.Config{Entry: "hotline", DefaultEntry: "hotline"} // the sample configuration's
	lib, err := ivr.OpenFlows(cfg, testCatalog(t))
	if err != nil {
		t.Fatal(err)
	}
	if lib.Flow(cfg.Entry) == nil || lib.Flow("survey") == nil {
		t.Fatalf("flows %v", lib.Set().Names())
	}
	cfg.Entry = "hotlne"
	cfg.DefaultEntry = "after-hour"
	cfg.Routes = map[string]string{"800": "sales-line"}
	_, err = ivr.OpenFlows(cfg, testCatalog(t))
	if err == nil || !strings.Contains(err.Error(), `flows.entry: no flow named "hotlne"; did you mean "hotline"?`) ||
		!strings.Contains(err.Error(), `sip.default_entry: no flow named "after-hour"`) ||
		!strings.Contains(err.Error(), `flows.routes.800: no flow named "sales-line"`) {
		t.Errorf("got %v", err)
	}
}
