package ivr_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/flows"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/ivr/sim"
)

// FuzzLoadFlow feeds the loader arbitrary files. It must never panic or hang, every
// diagnostic must have a place, and a flow that checks clean must run to an end.
func FuzzLoadFlow(f *testing.F) {
	seeds, _ := fs.Glob(flows.FS, "*.yaml")
	for _, s := range seeds {
		b, _ := fs.ReadFile(flows.FS, s)
		f.Add(b)
	}
	broken, _ := filepath.Glob("testdata/broken/*.yaml")
	for _, s := range broken {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	f.Add([]byte("nodes:\n  a:\n    say: ${1 +}\n"))
	f.Add([]byte("nodes: {a: {menu: {prompt: x}, on: {digit:1: a, retries_exhausted: a}}}"))
	cat := testCatalog(f)
	tmp := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		set, diags := ivr.Compile(cat, ivr.Source{File: "fuzz.yaml", Data: data})
		for _, d := range diags {
			if d.File != "fuzz.yaml" || d.Line < 1 || d.Col < 1 || d.Msg == "" {
				t.Fatalf("diagnostic without a place: %+v", d)
			}
		}
		fl := set.Flow("fuzz")
		if fl == nil {
			return
		}
		_ = ivr.Mermaid(fl)
		_ = ivr.DOT(fl)
		if len(diags) > 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := sim.NewCall(fl, "+8613800138000", "4008", sim.DefaultAt, []string{"1", "2", "timeout", "123#"}, io.Discard)
		c.Runner.TempDir = tmp
		done := make(chan struct{})
		go func() { c.Run(ctx, fl); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("a clean flow did not end")
		}
	})
}
