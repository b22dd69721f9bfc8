package acd

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Strategy says which free agent a queue's caller is offered to.
type Strategy string

// Routing strategies.
const (
	// LongestIdle offers to the agent available for the longest time (the default).
	LongestIdle Strategy = "longest-idle"
	// RoundRobin offers to the next free agent after the last one offered, in the queue's
	// member order, which is the order of Config.Agents (round robin with memory).
	RoundRobin Strategy = "round-robin"
	// FewestCalls offers to the agent who answered the fewest calls since logging in, then
	// longest idle.
	FewestCalls Strategy = "fewest-calls"
	// LeastTalkTime offers to the agent with the least talk time since logging in, then
	// longest idle.
	LeastTalkTime Strategy = "least-talk-time"
	// Random offers to a free agent drawn from the distributor's Rand (WithRand).
	Random Strategy = "random"
	// RingAll rings every free eligible agent at once; the first to answer takes the call.
	RingAll Strategy = "ring-all"
	// SkillsBased offers to the agent with the best proficiency for the call's required skills
	// (sum of proficiencies), then longest idle.
	SkillsBased Strategy = "skills-based"
)

var strategies = []Strategy{LongestIdle, RoundRobin, FewestCalls, LeastTalkTime, Random, RingAll, SkillsBased}

// PriorityRule raises a waiting contact's priority with time: once it has waited After (from its
// original arrival), its priority is at least Priority. Rules age low-priority callers so that a
// stream of VIPs cannot starve them.
type PriorityRule struct {
	After    time.Duration `yaml:"after"`
	Priority int           `yaml:"priority"`
}

// Overflow moves a contact that has waited After in this queue to Queue, keeping its original
// arrival time and priority.
type Overflow struct {
	Queue string        `yaml:"queue"`
	After time.Duration `yaml:"after"`
}

// CallbackPolicy says when a waiting caller is offered a callback (an OfferCallback action).
type CallbackPolicy struct {
	// After is the time in the queue after which the first offer is due; 0 never offers.
	After time.Duration `yaml:"after"`
	// MinEstimatedWait skips an offer while the estimated wait is below it (0: always offer).
	MinEstimatedWait time.Duration `yaml:"min_estimated_wait"`
	// Repeat checks again every Repeat after the first check; 0 checks once.
	Repeat time.Duration `yaml:"repeat"`
}

// QueueConfig is one queue. Zero durations take the documented defaults.
type QueueConfig struct {
	Name     string   `yaml:"name"`
	Strategy Strategy `yaml:"strategy"` // default longest-idle
	// Skills every agent offered this queue's calls must have (a call may add more).
	Skills        []string       `yaml:"skills"`
	PriorityRules []PriorityRule `yaml:"priority_rules"`
	// MaxWait is the longest a caller stays in this queue before a Timeout action; 0 = no limit.
	// It does not apply to callbacks.
	MaxWait time.Duration `yaml:"max_wait"`
	// ServiceLevel is the target answer time T of the service-level KPI (default 20s).
	ServiceLevel time.Duration `yaml:"service_level"`
	// ShortAbandon is the threshold S under which an abandon is short (default 5s).
	ShortAbandon time.Duration `yaml:"short_abandon"`
	Overflow     Overflow      `yaml:"overflow"`
	// RingTimeout is how long an agent is rung before the offer counts as no-answer (default 15s).
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// RetryDelay is how long an agent who missed a caller is skipped for that caller (default 5s).
	RetryDelay time.Duration `yaml:"retry_delay"`
	// WrapUp is the after-call work time of calls handled from this queue; 0 = none.
	WrapUp time.Duration `yaml:"wrap_up"`
	// AnnounceInterval is the period of position/estimated-wait announcements; 0 = none.
	AnnounceInterval time.Duration  `yaml:"announce_interval"`
	MusicOnHold      string         `yaml:"music_on_hold"`
	Callback         CallbackPolicy `yaml:"callback"`
	// DefaultHandleTime seeds the wait estimate until calls have been handled (default 3m).
	DefaultHandleTime time.Duration `yaml:"default_handle_time"`
}

