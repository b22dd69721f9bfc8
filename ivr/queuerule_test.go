package ivr_test

import (
	"strings"
	"testing"

	"github.com/expr-lang/expr"

	"github.com/hotline-cc/hotline/ivr"
)

// A queue's priority rule is checked like a flow's expressions, against what flows hand a
// queue: a misspelt variable, a sensitive one, a type error and a rule that is not true or
// false are refused at the rule's place in the configuration file, column by column.
func TestCheckQueueRules(t *testing.T) {
	set, d := ivr.Compile(testCatalog(t), ivr.Source{File: "main.yaml", Data: []byte(`
start: account
vars:
  tier: gold
nodes:
  account:
    input:
      prompt: Enter your account number.
      into: account
      min: 4
      max: 8
      sensitive: true
    on:
      next: bye
  bye:
    hangup: {}
`)})
	if len(d) > 0 {
		t.Fatalf("flow does not check:\n%s", d.Error())
	}
	rules := []ivr.QueueRule{
		{Queue: "support", Key: "queues[0].priority[0].when", Src: `vip && tier == "gold"`, File: "hotline.yaml", Line: 10, Col: 15},
		{Queue: "support", Key: "queues[0].priority[1].when", Src: `teir == "gold"`, File: "hotline.yaml", Line: 12, Col: 15},
		{Queue: "support", Key: "queues[0].priority[2].when", Src: `account == "1234"`, File: "hotline.yaml", Line: 14, Col: 15},
		{Queue: "support", Key: "queues[0].priority[3].when", Src: `waited > "5m"`, File: "hotline.yaml", Line: 16, Col: 16},
		{Queue: "support", Key: "queues[0].priority[4].when", Src: `tier`, File: "hotline.yaml", Line: 18, Col: 15},
		{Queue: "support", Key: "queues[0].priority[5].when", Src: `customer.vip`, File: "hotline.yaml", Line: 20, Col: 15},
	}
	progs, diags := ivr.CheckQueueRules(set, rules)
	want := []string{
		`hotline.yaml:12:15: queues[0].priority[1].when: unknown variable teir: `,
		`hotline.yaml:14:15: queues[0].priority[2].when: variable account is sensitive: flows never hand it to a queue`,
		`hotline.yaml:16:23: queues[0].priority[3].when: invalid operation: > (mismatched types time.Duration and string)`,
		`hotline.yaml:18:15: queues[0].priority[4].when: this must be true or false, but it is string`,
		`hotline.yaml:20:15: queues[0].priority[5].when: unknown variable customer: `,
	}
	if len(diags) != len(want) {
		t.Fatalf("diagnostics:\n%s\nwant %d", diags.Error(), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(diags[i].String(), w) {
			t.Errorf("diagnostic %d:\n  %s\nwant it to start\n  %s", i, diags[i], w)
		}
	}
	if !strings.Contains(diags[0].Msg, `did you mean "tier"?`) {
		t.Errorf("no suggestion for the misspelt variable: %s", diags[0].Msg)
	}
	if progs[0] == nil || progs[1] != nil {
		t.Fatalf("programs: %v", progs)
	}
	// The good rule runs on what a flow hands the queue.
	for _, c := range []struct {
		vars map[string]any
		want bool
	}{
		{map[string]any{"vip": true, "tier": "gold"}, true},
		{map[string]any{"vip": true, "tier": "silver"}, false},
		{map[string]any{"vip": false, "tier": "gold"}, false},
	} {
		if got, err := expr.Run(progs[0], c.vars); err != nil || got != c.want {
			t.Errorf("rule on %v: %v %v, want %v", c.vars, got, err, c.want)
		}
	}
	// From a flow without tier the rule does not hold (the center takes an error as no match).
	if got, _ := expr.Run(progs[0], map[string]any{"vip": true}); got == true {
		t.Error("the rule holds for a call whose flow has no tier")
	}
}
