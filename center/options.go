package center

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/conversation"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/journey"
	"github.com/hotline-cc/hotline/prompts"
	"github.com/hotline-cc/hotline/reports"
	"github.com/hotline-cc/hotline/schedule"
)

// This file is where the configuration file stops: it maps config.Config onto each
// package's own Config and options, so that no package but this one (and the command) reads
// the file's types.

// PromptsConfig is the prompts section, for prompts.New.
func PromptsConfig(cfg config.Config) prompts.Config {
	return prompts.Config{Dir: cfg.Prompts.Dir, CacheDir: cfg.Prompts.CacheDir, Espeak: cfg.Prompts.Espeak, Voices: cfg.Prompts.Voices}
}

// StoreConfig is the customer store the configuration describes: store.dsn and data_dir,
// the recordings directory and retention, redis.addr for shared rate limits, the callbacks
// policy, each queue's schedule, and webhook events when webhooks.url is set.
func StoreConfig(cfg config.Config) (customers.Config, error) {
	policy, err := CallbackPolicy(cfg.Callbacks)
	if err != nil {
		return customers.Config{}, err
	}
	sched := map[string]schedule.Schedule{}
	for _, q := range cfg.Queues {
		if q.Schedule != "" {
			sched[q.Name] = cfg.Schedules[q.Schedule]
		}
	}
	dir := cfg.Recordings.Dir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "recordings")
	}
	return customers.Config{
		DSN: cfg.Store.DSN, DataDir: cfg.DataDir, RecordingsDir: dir, RedisAddr: cfg.Redis.Addr,
		Callbacks: &policy, Schedules: sched,
		Retention:     time.Duration(cfg.Recordings.RetentionDays) * 24 * time.Hour,
		WebhookEvents: cfg.Webhooks.URL != "",
		WorkDue:       time.Duration(cfg.Worklist.DueWithin),
		Node:          cfg.Cluster.Node,
	}, nil
}

// OpenStore opens the customer store the configuration describes (StoreConfig); opts are
// applied after it.
func OpenStore(ctx context.Context, cfg config.Config, opts ...customers.Option) (*customers.Store, error) {
	sc, err := StoreConfig(cfg)
	if err != nil {
		return nil, err
	}
	return customers.Open(ctx, sc, opts...)
}

// CallbackPolicy reads the callbacks section: number ranges, rate limits, attempts.
func CallbackPolicy(c config.Callbacks) (customers.CallbackPolicy, error) {
	pn, err := rate(c.PerNumberLimit)
	if err != nil {
		return customers.CallbackPolicy{}, fmt.Errorf("callbacks.per_number_limit: %w", err)
	}
	pc, err := rate(c.PerCallerLimit)
	if err != nil {
		return customers.CallbackPolicy{}, fmt.Errorf("callbacks.per_caller_limit: %w", err)
	}
	return customers.CallbackPolicy{
		Region: c.DefaultRegion, Allowed: c.AllowedPrefixes, Denied: c.DeniedPrefixes,
		PerNumber: pn, PerCaller: pc, MaxAttempts: max(c.MaxAttempts, 1), Backoff: c.RetryBackoff.D(),
	}, nil
}

// rate reads a limit like "3/h"; "" is no limit.
func rate(s string) (customers.Rate, error) {
	if s == "" {
		return customers.Rate{}, nil
	}
	n, per, err := config.ParseRate(s)
	return customers.Rate{Count: n, Per: per}, err
}

// newDeliverer is the webhook deliverer the webhooks section describes, or nil when no URL
// is set (then the store queues no events either).
func newDeliverer(s *customers.Store, c config.Webhooks, opts ...customers.DelivererOption) *customers.Deliverer {
	if c.URL == "" {
		return nil
	}
	if c.Timeout > 0 {
		opts = append([]customers.DelivererOption{customers.WithDeliveryTimeout(c.Timeout.D())}, opts...)
	}
	return customers.NewDeliverer(s, c.URL, c.Secret, opts...)
}

// FlowCatalog is what the configuration offers flows: its queues, schedules, voices (the
// languages) and transfer allow-list, with prompt names from prompts. A schedule that does
// not compile is left out and named in the error (schedules.office.weekly.mon[0]).
func FlowCatalog(cfg config.Config, prompts ivr.PromptNames) (*ivr.Catalog, error) {
	cat := &ivr.Catalog{Prompts: prompts, Transfer: cfg.Transfer.Allowed, QueueRules: queueRules(cfg)}
	for _, q := range cfg.Queues {
		cat.Queues = append(cat.Queues, q.Name)
	}
	var err error
	cat.Schedules, err = cfg.CompileSchedules()
	for lang := range cfg.Prompts.Voices {
		cat.Languages = append(cat.Languages, lang)
	}
	sort.Strings(cat.Languages)
	return cat, err
}

// FlowsConfig is which flows run and where calls enter them, for ivr.OpenFlows.
func FlowsConfig(cfg config.Config) ivr.Config {
	return ivr.Config{Dir: cfg.Flows.Dir, Entry: cfg.Flows.Entry, DefaultEntry: cfg.SIP.DefaultEntry, Routes: cfg.Flows.Routes}
}

// LoadFlowCatalog reads the configuration file at path ("" = the sample configuration) for
// `hotline flow`: the catalog flows are checked against, and flows.dir. It is a
// flowcli.Loader.
func LoadFlowCatalog(path string) (*ivr.Catalog, string, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, "", err
	}
	cat, err := FlowCatalog(cfg, prompts.New(PromptsConfig(cfg), cfg.DataDir))
	return cat, cfg.Flows.Dir, err
}