// AgentConfig is one agent.
type AgentConfig struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Skills maps a skill to a proficiency from 1 (lowest) to 5 (highest).
	Skills map[string]int `yaml:"skills"`
	// Queues the agent may log into. (Round-robin takes a queue's members in the order of
	// Config.Agents.)
	Queues    []string `yaml:"queues"`
	AutoLogin bool     `yaml:"auto_login"`
}

// Config is the whole distributor configuration.
type Config struct {
	Queues []QueueConfig `yaml:"queues"`
	Agents []AgentConfig `yaml:"agents"`
	// MaxMisses pauses an agent with reason "no-answer" after that many consecutive missed
	// offers (no answer, busy, rejected or unreachable). 0 means the default, 2; -1 never pauses.
	MaxMisses int `yaml:"max_misses"`
}

// Defaults applied to zero fields.
const (
	DefaultMaxMisses         = 2
	DefaultServiceLevel      = 20 * time.Second
	DefaultShortAbandon      = 5 * time.Second
	DefaultRingTimeout       = 15 * time.Second
	DefaultRetryDelay        = 5 * time.Second
	DefaultHandleTimeSeed    = 3 * time.Minute
	PauseReasonNoAnswer      = "no-answer"
	maxSkills                = 256
	maxProficiency, minProfi = 5, 1
)

// ConfigError says where a configuration is wrong and what would be right.
type ConfigError struct {
	Path    string // e.g. `queues[1] "sales".ring_timeout`
	Problem string
}

func (e *ConfigError) Error() string { return "acd config: " + e.Path + ": " + e.Problem }

