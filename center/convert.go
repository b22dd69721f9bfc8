package center

import (
	"errors"
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
)

// acdConfig maps the configuration file's queues and agents onto the distributor's.
func acdConfig(cfg config.Config) acd.Config {
	out := acd.Config{MaxMisses: cfg.ACD.MaxMisses}
	for _, q := range cfg.Queues {
		aq := acd.QueueConfig{
			Name: q.Name, Strategy: acd.Strategy(q.Strategy), Skills: q.Skills,
			MaxWait: q.MaxWait.D(), ServiceLevel: q.ServiceLevel.D(), ShortAbandon: q.ShortAbandon.D(),
			RingTimeout: q.RingTimeout.D(), WrapUp: q.WrapUp.D(), AnnounceInterval: q.AnnounceEvery.D(),
			MusicOnHold: q.MusicOnHold,
			Callback:    acd.CallbackPolicy{After: q.CallbackAfter.D()},
		}
		if aq.Strategy == "skills" {
			aq.Strategy = acd.SkillsBased
		}
		for _, r := range q.Priority {
			if r.After > 0 {
				aq.PriorityRules = append(aq.PriorityRules, acd.PriorityRule{After: r.After.D(), Priority: r.Priority})
			}
		}
		if q.OverflowTo != "" {
			aq.Overflow = acd.Overflow{Queue: q.OverflowTo, After: q.OverflowAfter.D()}
		}
		out.Queues = append(out.Queues, aq)
	}
	for _, a := range cfg.Agents {
		out.Agents = append(out.Agents, acd.AgentConfig{
			// auto_login means "when the phone registers": the center logs the agent in then,
			// so the distributor must not log them in at start-up before any phone exists.
			ID: a.ID, Name: a.Name, Skills: a.Skills, Queues: a.Queues,
		})
	}
	return out
}

// joinRule is a compiled `when` priority rule.
type joinRule struct {
	prog     *vm.Program
	priority int
}

// joinRules compiles every queue's `when` rules; an error names the key.
func joinRules(cfg config.Config) (map[string][]joinRule, error) {
	out := map[string][]joinRule{}
	var errs []error
	for i, q := range cfg.Queues {
		for j, r := range q.Priority {
			if r.When == "" {
				continue
			}
			prog, err := expr.Compile(r.When, expr.AsBool(), expr.AllowUndefinedVariables())
			if err != nil {
				errs = append(errs, &config.FieldError{Key: fmt.Sprintf("queues[%d].priority[%d].when", i, j), Msg: err.Error()})
				continue
			}
			out[q.Name] = append(out[q.Name], joinRule{prog, r.Priority})
		}
	}
	return out, errors.Join(errs...)
}

// priority is the highest of the flow's priority and the queue's matching rules.
func priority(rules []joinRule, base int, vars map[string]any) int {
	p := base
	for _, r := range rules {
		if ok, err := expr.Run(r.prog, vars); err == nil && ok == true && r.priority > p {
			p = r.priority
		}
	}
	return p
}
