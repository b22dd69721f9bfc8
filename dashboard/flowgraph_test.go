package dashboard

import (
	"strings"
	"testing"
)

// The Mermaid that ivr.Mermaid writes reads back into the same nodes and arrows, laid out
// top-down from the start, with loops drawn and every label escaped.
func TestFlowGraphFromMermaid(t *testing.T) {
	src := "flowchart TD\n  %% flow hotline (hotline.yaml)\n  start((start))\n" +
		"  n0[\"greet<br/><i>say: Welcome #lt;b#gt;</i>\"]\n  n1{{\"menu<br/><i>1 support, 2 sales</i>\"}}\n  n2[(\"support<br/><i>queue support</i>\")]\n" +
		"  n3((\"bye<br/><i>hangup</i>\"))\n  flow_sales[[\"flow sales\"]]\n  start --> n0\n  n0 -- \"next\" --> n1\n  n1 -- \"1\" --> n2\n  n1 -- \"timeout\" --> n1\n" +
		"  n1 --> flow_sales\n  n2 -- \"timeout\" --> n3\n  n3 -- \"again\" --> n0\n  errors((any error)) -.-> n3\n"
	g := ParseMermaid(src)
	if g.Title != "flow hotline (hotline.yaml)" || len(g.Nodes) != 7 || len(g.Edges) != 8 {
		t.Fatalf("title %q, %d nodes, %d edges", g.Title, len(g.Nodes), len(g.Edges))
	}
	by := map[string]*GraphNode{}
	for _, n := range g.Nodes {
		by[n.ID] = n
	}
	for id, want := range map[string]struct {
		label, shape string
		layer        int
	}{"start": {"start", "circle", 0}, "n0": {"greet", "box", 1}, "n1": {"menu", "menu", 2}, "n2": {"support", "store", 3},
		"n3": {"bye", "circle", 4}, "flow_sales": {"flow sales", "sub", 3}, "errors": {"any error", "circle", 0}} {
		n := by[id]
		if n == nil || n.Label != want.label || n.Shape != want.shape || n.Layer != want.layer {
			t.Errorf("%s: %+v, want %+v", id, n, want)
		}
	}
	if by["n0"].Detail != "say: Welcome <b>" {
		t.Errorf("detail %q", by["n0"].Detail)
	}
	svg := g.SVG()
	if strings.Contains(svg, "<b>") || !strings.Contains(svg, "say: Welcome &lt;b&gt;") {
		t.Error("labels are not escaped in the SVG")
	}
	if strings.Count(svg, "<path d=") != 9 || !strings.Contains(svg, `stroke-dasharray`) { // 8 edges + the arrow head
		t.Errorf("edges drawn: %d", strings.Count(svg, "<path d="))
	}
	for _, n := range g.Nodes {
		for _, m := range g.Nodes {
			if n != m && n.Layer == m.Layer && n.X < m.X+m.W && m.X < n.X+n.W {
				t.Errorf("%s and %s overlap", n.ID, m.ID)
			}
		}
	}
}
