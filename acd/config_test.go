package acd

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/fakeclock"
)

func TestValidateNamesTheQueueOrAgentAndTheField(t *testing.T) {
	good := func() Config {
		return Config{
			Queues: []QueueConfig{{Name: "sales", Skills: []string{"en"}}, {Name: "support"}},
			Agents: []AgentConfig{{ID: "ann", Queues: []string{"sales"}, Skills: map[string]int{"en": 3}}},
		}
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("good config rejected: %v", err)
	}
	for _, tc := range []struct {
		name   string
		break_ func(*Config)
		want   string
	}{
		{"no queues", func(c *Config) { c.Queues = nil }, "queues: at least one queue is required"},
		{"empty name", func(c *Config) { c.Queues[1].Name = "" }, "queues[1]: name: must not be empty"},
		{"duplicate", func(c *Config) { c.Queues[1].Name = "sales" }, `queues[1] "sales": name: duplicate`},
		{"strategy", func(c *Config) { c.Queues[0].Strategy = "fastest" }, `queues[0] "sales".strategy: unknown strategy "fastest"; want one of`},
		{"negative", func(c *Config) { c.Queues[1].RingTimeout = -time.Second }, `queues[1] "support".ring_timeout: must not be negative, got -1s`},
		{"overflow target", func(c *Config) { c.Queues[0].Overflow = Overflow{Queue: "nowhere", After: time.Minute} }, `queues[0] "sales".overflow.queue: unknown queue "nowhere"`},
		{"overflow self", func(c *Config) { c.Queues[0].Overflow = Overflow{Queue: "sales", After: time.Minute} }, "cannot overflow to itself"},
		{"overflow no time", func(c *Config) { c.Queues[0].Overflow = Overflow{Queue: "support"} }, `queues[0] "sales".overflow.after: must be positive`},
		{"overflow loop", func(c *Config) {
			c.Queues[0].Overflow = Overflow{Queue: "support", After: time.Minute}
			c.Queues[1].Overflow = Overflow{Queue: "sales", After: time.Minute}
		}, `overflow chain from "sales" loops back to "sales"`},
		{"rule", func(c *Config) { c.Queues[1].PriorityRules = []PriorityRule{{Priority: 3}} }, `queues[1] "support".priority_rules[0].after: must be positive`},
		{"agent id", func(c *Config) { c.Agents[0].ID = "" }, "agents[0]: id: must not be empty"},
		{"agent queue", func(c *Config) { c.Agents[0].Queues = []string{"sales", "billing"} }, `agents[0] "ann".queues[1]: unknown queue "billing"`},
		{"agent no queue", func(c *Config) { c.Agents[0].Queues = nil }, `agents[0] "ann".queues: at least one queue is required`},
		{"proficiency", func(c *Config) { c.Agents[0].Skills["en"] = 7 }, `agents[0] "ann".skills["en"]: proficiency must be 1 to 5, got 7`},
		{"missing skill", func(c *Config) { c.Agents[0].Skills = map[string]int{"fr": 2} }, `agents[0] "ann".queues[0]: agent lacks skill "en" required by queue "sales"`},
		{"max misses", func(c *Config) { c.MaxMisses = -3 }, "max_misses: must be -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.break_(&c)
			err := c.Validate()
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("want ErrInvalidConfig, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\ndoes not say %q", err, tc.want)
			}
			if _, err := New(c, fakeclock.New(t0)); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}

func TestZeroFieldsTakeDefaultsAndAutoLoginLogsIn(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{{Name: "q"}},
		Agents: []AgentConfig{{ID: "a1", Queues: []string{"q"}, AutoLogin: true}, {ID: "a2", Queues: []string{"q"}}},
	}
	r := newRig(t, cfg)
	r.wantState("a1", Available)
	r.wantState("a2", LoggedOut)
	o := offersIn(r.enqueue("c1", "q"))
	if len(o) != 1 || o[0].RingTimeout != DefaultRingTimeout {
		t.Fatalf("offers %v", o)
	}
	if _, err := New(cfg, nil, WithWindows(0)); err == nil {
		t.Fatal("a zero window must be refused")
	}
}
