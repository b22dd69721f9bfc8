package dashboard

import (
	"fmt"
	"html"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// FlowGraph is a flow read back from the Mermaid source ivr.Mermaid writes, laid out in
// layers from the start, so the dashboard can draw it without a JavaScript graph library.
type FlowGraph struct {
	Title string
	Nodes []*GraphNode
	Edges []GraphEdge
}

// GraphNode is one box.
type GraphNode struct {
	ID, Label, Detail string
	Shape             string // box, decision, menu, store, circle, sub
	Layer, Order      int
	X, Y, W, H        float64
}

// GraphEdge is one arrow.
type GraphEdge struct {
	From, To, Label string
	Dashed          bool
}

var (
	mmNode = regexp.MustCompile(`^([A-Za-z0-9_-]+)(\(\(|\{\{|\[\(|\[\[|\[|\{|\()(.*?)(\)\)|\}\}|\)\]|\]\]|\]|\}|\))$`)
	mmEdge = regexp.MustCompile(`^([A-Za-z0-9_-]+)(\(\(.*?\)\)|\[\[.*?\]\]|\[.*?\]|\{.*?\})?\s*(?:--\s*"(.*?)"\s*-->|-->|-\.->)\s*([A-Za-z0-9_-]+)$`)
	mmTags = regexp.MustCompile(`<[^>]*>`)
)

var shapes = map[string]string{"((": "circle", "{{": "menu", "[(": "store", "[[": "sub", "[": "box", "{": "decision", "(": "box"}

func mmText(s string) string {
	s = strings.Trim(s, `"`)
	s = strings.NewReplacer("#quot;", `"`, "#lt;", "<", "#gt;", ">", "#amp;", "&").Replace(s)
	return s
}

// label is a node's text: markup tags dropped, then Mermaid's entities (#quot; ...) read.
func label(s string) string {
	return strings.TrimSpace(mmText(mmTags.ReplaceAllString(strings.Trim(s, `"`), "")))
}

// ParseMermaid reads the flowchart subset ivr.Mermaid writes; lines it does not know are skipped.
func ParseMermaid(src string) *FlowGraph {
	g := &FlowGraph{}
	byID := map[string]*GraphNode{}
	node := func(id string) *GraphNode {
		if n := byID[id]; n != nil {
			return n
		}
		n := &GraphNode{ID: id, Label: id, Shape: "box"}
		byID[id] = n
		g.Nodes = append(g.Nodes, n)
		return n
	}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "%%"):
			if g.Title == "" {
				g.Title = strings.TrimSpace(strings.TrimPrefix(line, "%%"))
			}
		case mmEdge.MatchString(line):
			m := mmEdge.FindStringSubmatch(line)
			n := node(m[1])
			if m[2] != "" { // a node defined in the edge: errors((any error)) -.-> n3
				if d := mmNode.FindStringSubmatch(m[1] + m[2]); d != nil {
					n.Shape, n.Label = shapes[d[2]], label(d[3])
				}
			}
			node(m[4])
			g.Edges = append(g.Edges, GraphEdge{From: m[1], To: m[4], Label: mmText(m[3]), Dashed: strings.Contains(line, "-.->")})
		case mmNode.MatchString(line):
			m := mmNode.FindStringSubmatch(line)
			n := node(m[1])
			n.Shape = shapes[m[2]]
			parts := strings.SplitN(strings.Trim(m[3], `"`), "<br/>", 2)
			n.Label = label(parts[0])
			if len(parts) == 2 {
				n.Detail = label(parts[1])
			}
		}
	}
	g.layout()
	return g
}

const (
	nodeH, layerGap, nodeGap, margin = 46.0, 44.0, 24.0, 16.0
	charW                            = 7.0
)

func textWidth(s string) float64 { return float64(utf8.RuneCountInString(s)) * charW }

