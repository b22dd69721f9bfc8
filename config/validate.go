package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/internal/redact"
)

var strategies = map[string]bool{
	"longest-idle": true, "round-robin": true, "fewest-calls": true, "least-talk-time": true,
	"random": true, "ring-all": true, "skills": true,
}

var dispositionCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// Validate checks values, every problem at once. Errors are *FieldError.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, &FieldError{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	if c.Driver != "native" && c.Driver != "ari" {
		bad("driver", "%q is not a driver; use native or ari", c.Driver)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not a level; use debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not a format; use text or json", c.Log.Format)
	}
	checkHostPort(bad, "sip.addr", c.SIP.Addr)
	for i, t := range c.SIP.Transports {
		if t != "udp" && t != "tcp" && t != "tls" {
			bad(fmt.Sprintf("sip.transports[%d]", i), "%q is not a transport; use udp, tcp or tls", t)
		}
	}
	c.validateTLS(bad)
	if c.SIP.PublicAddr != "" {
		if _, err := netip.ParseAddr(c.SIP.PublicAddr); err != nil {
			bad("sip.public_addr", "%q is not an IP address", c.SIP.PublicAddr)
		}
	}
	if c.SIP.RTPPortMin < 0 || c.SIP.RTPPortMax > 65535 || c.SIP.RTPPortMin > c.SIP.RTPPortMax {
		bad("sip.rtp_port_min", "port range %d-%d is not valid (0 <= min <= max <= 65535)", c.SIP.RTPPortMin, c.SIP.RTPPortMax)
	} else if c.SIP.RTPPortMax > 0 && c.SIP.RTPPortMax-c.SIP.RTPPortMin < 2 {
		bad("sip.rtp_port_max", "port range %d-%d holds no even port pair", c.SIP.RTPPortMin, c.SIP.RTPPortMax)
	}
	c.Desk.validate(bad)
	c.SIP.Auth.validate(bad)
	if len(c.SIP.Codecs) == 0 {
		bad("sip.codecs", "needs at least one of PCMU, PCMA")
	}
	for i, cd := range c.SIP.Codecs {
		if cd != "PCMU" && cd != "PCMA" {
			bad(fmt.Sprintf("sip.codecs[%d]", i), "%q is not supported; use PCMU or PCMA", cd)
		}
	}
	if c.SIP.MinExpires <= 0 || c.SIP.MaxExpires < c.SIP.MinExpires {
		bad("sip.min_expires", "need 0 < min_expires <= max_expires, have %d and %d", c.SIP.MinExpires, c.SIP.MaxExpires)
	}
	if d := c.SIP.TransactionLinger.D(); d < time.Second || d > 32*time.Second {
		bad("sip.transaction_linger", "must be from 1s to 32s (RFC 3261's 64*T1), not %v", d)
	}
	if c.SIP.NonceTTL.D() < 10*time.Second {
		bad("sip.nonce_ttl", "must be at least 10s")
	}
	if c.SIP.Trunk != "" {
		checkHostPort(bad, "sip.trunk", c.SIP.Trunk)
	}
	switch c.SIP.NAT {
	case "auto", "force", "off":
	default:
		bad("sip.nat", "%q is not a NAT mode; use auto, force or off", c.SIP.NAT)
	}
	c.SIP.Limits.validate(bad)
	checkHostPort(bad, "http.addr", c.HTTP.Addr)
	if c.Driver == "ari" {
		if !strings.HasPrefix(c.ARI.URL, "http://") && !strings.HasPrefix(c.ARI.URL, "https://") {
			bad("ari.url", "%q must be an http:// or https:// URL when driver is ari", redact.URL(c.ARI.URL))
		}
		if c.ARI.App == "" {
			bad("ari.app", "must not be empty when driver is ari")
		}
		if c.ARI.SoundsDir == "" {
			bad("ari.sounds_dir", "must name the directory shared with Asterisk when driver is ari")
		}
	}
	if _, err := c.CompileSchedules(); err != nil {
		errs = append(errs, unjoin(err)...)
	}
	queues := map[string]bool{}
	for i, q := range c.Queues {
		key := fmt.Sprintf("queues[%d]", i)
		if q.Name == "" {
			bad(key+".name", "must not be empty")
		} else if queues[q.Name] {
			bad(key+".name", "queue %q is defined twice", q.Name)
		}
		queues[q.Name] = true
		if q.Strategy != "" && !strategies[q.Strategy] {
			bad(key+".strategy", "%q is not a strategy; use one of longest-idle, round-robin, fewest-calls, least-talk-time, random, ring-all, skills", q.Strategy)
		}
		if q.Schedule != "" {
			if _, ok := c.Schedules[q.Schedule]; !ok {
				bad(key+".schedule", "no schedule named %q under schedules", q.Schedule)
			}
		}
		for j, r := range q.Priority {
			if (r.When == "") == (r.After == 0) {
				bad(fmt.Sprintf("%s.priority[%d]", key, j), "give either when: EXPRESSION or after: DURATION")
			}
		}
		if (q.OverflowTo == "") != (q.OverflowAfter == 0) {
			bad(key+".overflow_to", "overflow_to and overflow_after go together")
		}
		switch q.Recording.Policy {
		case "", RecordNever, RecordAlways, RecordOnDemand:
		default:
			bad(key+".recording.policy", "%q is not a recording policy; use never, always or on_demand", q.Recording.Policy)
		}
		if q.Recording.RetainDays < 0 {
			bad(key+".recording.retain_days", "must not be negative (0 keeps them as long as recordings.retention_days)")
		}
		codes := map[string]bool{}
		for j, code := range q.Dispositions {
			k := fmt.Sprintf("%s.dispositions[%d]", key, j)
			switch {
			case !dispositionCode.MatchString(code):
				bad(k, "%q is not a disposition code (lower-case letters, digits, - and _, starting with a letter or digit, up to 40)", code)
			case codes[code]:
				bad(k, "disposition %q is listed twice", code)
			}
			codes[code] = true
		}
	}
	for i, q := range c.Queues {
		if q.OverflowTo != "" && !queues[q.OverflowTo] {
			bad(fmt.Sprintf("queues[%d].overflow_to", i), "no queue named %q", q.OverflowTo)
		}
		if q.OverflowTo == q.Name && q.Name != "" {
			bad(fmt.Sprintf("queues[%d].overflow_to", i), "a queue cannot overflow to itself")
		}
	}
	agentIDs := map[string]bool{}
	for _, a := range c.Agents {
		agentIDs[a.ID] = true
	}
	extensions := map[string]string{}
	for i, q := range c.Queues {
		x := q.Extension
		if x == "" {
			continue
		}
		key := fmt.Sprintf("queues[%d].extension", i)
		switch {
		case strings.Trim(x, "0123456789") != "" || len(x) > 8:
			bad(key, "%q is not a short number (up to 8 digits)", x)
		case agentIDs[x]:
			bad(key, "%q is also an agent's ID; a transfer to it would be ambiguous", x)
		case extensions[x] != "":
			bad(key, "%q is also the extension of queue %q", x, extensions[x])
		}
		extensions[x] = q.Name
	}
	agents := map[string]bool{}
	for i, a := range c.Agents {
		key := fmt.Sprintf("agents[%d]", i)
		if a.ID == "" || strings.ContainsAny(a.ID, " @:;<>\"") {
			bad(key+".id", "%q is not a usable SIP user name", a.ID)
		} else if agents[a.ID] {
			bad(key+".id", "agent %q is defined twice", a.ID)
		}
		agents[a.ID] = true
		if a.Password == "" {
			bad(key+".password", "must not be empty: agents authenticate with digest")
		}
		for s, p := range a.Skills {
			if p < 1 || p > 5 {
				bad(key+".skills."+s, "proficiency %d is outside 1..5", p)
			}
		}
		for j, q := range a.Queues {
			if !queues[q] {
				bad(fmt.Sprintf("%s.queues[%d]", key, j), "no queue named %q", q)
			}
		}
	}
	for i, sv := range c.Supervisors {
		key := fmt.Sprintf("supervisors[%d]", i)
		switch {
		case sv.ID == "" || strings.ContainsAny(sv.ID, " @:;<>\""):
			bad(key+".id", "%q is not a usable SIP user name", sv.ID)
		case agents[sv.ID]:
			bad(key+".id", "%q is also an agent's ID; a phone registers as one or the other", sv.ID)
		case extensions[sv.ID] != "":
			bad(key+".id", "%q is also the extension of queue %q", sv.ID, extensions[sv.ID])
		case agents["supervisor:"+sv.ID]:
			bad(key+".id", "supervisor %q is defined twice", sv.ID)
		}
		agents["supervisor:"+sv.ID] = true
		if sv.Password == "" {
			bad(key+".password", "must not be empty: supervisors' phones authenticate with digest")
		}
	}
	if c.ACD.MaxMisses < 1 {
		bad("acd.max_misses", "must be at least 1")
	}
	if c.Store.DSN != "" && !strings.HasPrefix(c.Store.DSN, "postgres://") && !strings.HasPrefix(c.Store.DSN, "postgresql://") && !strings.HasPrefix(c.Store.DSN, "sqlite:") {
		bad("store.dsn", "%q: use postgres://... or sqlite:PATH", redact.DSN(c.Store.DSN))
	}
	if c.Redis.Addr != "" {
		checkHostPort(bad, "redis.addr", c.Redis.Addr)
	}
	c.Cluster.validate(c, bad)
	for i, p := range append(append([]string{}, c.Callbacks.AllowedPrefixes...), c.Callbacks.DeniedPrefixes...) {
		key := fmt.Sprintf("callbacks.allowed_prefixes[%d]", i)
		if i >= len(c.Callbacks.AllowedPrefixes) {
			key = fmt.Sprintf("callbacks.denied_prefixes[%d]", i-len(c.Callbacks.AllowedPrefixes))
		}
		if !regexp.MustCompile(`^\+\d{1,15}$`).MatchString(p) {
			bad(key, "%q is not an E.164 prefix like +86", p)
		}
	}
	for key, v := range map[string]string{"callbacks.per_number_limit": c.Callbacks.PerNumberLimit, "callbacks.per_caller_limit": c.Callbacks.PerCallerLimit} {
		if _, _, err := ParseRate(v); err != nil {
			bad(key, "%v", err)
		}
	}
	if c.Callbacks.MaxAttempts < 1 {
		bad("callbacks.max_attempts", "must be at least 1")
	}
	if c.Webhooks.URL != "" && !strings.HasPrefix(c.Webhooks.URL, "http://") && !strings.HasPrefix(c.Webhooks.URL, "https://") {
		bad("webhooks.url", "%q is not an http(s) URL", c.Webhooks.URL)
	}
	if c.Worklist.DueWithin < 0 {
		bad("worklist.due_within", "must not be negative (e.g. 4h; 0 = the default 4h)")
	}
	if c.Recordings.RetentionDays < 0 {
		bad("recordings.retention_days", "must not be negative (0 keeps recordings forever)")
	}
	return errors.Join(errs...)
}

