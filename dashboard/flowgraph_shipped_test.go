package dashboard_test

import (
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/flows"
	"github.com/hotline-cc/hotline/ivr"
)

// In package dashboard_test: the shipped flows are checked against the sample configuration
// through the wiring (center), which imports the dashboard.

// Every shipped flow, as ivr.Mermaid writes it, is drawn whole: every arrow of the source is
// an edge, every node a box.
func TestShippedFlowsDraw(t *testing.T) {
	cat, _, err := center.LoadFlowCatalog("") // the sample configuration, as hotline reads it
	if err != nil {
		t.Fatal(err)
	}
	lib, err := ivr.OpenLibrary(flows.FS, "flows", cat)
	if err != nil {
		t.Fatal(err)
	}
	set := lib.Set()
	if len(set.Names()) == 0 {
		t.Fatal("no shipped flows")
	}
	for _, name := range set.Names() {
		src := ivr.Mermaid(set.Flow(name))
		g := dashboard.ParseMermaid(src)
		arrows := strings.Count(src, "-->") + strings.Count(src, "-.->")
		if len(g.Edges) != arrows || len(g.Nodes) < 3 {
			t.Errorf("%s: %d edges of %d arrows, %d nodes", name, len(g.Edges), arrows, len(g.Nodes))
		}
		for _, n := range g.Nodes {
			if n.Label == "" || n.W == 0 {
				t.Errorf("%s: node %s not drawn: %+v", name, n.ID, n)
			}
		}
		if !strings.HasPrefix(g.SVG(), "<svg") {
			t.Errorf("%s: no SVG", name)
		}
	}
}
