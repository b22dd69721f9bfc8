package ivr

import (
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// QueueRule is a queue's priority rule from the configuration file
// (queues[].priority[].when): an expression over what a flow hands the queue as the caller
// joins (Enqueue's Vars). CheckQueueRules type-checks it like a flow's expressions.
type QueueRule struct {
	Queue string
	Key   string // where the configuration holds it: queues[0].priority[1].when
	Src   string
	File  string // the configuration file
	Line  int    // where Src starts in File (1-based)
	Col   int
}

// queueRuleVars is what a flow hands a queue besides its own variables (run.publicVars).
var queueRuleVars = map[string]varType{"vip": typBool, "customer_id": typString}

// QueueRuleEnv describes what a queue's priority rule can read: the call's built-in
// variables (not customer: vip and customer_id stand for it), and every variable the flows
// of set declare or set, except sensitive ones, which are never handed to a queue. A
// variable two flows give different types is of any type.
func QueueRuleEnv(set *Set) (env types.Map, sensitive map[string]bool) {
	env, sensitive = types.Map{}, map[string]bool{}
	for k, b := range builtinVars {
		if k != "customer" {
			env[k] = b.typ.expr()
		}
	}
	for k, t := range queueRuleVars {
		env[k] = t.expr()
	}
	typ := map[string]varType{} // the flows' variables
	if set != nil {
		for _, name := range set.names {
			for k, v := range set.flows[name].vars {
				if _, builtin := env[k]; builtin {
					continue
				}
				if v.sensitive {
					sensitive[k] = true
					continue
				}
				if t, seen := typ[k]; seen && t != v.typ {
					typ[k] = typAny
				} else {
					typ[k] = v.typ
				}
			}
		}
	}
	for k, t := range typ {
		if !sensitive[k] {
			env[k] = t.expr()
		}
	}
	for k := range sensitive {
		delete(env, k)
	}
	return env, sensitive
}

// CheckQueueRules compiles every rule against what the flows of set hand a queue
// (QueueRuleEnv), as a condition (true or false). It returns the programs, one per rule
// (nil for a rule with problems), and the problems as Diagnostics at the rule's place in
// the configuration file: a variable no flow has (with the nearest name), a sensitive
// variable, a type error, a rule that is not true or false.
func CheckQueueRules(set *Set, rules []QueueRule) ([]*vm.Program, Diagnostics) {
	env, sensitive := QueueRuleEnv(set)
	var names []string
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	progs := make([]*vm.Program, len(rules))
	var diags Diagnostics
	for i, r := range rules {
		comp, msg, off := compileExpr(r.Src, env, true)
		if msg == "" {
			progs[i] = comp.prog
			continue
		}
		line, col := r.Line, r.Col+off
		if strings.Contains(r.Src, "\n") {
			line, col = r.Line, r.Col
		}
		if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
			name, _, _ = strings.Cut(name, " ")
			switch {
			case sensitive[name]:
				msg = fmt.Sprintf("variable %s is sensitive: flows never hand it to a queue, so a priority rule cannot read it", name)
			default:
				msg = fmt.Sprintf("unknown variable %s: a priority rule reads the call's variables (%s) and the flows' own%s",
					name, strings.Join(builtinQueueNames(), ", "), suggest(name, names))
			}
		}
		if line < 1 {
			line = 1
		}
		if col < 1 {
			col = 1
		}
		diags = append(diags, Diagnostic{File: r.File, Line: line, Col: col, Msg: fmt.Sprintf("%s: %s (in %q)", r.Key, msg, r.Src)})
	}
	return progs, diags.sorted()
}

func builtinQueueNames() []string {
	var out []string
	for k := range builtinVars {
		if k != "customer" {
			out = append(out, k)
		}
	}
	for k := range queueRuleVars {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