// Unwrap makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Validate checks the configuration and returns every problem found (joined), each a
// *ConfigError naming the queue or agent and the field.
func (c Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}
	if len(c.Queues) == 0 {
		bad("queues", "at least one queue is required")
	}
	if c.MaxMisses < -1 {
		bad("max_misses", "must be -1 (never pause), 0 (default %d) or positive, got %d", DefaultMaxMisses, c.MaxMisses)
	}
	queues := map[string]QueueConfig{}
	skills := map[string]bool{}
	for i, q := range c.Queues {
		p := fmt.Sprintf("queues[%d] %q", i, q.Name)
		if q.Name == "" {
			bad(fmt.Sprintf("queues[%d]", i), "name: must not be empty")
		} else if _, dup := queues[q.Name]; dup {
			bad(p, "name: duplicate queue name")
		} else {
			queues[q.Name] = q
		}
		if q.Strategy != "" && !slices.Contains(strategies, q.Strategy) {
			bad(p+".strategy", "unknown strategy %q; want one of %v", q.Strategy, strategies)
		}
		for j, s := range q.Skills {
			if s == "" {
				bad(fmt.Sprintf("%s.skills[%d]", p, j), "must not be empty")
			}
			skills[s] = true
		}
		for _, f := range []struct {
			name string
			v    time.Duration
		}{
			{"max_wait", q.MaxWait}, {"service_level", q.ServiceLevel}, {"short_abandon", q.ShortAbandon},
			{"ring_timeout", q.RingTimeout}, {"retry_delay", q.RetryDelay}, {"wrap_up", q.WrapUp},
			{"announce_interval", q.AnnounceInterval}, {"default_handle_time", q.DefaultHandleTime},
			{"overflow.after", q.Overflow.After}, {"callback.after", q.Callback.After},
			{"callback.min_estimated_wait", q.Callback.MinEstimatedWait}, {"callback.repeat", q.Callback.Repeat},
		} {
			if f.v < 0 {
				bad(p+"."+f.name, "must not be negative, got %v", f.v)
			}
		}
		if q.Overflow.Queue == "" && q.Overflow.After > 0 {
			bad(p+".overflow.queue", "must name the target queue when overflow.after is set")
		}
		if q.Overflow.Queue != "" && q.Overflow.After <= 0 {
			bad(p+".overflow.after", "must be positive when overflow.queue is set, got %v", q.Overflow.After)
		}
		if q.Overflow.Queue == q.Name && q.Name != "" {
			bad(p+".overflow.queue", "a queue cannot overflow to itself")
		}
		for j, r := range q.PriorityRules {
			if r.After <= 0 {
				bad(fmt.Sprintf("%s.priority_rules[%d].after", p, j), "must be positive, got %v", r.After)
			}
		}
	}
	for i, q := range c.Queues {
		if q.Overflow.Queue == "" || q.Overflow.Queue == q.Name {
			continue
		}
		p := fmt.Sprintf("queues[%d] %q.overflow.queue", i, q.Name)
		if _, ok := queues[q.Overflow.Queue]; !ok {
			bad(p, "unknown queue %q", q.Overflow.Queue)
			continue
		}
		// Follow the chain; a cycle would bounce callers between queues forever.
		seen := map[string]bool{q.Name: true}
		for next := q.Overflow.Queue; next != ""; next = queues[next].Overflow.Queue {
			if seen[next] {
				bad(p, "overflow chain from %q loops back to %q", q.Name, next)
				break
			}
			seen[next] = true
		}
	}
	agents := map[string]bool{}
	for i, a := range c.Agents {
		p := fmt.Sprintf("agents[%d] %q", i, a.ID)
		if a.ID == "" {
			bad(fmt.Sprintf("agents[%d]", i), "id: must not be empty")
		} else if agents[a.ID] {
			bad(p, "id: duplicate agent id")
		}
		agents[a.ID] = true
		for _, s := range slices.Sorted(maps.Keys(a.Skills)) {
			lvl := a.Skills[s]
			if s == "" {
				bad(p+".skills", "skill name must not be empty")
			}
			if lvl < minProfi || lvl > maxProficiency {
				bad(fmt.Sprintf("%s.skills[%q]", p, s), "proficiency must be %d to %d, got %d", minProfi, maxProficiency, lvl)
			}
			skills[s] = true
		}
		if len(a.Queues) == 0 {
			bad(p+".queues", "at least one queue is required")
		}
		seen := map[string]bool{}
		for j, qn := range a.Queues {
			qp := fmt.Sprintf("%s.queues[%d]", p, j)
			q, ok := queues[qn]
			switch {
			case !ok:
				bad(qp, "unknown queue %q", qn)
			case seen[qn]:
				bad(qp, "queue %q listed twice", qn)
			default:
				for _, s := range q.Skills {
					if a.Skills[s] == 0 {
						bad(qp, "agent lacks skill %q required by queue %q", s, qn)
					}
				}
			}
			seen[qn] = true
		}
	}
	if len(skills) > maxSkills {
		bad("skills", "at most %d distinct skills are supported, got %d", maxSkills, len(skills))
	}
	return errors.Join(errs...)
}

// withDefaults returns q with zero fields set to their defaults.
func (q QueueConfig) withDefaults() QueueConfig {
	if q.Strategy == "" {
		q.Strategy = LongestIdle
	}
	if q.ServiceLevel == 0 {
		q.ServiceLevel = DefaultServiceLevel
	}
	if q.ShortAbandon == 0 {
		q.ShortAbandon = DefaultShortAbandon
	}
	if q.RingTimeout == 0 {
		q.RingTimeout = DefaultRingTimeout
	}
	if q.RetryDelay == 0 {
		q.RetryDelay = DefaultRetryDelay
	}
	if q.DefaultHandleTime == 0 {
		q.DefaultHandleTime = DefaultHandleTimeSeed
	}
	q.Skills = slices.Clone(q.Skills)
	q.PriorityRules = slices.Clone(q.PriorityRules)
	slices.SortStableFunc(q.PriorityRules, func(a, b PriorityRule) int { return cmp.Compare(a.After, b.After) })
	return q
}