// ReportRules are every configured queue's report thresholds, with the ACD's defaults.
func ReportRules(cfg config.Config) map[string]reports.Rules {
	in := map[string]reports.Rules{}
	for _, q := range cfg.Queues {
		in[q.Name] = reports.Rules{ServiceLevel: q.ServiceLevel.D(), ShortAbandon: q.ShortAbandon.D(), WrapUp: q.WrapUp.D()}
	}
	return reports.QueueRules(in)
}

// dashboardOptions fills in o what the dashboard takes from the configuration: data_dir,
// http.public_url and http.addr, the queues' report rules and the agents' queues.
func dashboardOptions(cfg config.Config, o dashboard.Options) dashboard.Options {
	o.DataDir, o.PublicURL, o.Addr = cfg.DataDir, cfg.HTTP.PublicURL, cfg.HTTP.Addr
	o.SharedTokens = cfg.Cluster.Shared
	o.Rules = ReportRules(cfg)
	o.Members = map[string][]string{}
	for _, a := range cfg.Agents {
		o.Members[a.ID] = a.Queues
	}
	for _, s := range cfg.Supervisors {
		o.Supervisors = append(o.Supervisors, s.ID)
	}
	o.HideMonitorFromAgents = !cfg.Monitoring.Visible()
	o.Dispositions = map[string][]string{}
	for _, q := range cfg.Queues {
		o.Dispositions[q.Name] = q.Dispositions
	}
	if len(cfg.Desk.STUN) > 0 {
		o.ICEServers = append(o.ICEServers, dashboard.ICEServer{URLs: cfg.Desk.STUN})
	}
	if t := cfg.Desk.TURN; len(t.URLs) > 0 {
		o.ICEServers = append(o.ICEServers, dashboard.ICEServer{URLs: t.URLs, Username: t.Username, Credential: t.Credential})
	}
	return o
}

// isAgent says whether an ID is a configured agent's.
func isAgent(cfg config.Config) func(string) bool {
	ids := map[string]bool{}
	for _, a := range cfg.Agents {
		ids[a.ID] = true
	}
	return func(id string) bool { return ids[id] }
}

// ACDConfig maps the configuration file's queues and agents onto the distributor's: what
// every node of a site must agree on (cluster.Config.ACD).
func ACDConfig(cfg config.Config) acd.Config {
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

// queueRules are every queue's `when` rules, where the file has them.
func queueRules(cfg config.Config) []ivr.QueueRule {
	var out []ivr.QueueRule
	for i, q := range cfg.Queues {
		for j, r := range q.Priority {
			if r.When == "" {
				continue
			}
			out = append(out, ivr.QueueRule{Queue: q.Name, Key: fmt.Sprintf("queues[%d].priority[%d].when", i, j), Src: r.When,
				File: r.WhenAt.File, Line: r.WhenAt.Line, Col: r.WhenAt.Col})
		}
	}
	return out
}

// joinRules type-checks and compiles every queue's `when` rules against what the flows of
// set hand a queue, as flow expressions are checked: the error is ivr.Diagnostics at
// file:line:col of the expression.
func joinRules(cfg config.Config, set *ivr.Set) (map[string][]joinRule, error) {
	rules := queueRules(cfg)
	progs, diags := ivr.CheckQueueRules(set, rules)
	if len(diags) > 0 {
		return nil, fmt.Errorf("queue priority rules are not valid:\n%w", diags)
	}
	out := map[string][]joinRule{}
	i := 0
	for _, q := range cfg.Queues {
		for _, r := range q.Priority {
			if r.When == "" {
				continue
			}
			out[q.Name] = append(out[q.Name], joinRule{progs[i], r.Priority})
			i++
		}
	}
	return out, nil
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

// queuePolicies is what each queue says about recording its callers.
func queuePolicies(cfg config.Config) map[string]journey.QueuePolicy {
	out := map[string]journey.QueuePolicy{}
	for _, q := range cfg.Queues {
		out[q.Name] = journey.QueuePolicy{ShortAbandon: q.ShortAbandon.D(), AutoCallbackAbandons: q.AutoCallbackAbandons}
	}
	return out
}

// musicOnHold is each queue's hold music prompt ("" = the shipped hold-music).
func musicOnHold(cfg config.Config) map[string]string {
	out := map[string]string{}
	for _, q := range cfg.Queues {
		out[q.Name] = q.MusicOnHold
	}
	return out
}

// autoLogin lists the agents logged in when their phone registers.
func autoLogin(cfg config.Config) map[string]bool {
	out := map[string]bool{}
	for _, a := range cfg.Agents {
		out[a.ID] = a.AutoLogin
	}
	return out
}

// dialPlan is what agents can transfer a caller to: agents by ID, queues by name or extension.
func dialPlan(cfg config.Config) conversation.DialPlan {
	p := conversation.DialPlan{Agents: map[string]bool{}, Queues: map[string]bool{}, Extensions: map[string]string{}}
	for _, a := range cfg.Agents {
		p.Agents[a.ID] = true
	}
	for _, q := range cfg.Queues {
		p.Queues[q.Name] = true
		if q.Extension != "" {
			p.Extensions[q.Extension] = q.Name
		}
	}
	return p
}

// keepArrival says whether a caller transferred to a queue keeps their original arrival.
func keepArrival(cfg config.Config) func(queue string) bool {
	newArrival := map[string]bool{}
	for _, q := range cfg.Queues {
		newArrival[q.Name] = q.TransferNewArrival
	}
	return func(queue string) bool { return !newArrival[queue] }
}