// layout puts each node in the layer after its deepest predecessor (back edges of loops
// ignored), orders each layer by the mean position of its predecessors, and sizes the boxes.
func (g *FlowGraph) layout() {
	idx := map[string]int{}
	for i, n := range g.Nodes {
		idx[n.ID] = i
	}
	succ := make([][]int, len(g.Nodes))
	for _, e := range g.Edges {
		succ[idx[e.From]] = append(succ[idx[e.From]], idx[e.To])
	}
	// Depth-first order from the roots marks back edges (edges to a node on the stack).
	state := make([]int, len(g.Nodes)) // 0 new, 1 on stack, 2 done
	back := map[[2]int]bool{}
	var visit func(int)
	visit = func(v int) {
		state[v] = 1
		for _, w := range succ[v] {
			switch state[w] {
			case 0:
				visit(w)
			case 1:
				back[[2]int{v, w}] = true
			}
		}
		state[v] = 2
	}
	indeg := make([]int, len(g.Nodes))
	for _, e := range g.Edges {
		indeg[idx[e.To]]++
	}
	for i := range g.Nodes {
		if indeg[i] == 0 && state[i] == 0 {
			visit(i)
		}
	}
	for i := range g.Nodes {
		if state[i] == 0 {
			visit(i)
		}
	}
	// Longest path layering on the forward edges (a DAG now).
	layer := make([]int, len(g.Nodes))
	for changed, rounds := true, 0; changed && rounds <= len(g.Nodes); rounds++ {
		changed = false
		for v := range g.Nodes {
			for _, w := range succ[v] {
				if !back[[2]int{v, w}] && layer[w] < layer[v]+1 {
					layer[w], changed = layer[v]+1, true
				}
			}
		}
	}
	layers := map[int][]*GraphNode{}
	maxLayer := 0
	for i, n := range g.Nodes {
		n.Layer = layer[i]
		layers[n.Layer] = append(layers[n.Layer], n)
		maxLayer = max(maxLayer, n.Layer)
		n.W = max(textWidth(n.Label), textWidth(n.Detail), 40) + 24
		n.H = nodeH
		if n.Detail == "" {
			n.H = 32
		}
	}
	pred := map[*GraphNode][]*GraphNode{}
	for _, e := range g.Edges {
		if !back[[2]int{idx[e.From], idx[e.To]}] {
			pred[g.Nodes[idx[e.To]]] = append(pred[g.Nodes[idx[e.To]]], g.Nodes[idx[e.From]])
		}
	}
	width := 0.0
	for l := 0; l <= maxLayer; l++ {
		ns := layers[l]
		for i, n := range ns {
			n.Order = i
		}
		if l > 0 {
			bary := map[*GraphNode]float64{}
			for _, n := range ns {
				sum := 0.0
				for _, p := range pred[n] {
					sum += float64(p.Order)
				}
				bary[n] = float64(n.Order) + 1000 // no predecessor: keep at the end
				if len(pred[n]) > 0 {
					bary[n] = sum / float64(len(pred[n]))
				}
			}
			sort.SliceStable(ns, func(i, j int) bool { return bary[ns[i]] < bary[ns[j]] })
			for i, n := range ns {
				n.Order = i
			}
		}
		w := margin
		for _, n := range ns {
			w += n.W + nodeGap
		}
		width = max(width, w)
	}
	y := margin + 20
	for l := 0; l <= maxLayer; l++ {
		ns := layers[l]
		rowW := -nodeGap
		rowH := 0.0
		for _, n := range ns {
			rowW += n.W + nodeGap
			rowH = max(rowH, n.H)
		}
		x := (width-rowW)/2 + margin/2
		for _, n := range ns {
			n.X, n.Y = x, y+(rowH-n.H)/2
			x += n.W + nodeGap
		}
		y += rowH + layerGap
	}
}

// SVG draws the graph; all text is escaped.
func (g *FlowGraph) SVG() string {
	w, h := 200.0, 100.0
	for _, n := range g.Nodes {
		w = max(w, n.X+n.W+margin+90) // room for loops and their labels on the right
		h = max(h, n.Y+n.H+margin)
	}
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`, w, h, w, h)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>`)
	fmt.Fprintf(&b, `<title>%s</title>`, esc(g.Title))
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-weight="bold">%s</text>`, margin, esc(g.Title))
	byID := map[string]*GraphNode{}
	for _, n := range g.Nodes {
		byID[n.ID] = n
	}
	for _, e := range g.Edges {
		a, c := byID[e.From], byID[e.To]
		x1, y1 := a.X+a.W/2, a.Y+a.H
		x2, y2 := c.X+c.W/2, c.Y
		dash := ""
		if e.Dashed {
			dash = ` stroke-dasharray="4 3"`
		}
		var path string
		lx, ly, anchor := (x1+x2)/2, (y1+y2)/2+4, "middle"
		switch {
		case a == c: // a loop on itself, on the right
			x, y := a.X+a.W, a.Y+a.H/2
			path = fmt.Sprintf("M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f", x, y-8, x+36, y-26, x+36, y+26, x, y+8)
			lx, ly, anchor = x+34, y+4, "start"
		case c.Layer <= a.Layer: // back to an earlier layer: round the right side
			side := max(a.X+a.W, c.X+c.W) + 40
			x1, y1, x2, y2 = a.X+a.W, a.Y+a.H/2, c.X+c.W, c.Y+c.H/2
			path = fmt.Sprintf("M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f", x1, y1, side, y1, side, y2, x2, y2)
			lx, ly, anchor = side-8, (y1+y2)/2+4, "start"
		default:
			my := (y1 + y2) / 2
			path = fmt.Sprintf("M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f", x1, y1, x1, my, x2, my, x2, y2)
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#555"%s marker-end="url(#arrow)"/>`, path, dash)
		if e.Label != "" {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="#333" stroke="#fff" stroke-width="3" paint-order="stroke">%s</text>`, lx, ly, anchor, esc(e.Label))
		}
	}
	for _, n := range g.Nodes {
		fill := map[string]string{"circle": "#e8e8e8", "menu": "#fff4d6", "decision": "#e7f0ff", "store": "#e6f6ea", "sub": "#f1e8ff", "box": "#ffffff"}[n.Shape]
		rx := map[string]float64{"circle": n.H / 2, "store": 10, "menu": 14, "decision": 4}[n.Shape]
		fmt.Fprintf(&b, `<g class="node node-%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="%.1f" fill="%s" stroke="#666"/>`,
			esc(n.Shape), n.X, n.Y, n.W, n.H, rx, fill)
		cx := n.X + n.W/2
		if n.Detail == "" {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`, cx, n.Y+20, esc(n.Label))
		} else {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold">%s</text>`, cx, n.Y+18, esc(n.Label))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555" font-style="italic">%s</text>`, cx, n.Y+35, esc(n.Detail))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
