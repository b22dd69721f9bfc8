package ivr

import (
	"fmt"
	"strings"
)

// Mermaid draws a flow as a Mermaid flowchart: one box per node (shaped by what it does),
// one arrow per wired exit, labelled with the exit.
func Mermaid(f *Flow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "flowchart TD\n  %%%% flow %s (%s)\n", f.Name, f.File)
	id := map[string]string{}
	for i, n := range f.nodes {
		id[n.ID] = fmt.Sprintf("n%d", i)
	}
	b.WriteString("  start((start))\n")
	for _, n := range f.nodes {
		label := mermaidText(n.ID) + "<br/><i>" + mermaidText(n.Summary()) + "</i>"
		open, close := mermaidShape(n.Kind)
		fmt.Fprintf(&b, "  %s%s\"%s\"%s\n", id[n.ID], open, label, close)
	}
	if s, ok := id[f.Start]; ok {
		fmt.Fprintf(&b, "  start --> %s\n", s)
	}
	gotos := map[string]bool{}
	for _, n := range f.nodes {
		for _, e := range n.exits {
			if t, ok := id[e.target]; ok {
				fmt.Fprintf(&b, "  %s -- \"%s\" --> %s\n", id[n.ID], mermaidText(e.name), t)
			}
		}
		if g := n.Goto(); g != "" {
			gid := "flow_" + safeID(g)
			if !gotos[g] {
				gotos[g] = true
				fmt.Fprintf(&b, "  %s[[\"flow %s\"]]\n", gid, mermaidText(g))
			}
			fmt.Fprintf(&b, "  %s --> %s\n", id[n.ID], gid)
		}
	}
	if f.OnError != "" {
		if t, ok := id[f.OnError]; ok {
			fmt.Fprintf(&b, "  errors((any error)) -.-> %s\n", t)
		}
	}
	return b.String()
}

func mermaidShape(kind string) (string, string) {
	switch kind {
	case "menu", "input", "survey":
		return "{{", "}}"
	case "branch", "switch", "hours":
		return "{", "}"
	case "queue", "voicemail", "callback", "transfer":
		return "[(", ")]"
	case "hangup":
		return "((", "))"
	case "goto":
		return "[[", "]]"
	}
	return "[", "]"
}

func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "\n", " ").Replace(s)
}

// DOT draws a flow for Graphviz.
func DOT(f *Flow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n  label=%s;\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
		dotQuote(f.Name), dotQuote("flow "+f.Name+" ("+f.File+")"))
	b.WriteString("  \"(start)\" [shape=circle, label=\"start\"];\n")
	for _, n := range f.nodes {
		fmt.Fprintf(&b, "  %s [label=%s, shape=%s];\n", dotQuote(n.ID), dotQuote(n.ID+"\n"+n.Summary()), dotShape(n.Kind))
	}
	if f.byID[f.Start] != nil {
		fmt.Fprintf(&b, "  \"(start)\" -> %s;\n", dotQuote(f.Start))
	}
	for _, n := range f.nodes {
		for _, e := range n.exits {
			if f.byID[e.target] != nil {
				fmt.Fprintf(&b, "  %s -> %s [label=%s];\n", dotQuote(n.ID), dotQuote(e.target), dotQuote(e.name))
			}
		}
		if g := n.Goto(); g != "" {
			fmt.Fprintf(&b, "  %s [shape=component];\n  %s -> %s;\n", dotQuote("flow "+g), dotQuote(n.ID), dotQuote("flow "+g))
		}
	}
	if f.byID[f.OnError] != nil {
		fmt.Fprintf(&b, "  \"(any error)\" [shape=circle];\n  \"(any error)\" -> %s [style=dashed];\n", dotQuote(f.OnError))
	}
	b.WriteString("}\n")
	return b.String()
}

func dotShape(kind string) string {
	switch kind {
	case "menu", "input", "survey":
		return "hexagon"
	case "branch", "switch", "hours":
		return "diamond"
	case "queue", "voicemail", "callback", "transfer":
		return "cylinder"
	case "hangup":
		return "doublecircle"
	case "goto":
		return "component"
	}
	return "box"
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
