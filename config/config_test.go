package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestNoFileRunsTheSample(t *testing.T) {
	cfg, err := Load("")
	if err != nil {
		t.Fatalf("sample config does not load: %v", err)
	}
	if cfg.SIP.Addr != "127.0.0.1:5060" || cfg.HTTP.Addr != "127.0.0.1:8080" {
		t.Errorf("listeners must default to loopback, got sip %s http %s", cfg.SIP.Addr, cfg.HTTP.Addr)
	}
	if len(cfg.Agents) == 0 || len(cfg.Queues) == 0 {
		t.Errorf("sample must ship demo agents and queues, got %d and %d", len(cfg.Agents), len(cfg.Queues))
	}
	if cfg.SIP.RingTimeout.D() != 20*time.Second {
		t.Errorf("ring_timeout = %v", cfg.SIP.RingTimeout.D())
	}
}

// Every key of the schema must appear in the sample, which is the configuration's documentation.
func TestSampleDocumentsEveryKey(t *testing.T) {
	var doc map[string]any
	if err := yaml.Unmarshal(sample, &doc); err != nil {
		t.Fatal(err)
	}
	var missing []string
	walkType(reflect.TypeOf(Config{}), "", func(path string) {
		if !hasPath(doc, strings.Split(path, ".")) {
			missing = append(missing, path)
		}
	})
	if len(missing) > 0 {
		t.Errorf("keys not documented in hotline.sample.yaml: %s", strings.Join(missing, ", "))
	}
}

func walkType(t reflect.Type, prefix string, visit func(string)) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" {
			continue // not a key of the file (a position Parse sets)
		}
		path := tag
		if prefix != "" {
			path = prefix + "." + tag
		}
		visit(path)
		ft := f.Type
		if ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map {
			ft = ft.Elem()
			if ft.Kind() == reflect.Struct {
				// elements are documented by their first instance
				walkType(ft, path+".*", visit)
			}
			continue
		}
		if ft.Kind() == reflect.Struct {
			walkType(ft, path, visit)
		}
	}
}

func hasPath(v any, parts []string) bool {
	if len(parts) == 0 {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		if parts[0] == "*" {
			for _, e := range x {
				if hasPath(e, parts[1:]) {
					return true
				}
			}
			return false
		}
		e, ok := x[parts[0]]
		return ok && hasPath(e, parts[1:])
	case []any:
		if parts[0] != "*" {
			return false
		}
		for _, e := range x {
			if hasPath(e, parts[1:]) {
				return true
			}
		}
	}
	return false
}

func TestErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "driver: native\nsipp:\n  addr: x\n", "cfg.yaml:2: sipp: unknown key"},
		{"unknown nested key", "sip:\n  adr: 127.0.0.1:5060\n", "cfg.yaml:2: sip.adr: unknown key; known keys here: addr,"},
		{"unknown key in list", "queues:\n  - name: a\n    strategy: ring-all\n    ringtimeout: 3s\n", "cfg.yaml:4: queues[0].ringtimeout: unknown key"},
		{"bad duration", "sip:\n  rtp_timeout: soon\n", "\"soon\" is not a duration"},
		{"bad driver", "driver: freeswitch\n", "cfg.yaml:1: driver: \"freeswitch\" is not a driver"},
		{"bad strategy", "queues:\n  - name: a\n    strategy: fastest\n", "cfg.yaml:3: queues[0].strategy: \"fastest\" is not a strategy"},
		{"agent in unknown queue", "queues:\n  - name: a\nagents:\n  - id: \"7\"\n    password: p\n    queues: [a, b]\n", "cfg.yaml:6: agents[0].queues[1]: no queue named \"b\""},
		{"bad holiday", "schedules:\n  x:\n    timezone: Asia/Shanghai\n    holidays: [2026-13-01]\n", "schedules.x.holidays[0]: \"2026-13-01\" is not a date"},
		{"bad range", "schedules:\n  x:\n    timezone: UTC\n    weekly:\n      mon: [\"9:00-25:00\"]\n", "cfg.yaml:5: schedules.x.weekly.mon[0]: \"9:00-25:00\" is not a range like 09:00-18:00"},
		{"bad number type", "sip:\n  min_expires: many\n", "line 2"},
		{"bad recording policy", "queues:\n  - name: a\n    recording:\n      policy: sometimes\n", "cfg.yaml:4: queues[0].recording.policy: \"sometimes\" is not a recording policy"},
		{"supervisor is an agent", "agents:\n  - id: \"7\"\n    password: p\nsupervisors:\n  - id: \"7\"\n    password: q\n", "cfg.yaml:5: supervisors[0].id: \"7\" is also an agent's ID"},
		{"supervisor without password", "supervisors:\n  - id: \"9\"\n", "supervisors[0].password: must not be empty"},
		{"bad disposition code", "queues:\n  - name: a\n    dispositions: [resolved, Follow Up]\n", "cfg.yaml:3: queues[0].dispositions[1]: \"Follow Up\" is not a disposition code"},
		{"disposition twice", "queues:\n  - name: a\n    dispositions:\n      - resolved\n      - resolved\n", "cfg.yaml:5: queues[0].dispositions[1]: disposition \"resolved\" is listed twice"},
		{"bad rate", "callbacks:\n  per_number_limit: lots\n", "callbacks.per_number_limit: \"lots\" is not a rate"},
		{"shared without redis", "store:\n  dsn: postgres://db/hotline\ncluster:\n  shared: true\n", "cfg.yaml:4: cluster.shared: needs redis.addr"},
		{"shared on sqlite", "redis:\n  addr: 127.0.0.1:6379\ncluster:\n  shared: true\n", "cfg.yaml:4: cluster.shared: needs a PostgreSQL store.dsn"},
		{"bad node name", "cluster:\n  node: \"node a\"\n", "cfg.yaml:2: cluster.node: \"node a\": use letters"},
		{"dead_after too short", "cluster:\n  dead_after: 100ms\n", "cfg.yaml:2: cluster.dead_after: must be from 1s to 1m"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("cfg.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("accepted bad config:\n%s", c.yaml)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\ndoes not contain %q", err, c.want)
			}
		})
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	_, err := Parse("c.yaml", []byte("driver: x\nlog:\n  level: loud\n"))
	if err == nil || !strings.Contains(err.Error(), "driver") || !strings.Contains(err.Error(), "log.level") {
		t.Fatalf("want both errors, got %v", err)
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	cfg, err := Parse("empty.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Driver != "native" || len(cfg.Agents) != 0 {
		t.Errorf("empty file should give plain defaults, got driver %q and %d agents", cfg.Driver, len(cfg.Agents))
	}
}

// Parse says where each priority rule's expression starts, as flows place theirs: after a
// quote, and for a block on its first line at its indentation.
func TestPriorityRulePositions(t *testing.T) {
	src := `queues:
  - name: support
    priority:
      - when: vip == true
        priority: 10
      - when: "  dialed == '4008'"
        priority: 5
      - when: |
          language == "zh"
        priority: 3
`
	cfg, err := Parse("q.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Position{{"q.yaml", 4, 15}, {"q.yaml", 6, 18}, {"q.yaml", 9, 11}}
	for i, w := range want {
		if got := cfg.Queues[0].Priority[i].WhenAt; got != w {
			t.Errorf("rule %d (%q) at %+v, want %+v", i, cfg.Queues[0].Priority[i].When, got, w)
		}
	}
}