func checkHostPort(bad func(string, string, ...any), key, v string) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		bad(key, "%q is not host:port", v)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad(key, "port %q is not a number 0..65535", port)
	}
	_ = host
}

// ParseRate reads a limit like "3/h" (count per s, m, h or d).
func ParseRate(s string) (int, time.Duration, error) {
	n, unit, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return 0, 0, fmt.Errorf("%q is not a rate like 3/h", s)
	}
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[unit]
	if per == 0 {
		return 0, 0, fmt.Errorf("%q: the unit after / must be s, m, h or d", s)
	}
	return count, per, nil
}

func (cl Cluster) validate(c *Config, bad func(key, format string, args ...any)) {
	if cl.Node != "" && !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`).MatchString(cl.Node) {
		bad("cluster.node", "%q: use letters, digits, dots, dashes and underscores (at most 63)", cl.Node)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9:._-]{0,62}$`).MatchString(cl.Prefix) {
		bad("cluster.prefix", "%q: use letters, digits, colons, dots, dashes and underscores (at most 63)", cl.Prefix)
	}
	if d := cl.DeadAfter.D(); d < time.Second || d > time.Minute {
		bad("cluster.dead_after", "must be from 1s to 1m, not %v", d)
	}
	if !cl.Shared {
		return
	}
	if c.Redis.Addr == "" {
		bad("cluster.shared", "needs redis.addr: the shared state lives in Redis")
	}
	if !strings.HasPrefix(c.Store.DSN, "postgres://") && !strings.HasPrefix(c.Store.DSN, "postgresql://") {
		bad("cluster.shared", "needs a PostgreSQL store.dsn: nodes cannot share a SQLite file")
	}
}
