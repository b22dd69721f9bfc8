package ivr_test

import (
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/flows"
	"github.com/hotline-cc/hotline/ivr"
)

func TestGraphsShowEveryWiredExit(t *testing.T) {
	srcs, _ := ivr.ReadSources(flows.FS, "flows")
	set, diags := ivr.Compile(testCatalog(t), srcs...)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	f := set.Flow("hotline")
	mm, dot := ivr.Mermaid(f), ivr.DOT(f)
	if !strings.HasPrefix(mm, "flowchart TD\n") || !strings.HasPrefix(dot, "digraph \"hotline\" {") {
		t.Fatalf("not a Mermaid flowchart / DOT digraph:\n%s\n%s", mm, dot)
	}
	edges := 0
	for _, n := range f.Nodes() {
		edges += len(n.Exits())
	}
	if got := strings.Count(mm, "-- \""); got != edges {
		t.Errorf("Mermaid has %d labelled arrows, the flow %d wired exits", got, edges)
	}
	if got := strings.Count(dot, "[label=\"") - len(f.Nodes()); got != edges {
		t.Errorf("DOT has %d labelled edges, want %d", got, edges)
	}
	for _, want := range []string{`-- "digit:2" -->`, `[["flow after-hours"]]`, `[["flow survey"]]`} {
		if !strings.Contains(mm, want) {
			t.Errorf("Mermaid lacks %s", want)
		}
	}
	if !strings.Contains(dot, `"language" -> "chinese" [label="digit:2"];`) {
		t.Errorf("DOT lacks the digit:2 edge:\n%s", dot)
	}
}
