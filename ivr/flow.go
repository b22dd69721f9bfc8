package ivr

import (
	"sort"
	"time"
)

// Set is one consistent version of a group of flows, checked together so that a goto from
// one flow to another always lands in the same version. A Set never changes; a reload makes
// a new one, and calls in progress keep the Set (and so the flows) they started with.
type Set struct {
	flows map[string]*Flow
	names []string
	diags Diagnostics // nil when clean
}

// Flow returns the flow of this name, or nil.
func (s *Set) Flow(name string) *Flow {
	if s == nil {
		return nil
	}
	return s.flows[name]
}

// Names lists the flows, sorted.
func (s *Set) Names() []string { return append([]string(nil), s.names...) }

// Flow is one checked, compiled flow file. It is immutable and safe to run on many calls.
type Flow struct {
	Name        string // the file's base name without .yaml
	File        string // as given to Compile, for messages
	Description string
	Version     string // first 12 hex digits of the SHA-256 of the file
	Language    string // the call's language until a language step changes it
	Start       string
	OnError     string // node taken by an error exit with no target of its own ("" = end the call)

	nodes []*Node
	byID  map[string]*Node

	langLine, langCol int // of the language: key's value
	vars              map[string]*varInfo
	order             []string // user variables, declaration order
	set               *Set
}

// Nodes lists the flow's nodes in file order.
func (f *Flow) Nodes() []*Node { return append([]*Node(nil), f.nodes...) }

// Node returns the node of this ID, or nil.
func (f *Flow) Node(id string) *Node { return f.byID[id] }

// Node is one step of a flow, with its exits.
type Node struct {
	ID   string
	Kind string // the step: say, menu, queue ...
	Line int
	Col  int

	flow  *Flow
	step  step
	exits []*exit
}

// Exit is a typed way out of a node and the node it leads to.
type Exit struct {
	Name   string // next, digit:1, timeout, open ...
	Target string // node ID in the same flow
}

// Exits lists the node's wired exits in the order they were written.
func (n *Node) Exits() []Exit {
	out := make([]Exit, 0, len(n.exits))
	for _, e := range n.exits {
		out = append(out, Exit{e.name, e.target})
	}
	return out
}

// Goto is the flow a goto node jumps to ("" for other steps).
func (n *Node) Goto() string {
	if g, ok := n.step.(*gotoStep); ok {
		return g.flow
	}
	return ""
}

// Summary is a short description of what the node does, for graphs.
func (n *Node) Summary() string { return n.step.summary() }

type exit struct {
	name        string
	target      string
	line, col   int // of the exit's name
	tline, tcol int // of the target
}

func (n *Node) target(exitName string) string {
	for _, e := range n.exits {
		if e.name == exitName {
			return e.target
		}
	}
	return ""
}

type step interface {
	// exits says which exit names the step has; pattern exits (digit:, case:) are checked by valid.
	exits() exitSpec
	// check compiles expressions and resolves names against the catalog.
	check(c *checker, n *Node)
	// run performs the step on a call and names the exit taken.
	run(r *run, n *Node) (string, error)
	summary() string
}

type exitSpec struct {
	fixed    []string
	prefixes []string // "digit:" or "case:"
	waits    bool     // the step listens to the caller or lets time pass (loop check)
}

// StepKinds lists the step names a flow may use, sorted.
func StepKinds() []string {
	names := make([]string, 0, len(stepParsers))
	for k := range stepParsers {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Defaults the language documents.
const (
	defaultMenuTimeout    = 5 * time.Second
	defaultInterTimeout   = 3 * time.Second
	defaultRetries        = 2
	defaultWebhookTimeout = 5 * time.Second
	defaultVoicemailMax   = 2 * time.Minute
	defaultTransferRing   = 30 * time.Second
	maxNodesPerCall       = 1000
)
