package center

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/ivr"
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
	cat := &ivr.Catalog{Prompts: prompts, Transfer: cfg.Transfer.Allowed}
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
	o.Rules = ReportRules(cfg)
	o.Members = map[string][]string{}
	for _, a := range cfg.Agents {
		o.Members[a.ID] = a.Queues
	}
	return o
}
