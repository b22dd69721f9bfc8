package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// ---------------------------------------------------------------------------------------
// The metrics hotline exports, with their labels. Dashboards and alert rules may only use
// these; TestMetricCatalogMatchesSource checks each one is still declared in the Go source.

type metricSpec struct {
	labels    []string
	histogram bool
	planned   bool // not in the source yet; dashboards and rules may already use it
}

var metrics = map[string]metricSpec{
	// the center's collector (center/metrics.go today): the ACD's live view, per queue
	"hotline_queue_calls_waiting":                   {labels: []string{"queue"}},
	"hotline_queue_transferred_total":               {labels: []string{"queue"}},
	"hotline_queue_hold_seconds_total":              {labels: []string{"queue"}},
	"hotline_queue_oldest_wait_seconds":             {labels: []string{"queue"}},
	"hotline_queue_agents":                          {labels: []string{"queue", "state"}},
	"hotline_queue_handle_time_estimate_seconds":    {labels: []string{"queue"}},
	"hotline_queue_offered_total":                   {labels: []string{"queue"}},
	"hotline_queue_answered_total":                  {labels: []string{"queue"}},
	"hotline_queue_abandoned_total":                 {labels: []string{"queue"}},
	"hotline_queue_short_abandoned_total":           {labels: []string{"queue"}},
	"hotline_queue_timed_out_total":                 {labels: []string{"queue"}},
	"hotline_queue_converted_to_callback_total":     {labels: []string{"queue"}},
	"hotline_queue_service_level_ratio":             {labels: []string{"queue", "window", "variant"}},
	"hotline_queue_average_speed_of_answer_seconds": {labels: []string{"queue", "window"}},
	"hotline_queue_average_handle_time_seconds":     {labels: []string{"queue", "window"}},
	"hotline_queue_abandon_rate_ratio":              {labels: []string{"queue", "window"}},
	"hotline_queue_occupancy_ratio":                 {labels: []string{"queue", "window"}},
	"hotline_queue_wait_seconds":                    {labels: []string{"queue", "outcome"}, histogram: true},
	"hotline_queue_handle_seconds":                  {labels: []string{"queue"}, histogram: true},
	// the center's collector: per agent
	"hotline_agent_state":               {labels: []string{"agent", "state", "reason"}},
	"hotline_agent_calls_handled_total": {labels: []string{"agent"}},
	"hotline_agent_transfers_total":     {labels: []string{"agent"}},
	"hotline_agent_missed_offers_total": {labels: []string{"agent", "reason"}},
	"hotline_agent_state_seconds_total": {labels: []string{"agent", "state"}},
	"hotline_agent_pause_seconds_total": {labels: []string{"agent", "reason"}},
	// sip/metrics.go
	"hotline_sip_requests_total":         {labels: []string{"method", "class"}},
	"hotline_sip_calls_active":           {}, // was hotline_calls_active
	"hotline_sip_calls_total":            {labels: []string{"direction", "cause"}},
	"hotline_sip_registrations":          {},
	"hotline_sip_registrations_total":    {labels: []string{"result"}},
	"hotline_sip_invites_rejected_total": {labels: []string{"reason"}},
	// sip: TLS, admission control, the digest guard (docs/security.md)
	"hotline_sip_tls_certificate_expiry_timestamp_seconds": {},
	"hotline_sip_tls_certificate_reloads_total":            {labels: []string{"result"}},
	"hotline_sip_admission_refused_total":                  {labels: []string{"method", "reason"}},
	"hotline_sip_auth_lockouts_total":                      {labels: []string{"scope"}},
	"hotline_security_events_total":                        {labels: []string{"event"}},
	// sip/media/metrics.go
	"hotline_rtp_packets_received_total":      {},
	"hotline_rtp_packets_sent_total":          {},
	"hotline_rtp_packets_dropped_total":       {labels: []string{"reason"}},
	"hotline_rtp_dtmf_digits_total":           {labels: []string{"direction"}},
	"hotline_rtp_inactivity_timeouts_total":   {},
	"hotline_rtp_sessions_active":             {},
	"hotline_rtp_latched_total":               {},
	"hotline_rtp_session_loss_ratio":          {histogram: true},
	"hotline_rtp_session_jitter_seconds":      {histogram: true},
	"hotline_rtp_rtcp_packets_sent_total":     {},
	"hotline_rtp_rtcp_packets_received_total": {},
	"hotline_rtp_session_remote_loss_ratio":   {histogram: true},
	"hotline_rtp_session_rtt_seconds":         {histogram: true},
	// ivr/events.go
	"hotline_ivr_node_exits_total":      {labels: []string{"flow", "node", "exit"}},
	"hotline_ivr_node_duration_seconds": {labels: []string{"flow", "node"}, histogram: true},
	"hotline_ivr_calls_total":           {labels: []string{"flow", "outcome"}},
	// customers/metrics.go
	"hotline_callbacks_refused_total":   {labels: []string{"reason"}},
	"hotline_callbacks_requests_total":  {labels: []string{"source", "updated"}},
	"hotline_callbacks_attempts_total":  {labels: []string{"outcome"}},
	"hotline_tickets_created_total":     {labels: []string{"kind"}},
	"hotline_webhooks_deliveries_total": {labels: []string{"event", "result"}},
	// the center: the durable webhook outbox, a gauge of webhooks not yet delivered (was
	// hotline_webhook_outbox_pending; renamed to match hotline_webhooks_deliveries_total)
	"hotline_webhooks_outbox_pending": {},
	// Prometheus itself
	"up": {},
}

// Labels every series gets from the scrape (deploy/prometheus/prometheus.yml adds site).
var targetLabels = []string{"job", "instance", "site"}

// Label values that are fixed by the code, for matchers with = or =~ on them.
func knownLabelValues() map[string]map[string][]string {
	var windows []string
	for _, d := range []time.Duration{15 * time.Minute, time.Hour, 24 * time.Hour} { // acd's default windows
		windows = append(windows, d.String())
	}
	windows = append(windows, "total")
	var agentStates []string
	for s := acd.AgentState(0); !strings.HasPrefix(s.String(), "AgentState("); s++ {
		agentStates = append(agentStates, s.String())
	}
	queueAgentStates := agentStates // the same names as hotline_agent_state
	variants := []string{"default", "answered", "with_abandons", "left"}
	kpi := map[string][]string{"window": windows}
	return map[string]map[string][]string{
		"hotline_queue_service_level_ratio":             {"window": windows, "variant": variants},
		"hotline_queue_average_speed_of_answer_seconds": kpi,
		"hotline_queue_average_handle_time_seconds":     kpi,
		"hotline_queue_abandon_rate_ratio":              kpi,
		"hotline_queue_occupancy_ratio":                 kpi,
		"hotline_queue_agents":                          {"state": queueAgentStates},
		"hotline_agent_state":                           {"state": agentStates},
		"hotline_agent_state_seconds_total":             {"state": agentStates},
		"hotline_queue_wait_seconds_bucket":             {"outcome": {"answered", "abandoned", "timeout", "overflowed", "callback"}},
		"hotline_webhooks_deliveries_total":             {"result": {"delivered", "failed"}},
		"up":                                            {"job": {"hotline"}},
	}
}

// seriesLabels returns the labels a series name may carry, and whether the name is known.
func seriesLabels(name string) ([]string, bool) {
	if m, ok := metrics[name]; ok && !m.histogram {
		return append(slices.Clone(m.labels), targetLabels...), true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suf)
		if m, known := metrics[base]; ok && known && m.histogram {
			ls := append(slices.Clone(m.labels), targetLabels...)
			if suf == "_bucket" {
				ls = append(ls, "le")
			}
			return ls, true
		}
	}
	return nil, false
}

var (
	selectorRE  = regexp.MustCompile(`\b(hotline_[a-z0-9_]+|up)\b(\s*\{([^}]*)\})?`)
	matcherRE   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	groupingRE  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	legendVarRE = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
)

// checkExpr reports every metric, label or fixed label value in a PromQL expression that
// hotline does not export. Grafana variables ($queue ...) are accepted as values.
func checkExpr(expr string) []error {
	var errs []error
	used := map[string]bool{}
	known := knownLabelValues()
	selectors := selectorRE.FindAllStringSubmatch(expr, -1)
	for _, m := range selectors {
		name := m[1]
		labels, ok := seriesLabels(name)
		if !ok {
			errs = append(errs, fmt.Errorf("metric %s is not exported by hotline", name))
			continue
		}
		for _, l := range labels {
			used[l] = true
		}
		for _, mm := range matcherRE.FindAllStringSubmatch(m[3], -1) {
			label, op, value := mm[1], mm[2], mm[3]
			if !slices.Contains(labels, label) {
				errs = append(errs, fmt.Errorf("%s has no label %q (it has %v)", name, label, labels))
				continue
			}
			allowed := known[name][label]
			if allowed == nil || strings.Contains(value, "$") || op == "!=" || op == "!~" {
				continue
			}
			values := []string{value}
			if op == "=~" {
				values = strings.Split(value, "|")
			}
			for _, v := range values {
				if !slices.Contains(allowed, v) {
					errs = append(errs, fmt.Errorf("%s{%s} never has the value %q (it has %v)", name, label, v, allowed))
				}
			}
		}
	}
	if len(selectors) == 0 {
		errs = append(errs, fmt.Errorf("no hotline metric in %q", expr))
	}
	for _, g := range groupingRE.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(g[2], ",") {
			if l = strings.TrimSpace(l); l != "" && !used[l] {
				errs = append(errs, fmt.Errorf("%s (%s): label %q is on none of the metrics used", g[1], g[2], l))
			}
		}
	}
	return errs
}

func TestCheckExprCatchesMistakes(t *testing.T) {
	for _, bad := range []string{
		`hotline_queue_calls_wating`,
		`hotline_queue_service_level_ratio{window="15m"}`,
		`hotline_agent_state{state="on_call"}`,
		`sum by (queeu) (hotline_queue_calls_waiting)`,
		`hotline_sip_calls_active{queue="support"}`,
		`hotline_calls_active`, // the name before the subsystem was added
	} {
		if errs := checkExpr(bad); len(errs) == 0 {
			t.Errorf("checkExpr(%q) found nothing wrong", bad)
		}
	}
	if errs := checkExpr(`sum by (queue, le) (rate(hotline_queue_wait_seconds_bucket{queue=~"$queue", outcome="answered"}[5m]))`); len(errs) > 0 {
		t.Errorf("good expression rejected: %v", errs)
	}
}

// TestMetricCatalogMatchesSource keeps the list above honest: every metric is declared in
// the Go source under that name (a rename there must be followed here, in the dashboard and
// in the rules). All the module's packages are searched, so a collector may move between
// packages without this list changing.
func TestMetricCatalogMatchesSource(t *testing.T) {
	declared := map[string]bool{"up": true}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "deploy" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		names, err := metricNames(path, b)
		for _, n := range names {
			declared[n] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range metrics {
		switch ok := declared[name]; {
		case !ok && !m.planned:
			t.Errorf("metric %s is not declared in the Go source: update deploy/ and this list", name)
		case !ok:
			t.Logf("metric %s is planned and not declared yet: its dashboard panel and alerts stay empty until it is", name)
		case m.planned:
			t.Logf("metric %s is now declared: drop planned from its entry", name)
		}
	}
}

// metricNames returns the hotline_ metric names one Go file declares, in the ways the code
// writes them: prometheus Opts literals (Namespace, Subsystem, Name, as string literals or
// the file's string constants), prometheus.BuildFQName calls, full names in a string, and a
// "hotline_<subsystem>_" prefix that the file joins to each name (as the KPI collector does).
func metricNames(path string, src []byte) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	consts := map[string]string{}
	var literals, prefixes, out []string
	str := func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if v, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
				return v, true
			}
		case *ast.Ident:
			v, ok := consts[e.Name]
			return v, ok
		}
		return "", false
	}
	join := func(parts ...string) string {
		return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p == "" }), "_")
	}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
			for _, sp := range g.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := str(vs.Values[i]); ok {
							consts[n.Name] = v
						}
					}
				}
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BasicLit:
			v, ok := str(n)
			switch {
			case !ok:
			case strings.HasPrefix(v, "hotline_") && strings.HasSuffix(v, "_"):
				prefixes = append(prefixes, v)
			case strings.HasPrefix(v, "hotline_"):
				out = append(out, v)
			default:
				literals = append(literals, v)
			}
		case *ast.CompositeLit:
			opts := map[string]string{}
			for _, el := range n.Elts {
				if kv, ok := el.(*ast.KeyValueExpr); ok {
					if k, ok := kv.Key.(*ast.Ident); ok {
						if v, ok := str(kv.Value); ok {
							opts[k.Name] = v
						}
					}
				}
			}
			if opts["Namespace"] == "hotline" && opts["Name"] != "" {
				out = append(out, join(opts["Namespace"], opts["Subsystem"], opts["Name"]))
			}
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "BuildFQName" && len(n.Args) == 3 {
				ns, ok1 := str(n.Args[0])
				sub, ok2 := str(n.Args[1])
				name, ok3 := str(n.Args[2])
				if ok1 && ok2 && ok3 && ns == "hotline" {
					out = append(out, join(ns, sub, name))
				}
			}
		}
		return true
	})
	for _, p := range prefixes {
		for _, l := range literals {
			out = append(out, p+l)
		}
	}
	return out, nil
}

func TestMetricNamesAreFoundWhereverTheCodeDeclaresThem(t *testing.T) {
	src := `package x
const sub = "queue"
var a = prometheus.GaugeOpts{Namespace: "hotline", Name: "calls_active"}
var b = prometheus.CounterOpts{
	Name:      "deliveries_total",
	Subsystem: "webhooks",
	Namespace: "hotline",
}
var c = prometheus.HistogramOpts{Namespace: "hotline", Subsystem: sub, Name: "wait_seconds"}
var d = prometheus.NewDesc(prometheus.BuildFQName("hotline", "sip", "calls_active"), "", nil, nil)
var e = prometheus.NewDesc("hotline_webhooks_outbox_pending", "", nil, nil)
func q(name string) *prometheus.Desc { return prometheus.NewDesc("hotline_agent_"+name, "", nil, nil) }
var f = q("state_seconds_total")
var g = prometheus.GaugeOpts{Namespace: "other", Name: "up_total"}
`
	got, err := metricNames("x.go", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hotline_calls_active", "hotline_webhooks_deliveries_total", "hotline_queue_wait_seconds",
		"hotline_sip_calls_active", "hotline_webhooks_outbox_pending", "hotline_agent_state_seconds_total"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s is declared but not found (found %v)", want, got)
		}
	}
	if slices.Contains(got, "hotline_up_total") {
		t.Error("found hotline_up_total, declared in another namespace")
	}
}

// ---------------------------------------------------------------------------------------
// hotline configuration files shipped in deploy/

func parseHotlineConfig(t *testing.T, name string, b []byte) config.Config {
	t.Helper()
	cfg, err := config.Parse(name, b)
	if err != nil {
		t.Fatalf("%s does not pass hotline's config validation:\n%v", name, err)
	}
	return cfg
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHotlineARIConfigMatchesAsterisk(t *testing.T) {
	cfg := parseHotlineConfig(t, "hotline-ari.yaml", readFile(t, "hotline-ari.yaml"))
	if cfg.Driver != "ari" {
		t.Fatalf("driver = %q, want ari", cfg.Driver)
	}
	u, err := url.Parse(cfg.ARI.URL)
	if err != nil {
		t.Fatal(err)
	}

	httpConf := parseConf(t, "asterisk/http.conf")
	gen := httpConf.section("general")
	if gen.get("enabled") != "yes" {
		t.Error("http.conf: the HTTP server (which carries ARI) is not enabled")
	}
	if u.Port() != gen.get("bindport") || u.Path != "/ari" {
		t.Errorf("ari.url %s does not match http.conf bindport %s and the /ari prefix", cfg.ARI.URL, gen.get("bindport"))
	}

	ari := parseConf(t, "asterisk/ari.conf")
	if ari.section("general").get("enabled") != "yes" {
		t.Error("ari.conf: ARI is not enabled")
	}
	user := ari.section(cfg.ARI.Username)
	switch {
	case user == nil || user.get("type") != "user":
		t.Errorf("ari.conf has no user [%s] (ari.username)", cfg.ARI.Username)
	case user.get("read_only") != "no":
		t.Errorf("ari.conf [%s]: read_only must be no, hotline answers and originates calls", cfg.ARI.Username)
	case user.get("password_format") == "plain" && user.get("password") != cfg.ARI.Password:
		t.Errorf("ari.conf [%s] password differs from ari.password", cfg.ARI.Username)
	}

	ext := string(readFile(t, "asterisk/extensions.conf"))
	stasis := regexp.MustCompile(`Stasis\(([^,)]+)`).FindAllStringSubmatch(ext, -1)
	if len(stasis) == 0 {
		t.Fatal("extensions.conf sends no call to Stasis")
	}
	for _, s := range stasis {
		if s[1] != cfg.ARI.App {
			t.Errorf("extensions.conf: Stasis(%s,...) is not ari.app %q", s[1], cfg.ARI.App)
		}
	}

	pj := parseConf(t, "asterisk/pjsip.conf")
	prefix, _, ok := strings.Cut(cfg.ARI.Endpoint, "%s")
	if !ok || prefix != "PJSIP/" {
		t.Errorf("ari.endpoint %q: the agents are PJSIP endpoints, want PJSIP/%%s", cfg.ARI.Endpoint)
	}
	contexts := map[string]bool{}
	for _, s := range pj.sections {
		if s.get("type") == "endpoint" {
			contexts[s.get("context")] = true
		}
	}
	for ctx := range contexts {
		if !strings.Contains(ext, "["+ctx+"]") {
			t.Errorf("pjsip.conf endpoints use context %q, which extensions.conf does not define", ctx)
		}
	}
	for _, a := range cfg.Agents {
		ep, auth, aor := pj.typed(a.ID, "endpoint"), pj.typed(a.ID, "auth"), pj.typed(a.ID, "aor")
		if ep == nil || aor == nil || auth == nil {
			t.Errorf("pjsip.conf: agent %s needs an endpoint, an aor and an auth named %s", a.ID, a.ID)
			continue
		}
		if ep.get("auth") != a.ID || ep.get("aors") != a.ID {
			t.Errorf("pjsip.conf endpoint %s: auth/aors do not point at its own auth and aor", a.ID)
		}
		if ep.get("direct_media") != "no" {
			t.Errorf("pjsip.conf endpoint %s: direct_media must be no (hotline plays and records on Asterisk)", a.ID)
		}
		if auth.get("username") != a.ID || auth.get("password") != a.Password {
			t.Errorf("pjsip.conf auth %s: username/password differ from agent %s in hotline-ari.yaml", a.ID, a.ID)
		}
	}
	if pj.typed("trunk", "endpoint") == nil {
		t.Error("pjsip.conf has no trunk endpoint")
	}
	for _, tr := range []string{"udp", "tcp"} {
		if pj.typed("transport-"+tr, "transport") == nil {
			t.Errorf("pjsip.conf has no %s transport", tr)
		}
	}
}

// ---------------------------------------------------------------------------------------
// compose.yaml

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image           string            `yaml:"image"`
	Build           *composeBuild     `yaml:"build"`
	Command         []string          `yaml:"command"`
	Environment     map[string]string `yaml:"environment"`
	Volumes         []string          `yaml:"volumes"`
	Ports           []string          `yaml:"ports"`
	DependsOn       yaml.Node         `yaml:"depends_on"`
	Healthcheck     map[string]any    `yaml:"healthcheck"`
	Restart         string            `yaml:"restart"`
	StopGracePeriod string            `yaml:"stop_grace_period"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func TestCompose(t *testing.T) {
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, "compose.yaml")))
	dec.KnownFields(true) // a misspelt key is an error, as it is for docker compose
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, s := range []string{"hotline", "asterisk", "postgres", "redis", "prometheus", "grafana"} {
		if _, ok := c.Services[s]; !ok {
			t.Errorf("compose.yaml has no %s service", s)
		}
	}
	for name, s := range c.Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %s, which does not exist", name, src)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s uses volume %s, not declared under volumes", name, src)
			}
		}
		var deps []string
		switch s.DependsOn.Kind {
		case yaml.SequenceNode:
			_ = s.DependsOn.Decode(&deps)
		case yaml.MappingNode:
			var m map[string]any
			_ = s.DependsOn.Decode(&m)
			for d := range m {
				deps = append(deps, d)
			}
		}
		for _, d := range deps {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("service %s depends on unknown service %s", name, d)
			}
		}
	}

	h := c.Services["hotline"]
	if h.Build == nil || filepath.Clean(h.Build.Context) != ".." || h.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("hotline must be built from the repository root with deploy/Dockerfile, got %+v", h.Build)
	}
	i := slices.Index(h.Command, "--config")
	if i < 0 || i+1 >= len(h.Command) {
		t.Fatalf("hotline command %v has no --config", h.Command)
	}
	cfgFile := mountSource(h.Volumes, h.Command[i+1])
	if cfgFile == "" {
		t.Fatalf("hotline's --config %s is not mounted", h.Command[i+1])
	}
	cfg := parseHotlineConfig(t, cfgFile, readFile(t, cfgFile))

	// the sounds directory is one volume at the same path on both sides
	hs, as := mountSource(h.Volumes, cfg.ARI.SoundsDir), mountSource(c.Services["asterisk"].Volumes, cfg.ARI.SoundsDir)
	if hs == "" || hs != as {
		t.Errorf("ari.sounds_dir %s must be the same volume in hotline (%q) and asterisk (%q)", cfg.ARI.SoundsDir, hs, as)
	}
	if mountSource(h.Volumes, cfg.DataDir) == "" {
		t.Errorf("data_dir %s is not on a volume: recordings would vanish with the container", cfg.DataDir)
	}
	_, httpPort, _ := net.SplitHostPort(cfg.HTTP.Addr)
	if !slices.Contains(h.Ports, httpPort+":"+httpPort) {
		t.Errorf("hotline publishes %v, not its http.addr port %s", h.Ports, httpPort)
	}
	// ARI's host and port are the asterisk service's
	u, _ := url.Parse(cfg.ARI.URL)
	if _, ok := c.Services[u.Hostname()]; !ok {
		t.Errorf("ari.url host %s is not a compose service", u.Hostname())
	}
	if !strings.HasPrefix(cfg.Store.DSN, "postgres://") || !strings.Contains(cfg.Store.DSN, "@postgres:") {
		t.Errorf("store.dsn %q does not use the postgres service", cfg.Store.DSN)
	}
	pg := c.Services["postgres"].Environment
	if !strings.Contains(cfg.Store.DSN, "://"+pg["POSTGRES_USER"]+":"+pg["POSTGRES_PASSWORD"]+"@") || !strings.Contains(cfg.Store.DSN, "/"+pg["POSTGRES_DB"]+"?") {
		t.Errorf("store.dsn %q does not match the postgres service's user, password and database", cfg.Store.DSN)
	}
	if host, _, _ := net.SplitHostPort(cfg.Redis.Addr); host != "redis" {
		t.Errorf("redis.addr %q does not use the redis service", cfg.Redis.Addr)
	}

	// Asterisk publishes exactly the RTP range rtp.conf uses
	rtp := parseConf(t, "asterisk/rtp.conf").section("general")
	want := fmt.Sprintf("%s-%s:%s-%s/udp", rtp.get("rtpstart"), rtp.get("rtpend"), rtp.get("rtpstart"), rtp.get("rtpend"))
	if !slices.Contains(c.Services["asterisk"].Ports, want) {
		t.Errorf("asterisk publishes %v; want the RTP range of rtp.conf, %s", c.Services["asterisk"].Ports, want)
	}
	for _, p := range c.Services["asterisk"].Ports {
		if strings.HasPrefix(p, "8088") || strings.Contains(p, ":8088") {
			t.Errorf("asterisk publishes ARI (%s): only hotline on the compose network should reach it", p)
		}
	}
	// Prometheus scrapes hotline at its http port
	prom := readFile(t, "prometheus/prometheus.yml")
	if !bytes.Contains(prom, []byte(`"hotline:`+httpPort+`"`)) {
		t.Errorf("prometheus.yml does not scrape hotline:%s", httpPort)
	}
}

// mountSource is the host path or volume mounted at target in a list of compose volumes.
func mountSource(volumes []string, target string) string {
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && filepath.Clean(parts[1]) == filepath.Clean(target) {
			return parts[0]
		}
	}
	return ""
}

func TestDockerfile(t *testing.T) {
	df := string(readFile(t, "Dockerfile"))
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAllString(df, -1)); n < 2 {
		t.Errorf("Dockerfile has %d stages, want a build stage and a runtime stage", n)
	}
	if !strings.Contains(df, "espeak-ng") {
		t.Error("the runtime image lacks espeak-ng, which renders say: prompts")
	}
	if !strings.Contains(df, "CGO_ENABLED=0") || !strings.Contains(df, "./cmd/hotline") {
		t.Error("Dockerfile does not build ./cmd/hotline statically")
	}
	m := regexp.MustCompile(`(?m)^USER (\d+)`).FindStringSubmatch(df)
	if m == nil || m[1] == "0" {
		t.Fatal("the runtime image must run as a numeric non-root USER")
	}
	dep := readFile(t, "kubernetes/deployment.yaml")
	if !bytes.Contains(dep, []byte("runAsUser: "+m[1])) {
		t.Errorf("kubernetes/deployment.yaml does not run as the image's user %s", m[1])
	}
}

// ---------------------------------------------------------------------------------------
// Kubernetes

type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"` // ConfigMap
	Spec yaml.Node         `yaml:"spec"`
	file string
}

type k8sPort struct {
	Name          string `yaml:"name"`
	Port          int    `yaml:"port"`
	ContainerPort int    `yaml:"containerPort"`
	TargetPort    any    `yaml:"targetPort"`
	Protocol      string `yaml:"protocol"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Name           string    `yaml:"name"`
	Image          string    `yaml:"image"`
	Command        []string  `yaml:"command"`
	Args           []string  `yaml:"args"`
	Ports          []k8sPort `yaml:"ports"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	VolumeMounts   []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type k8sDeploymentSpec struct {
	Replicas int `yaml:"replicas"`
	Strategy struct {
		Type string `yaml:"type"`
	} `yaml:"strategy"`
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Template struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec struct {
			HostNetwork    bool           `yaml:"hostNetwork"`
			InitContainers []k8sContainer `yaml:"initContainers"`
			Containers     []k8sContainer `yaml:"containers"`
			Volumes        []struct {
				Name      string `yaml:"name"`
				ConfigMap *struct {
					Name string `yaml:"name"`
				} `yaml:"configMap"`
				PersistentVolumeClaim *struct {
					ClaimName string `yaml:"claimName"`
				} `yaml:"persistentVolumeClaim"`
			} `yaml:"volumes"`
		} `yaml:"spec"`
	} `yaml:"template"`
}

type k8sServiceSpec struct {
	Type     string            `yaml:"type"`
	Selector map[string]string `yaml:"selector"`
	Ports    []k8sPort         `yaml:"ports"`
}

func loadManifests(t *testing.T) map[string][]k8sObject {
	t.Helper()
	files, _ := filepath.Glob("kubernetes/*.yaml")
	if len(files) == 0 {
		t.Fatal("no manifests in kubernetes/")
	}
	byKind := map[string][]k8sObject{}
	for _, f := range files {
		dec := yaml.NewDecoder(bytes.NewReader(readFile(t, f)))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.APIVersion == "" || o.Kind == "" {
				t.Errorf("%s: a document without apiVersion and kind", f)
			}
			if o.Kind != "Kustomization" && o.Metadata.Name == "" {
				t.Errorf("%s: %s without metadata.name", f, o.Kind)
			}
			o.file = filepath.Base(f)
			byKind[o.Kind] = append(byKind[o.Kind], o)
		}
	}
	return byKind
}

func TestKubernetes(t *testing.T) {
	objs := loadManifests(t)
	one := func(kind, file string) k8sObject {
		for _, o := range objs[kind] {
			if o.file == file {
				return o
			}
		}
		t.Fatalf("no %s in kubernetes/%s", kind, file)
		return k8sObject{}
	}

	// kustomization lists every manifest but the optional LoadBalancer alternative
	var kz struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(readFile(t, "kubernetes/kustomization.yaml"), &kz); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("kubernetes/*.yaml")
	for _, f := range files {
		b := filepath.Base(f)
		if b != "kustomization.yaml" && b != "service-loadbalancer.yaml" && !slices.Contains(kz.Resources, b) {
			t.Errorf("kustomization.yaml does not apply %s", b)
		}
	}
	for _, r := range kz.Resources {
		if _, err := os.Stat(filepath.Join("kubernetes", r)); err != nil {
			t.Errorf("kustomization.yaml lists %s, which does not exist", r)
		}
	}

	depObj := one("Deployment", "deployment.yaml")
	var dep k8sDeploymentSpec
	if err := depObj.Spec.Decode(&dep); err != nil {
		t.Fatal(err)
	}
	pod := dep.Template.Spec
	for k, v := range dep.Selector.MatchLabels {
		if dep.Template.Metadata.Labels[k] != v {
			t.Errorf("Deployment selector %s=%s does not match the pod's labels", k, v)
		}
	}
	if dep.Replicas != 1 || dep.Strategy.Type != "Recreate" {
		t.Errorf("Deployment: want 1 replica and Recreate (node ports and SQLite), got %d, %s", dep.Replicas, dep.Strategy.Type)
	}
	var c *k8sContainer
	for i := range pod.Containers {
		if pod.Containers[i].Name == "hotline" {
			c = &pod.Containers[i]
		}
	}
	if c == nil {
		t.Fatal("Deployment has no hotline container")
	}
	containerPort := func(p any) int {
		for _, cp := range c.Ports {
			if s, ok := p.(string); ok && cp.Name == s {
				return cp.ContainerPort
			}
			if n, ok := p.(int); ok && cp.ContainerPort == n {
				return n
			}
		}
		return 0
	}
	for probe, want := range map[*k8sProbe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want {
			t.Errorf("hotline container: want an HTTP probe on %s", want)
		} else if containerPort(probe.HTTPGet.Port) == 0 {
			t.Errorf("probe on %s uses port %v, which the container does not declare", want, probe.HTTPGet.Port)
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path == "/readyz" {
		t.Error("liveness must not use /readyz: a stopping node would be killed mid-call")
	}

	// volumes: config from the ConfigMap, data on the PVC
	cm := one("ConfigMap", "configmap.yaml")
	pvc := one("PersistentVolumeClaim", "pvc.yaml")
	mounts := map[string]string{} // mount path -> volume name
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	var cmVolume, dataVolume string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Metadata.Name {
			cmVolume = v.Name
		}
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Metadata.Name {
			dataVolume = v.Name
		}
	}
	if cmVolume == "" || dataVolume == "" {
		t.Fatalf("Deployment must mount ConfigMap %s and PVC %s", cm.Metadata.Name, pvc.Metadata.Name)
	}

	// the ConfigMap's hotline.yaml is valid, and consistent with the pod
	raw, ok := cm.Data["hotline.yaml"]
	if !ok {
		t.Fatal("ConfigMap has no hotline.yaml")
	}
	cfg := parseHotlineConfig(t, "configmap", []byte(raw))
	if mounts[cfg.DataDir] != dataVolume {
		t.Errorf("data_dir %s is not the PVC's mount (%v)", cfg.DataDir, mounts)
	}
	if i := slices.Index(c.Args, "--config"); i < 0 || i+1 >= len(c.Args) || mounts[filepath.Dir(c.Args[i+1])] == "" {
		t.Errorf("hotline args %v: --config must name a file on a mounted volume", c.Args)
	}
	_, httpPort, _ := net.SplitHostPort(cfg.HTTP.Addr)
	if p, _ := strconv.Atoi(httpPort); containerPort("http") != p {
		t.Errorf("container port http = %d, http.addr port = %s", containerPort("http"), httpPort)
	}
	if host, _, _ := net.SplitHostPort(cfg.HTTP.Addr); host != "0.0.0.0" && host != "" {
		t.Errorf("http.addr %s: probes and Prometheus cannot reach a loopback listener", cfg.HTTP.Addr)
	}
	_, sipPort, _ := net.SplitHostPort(cfg.SIP.Addr)
	if !pod.HostNetwork && cfg.SIP.RTPPortMax-cfg.SIP.RTPPortMin > 100 {
		t.Errorf("without hostNetwork a Service must list every RTP port; %d-%d is too wide", cfg.SIP.RTPPortMin, cfg.SIP.RTPPortMax)
	}

	// The init container writes the node's IP into public_addr; the result must still be
	// valid and carry that address.
	var render *k8sContainer
	for i := range pod.InitContainers {
		render = &pod.InitContainers[i]
	}
	if pod.HostNetwork {
		if render == nil || !strings.Contains(strings.Join(render.Command, " "), `s|^  public_addr: \"\"|  public_addr: \"${NODE_IP}\"|`) {
			t.Fatal("with hostNetwork the init container must fill in sip.public_addr")
		}
		line := regexp.MustCompile(`(?m)^  public_addr: ""`)
		if n := len(line.FindAllString(raw, -1)); n != 1 {
			t.Fatalf("the ConfigMap must have exactly one line `  public_addr: \"\"` for the init container, has %d", n)
		}
		rendered := line.ReplaceAllString(raw, `  public_addr: "192.0.2.10"`)
		if got := parseHotlineConfig(t, "rendered", []byte(rendered)).SIP.PublicAddr; got != "192.0.2.10" {
			t.Errorf("after the init container, sip.public_addr = %q", got)
		}
	}

	// the Service: SIP over UDP and TCP, HTTP, all pointing at declared container ports
	svcObj := one("Service", "service.yaml")
	var svc k8sServiceSpec
	if err := svcObj.Spec.Decode(&svc); err != nil {
		t.Fatal(err)
	}
	for k, v := range svc.Selector {
		if dep.Template.Metadata.Labels[k] != v {
			t.Errorf("Service selector %s=%s matches no hotline pod", k, v)
		}
	}
	protos := map[string]bool{}
	for _, p := range svc.Ports {
		if containerPort(p.TargetPort) == 0 {
			t.Errorf("Service port %s targets %v, which the container does not declare", p.Name, p.TargetPort)
		}
		if strconv.Itoa(p.Port) == sipPort {
			protos[p.Protocol] = true
		}
	}
	if !protos["UDP"] || !protos["TCP"] {
		t.Errorf("Service must carry SIP (port %s) over UDP and TCP, has %v", sipPort, protos)
	}

	// the LoadBalancer alternative: SIP on both transports and, for a small range, every even
	// port (RTP) with the odd port above it (RTCP)
	lbObj := one("Service", "service-loadbalancer.yaml")
	var lb k8sServiceSpec
	if err := lbObj.Spec.Decode(&lb); err != nil {
		t.Fatal(err)
	}
	var rtp, rtcp []int
	lbSIP := map[string]bool{}
	for _, p := range lb.Ports {
		switch {
		case strconv.Itoa(p.Port) == sipPort:
			lbSIP[p.Protocol] = true
		case strings.HasPrefix(p.Name, "rtp-") && p.Protocol == "UDP":
			rtp = append(rtp, p.Port)
		case strings.HasPrefix(p.Name, "rtcp-") && p.Protocol == "UDP":
			rtcp = append(rtcp, p.Port)
		default:
			t.Errorf("service-loadbalancer.yaml: unexpected port %+v", p)
		}
	}
	sort.Ints(rtp)
	sort.Ints(rtcp)
	if !lbSIP["UDP"] || !lbSIP["TCP"] || len(rtp) == 0 {
		t.Fatalf("service-loadbalancer.yaml must carry SIP over UDP and TCP and RTP, has %v and %v", lbSIP, rtp)
	}
	for i, p := range rtp {
		if p != rtp[0]+2*i || p%2 != 0 {
			t.Errorf("service-loadbalancer.yaml RTP ports must be every even port from %d, got %v", rtp[0], rtp)
			break
		}
	}
	if len(rtcp) != len(rtp) {
		t.Errorf("service-loadbalancer.yaml has %d RTCP ports for %d RTP ports", len(rtcp), len(rtp))
	} else {
		for i := range rtp {
			if rtcp[i] != rtp[i]+1 {
				t.Errorf("service-loadbalancer.yaml: RTCP port %d does not follow RTP port %d", rtcp[i], rtp[i])
				break
			}
		}
	}
	lbDoc := string(readFile(t, "kubernetes/service-loadbalancer.yaml"))
	wantRange := fmt.Sprintf("sip.rtp_port_min: %d   sip.rtp_port_max: %d", rtp[0], rtp[len(rtp)-1]+1)
	if !strings.Contains(lbDoc, wantRange) {
		t.Errorf("service-loadbalancer.yaml should tell to set %q", wantRange)
	}
}

// ---------------------------------------------------------------------------------------
// systemd

func TestSystemdUnit(t *testing.T) {
	const path = "systemd/hotline.service"
	unit := parseConf(t, path)
	svc := unit.section("Service")
	if svc == nil || unit.section("Unit") == nil || unit.section("Install") == nil {
		t.Fatal("hotline.service needs [Unit], [Service] and [Install]")
	}
	execStart := svc.get("ExecStart")
	args := strings.Fields(execStart)
	at := func(flag string) string {
		if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	dataDir := at("--data-dir")
	if len(args) < 2 || args[1] != "serve" || at("--config") == "" || dataDir == "" {
		t.Fatalf("ExecStart %q: want hotline serve --config FILE --data-dir DIR", execStart)
	}
	want := map[string]string{
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ReadWritePaths":          dataDir, // and nothing else
		"PrivateTmp":              "yes",
		"ProtectHome":             "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictNamespaces":      "yes",
		"RestrictSUIDSGID":        "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallArchitectures": "native",
		"StateDirectory":          strings.TrimPrefix(dataDir, "/var/lib/"),
		"WorkingDirectory":        dataDir,
		"Restart":                 "on-failure",
	}
	for k, v := range want {
		if got := svc.all(k); len(got) != 1 || got[0] != v {
			t.Errorf("[Service] %s = %q, want exactly %q", k, got, v)
		}
	}
	if u := svc.get("User"); u == "" || u == "root" || u == "0" {
		t.Errorf("User=%q: hotline runs as its own user", u)
	}
	// no capabilities, unless a port below 1024 must be bound (then only that one)
	for _, k := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		got := svc.all(k)
		if len(got) == 0 || (got[len(got)-1] != "" && got[len(got)-1] != "CAP_NET_BIND_SERVICE") {
			t.Errorf("%s = %q: want empty (or CAP_NET_BIND_SERVICE alone for ports < 1024)", k, got)
		}
	}
	families := strings.Fields(svc.get("RestrictAddressFamilies"))
	for _, f := range []string{"AF_INET", "AF_INET6"} {
		if !slices.Contains(families, f) {
			t.Errorf("RestrictAddressFamilies %v lacks %s", families, f)
		}
	}
	for _, f := range families {
		if !slices.Contains([]string{"AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"}, f) {
			t.Errorf("RestrictAddressFamilies allows %s, which hotline does not use", f)
		}
	}
	if !slices.Contains(svc.all("SystemCallFilter"), "@system-service") {
		t.Error("SystemCallFilter=@system-service missing")
	}
	sysusers := string(readFile(t, "systemd/hotline-sysusers.conf"))
	if !regexp.MustCompile(`(?m)^u ` + regexp.QuoteMeta(svc.get("User")) + ` `).MatchString(sysusers) {
		t.Errorf("hotline-sysusers.conf does not create the user %s", svc.get("User"))
	}

	t.Run("systemd-analyze verify", func(t *testing.T) {
		sa := testenv.Tool(t, "systemd-analyze") // make test installs systemd for it
		// The unit names /usr/local/bin/hotline, which verify requires to be executable:
		// point it at a stand-in so the check does not depend on an installed binary.
		dir := t.TempDir()
		stand := filepath.Join(dir, "hotline")
		if err := os.WriteFile(stand, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(readFile(t, path)), args[0], stand)
		unitPath := filepath.Join(dir, "hotline.service")
		if err := os.WriteFile(unitPath, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(sa, "verify", unitPath).CombinedOutput()
		// verify exits 0 on unknown keys and bad values, only printing them: any line about
		// the unit is a failure.
		var problems []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "hotline") {
				problems = append(problems, l)
			}
		}
		if err != nil || len(problems) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	})
}

// ---------------------------------------------------------------------------------------
// Prometheus

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestPrometheusRules(t *testing.T) {
	var rf ruleFile
	if err := yaml.Unmarshal(readFile(t, "prometheus/alerts.yml"), &rf); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alerts[r.Alert] = r.Expr
			for _, err := range checkExpr(r.Expr) {
				t.Errorf("alert %s: %v", r.Alert, err)
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s needs a severity label and a summary", r.Alert)
			}
		}
	}
	// what the issue asks to be alerted on, by the metric that shows it
	for what, metric := range map[string]string{
		"service level below target": "hotline_queue_service_level_ratio",
		"calls waiting over N":       "hotline_queue_calls_waiting",
		"agent stuck in a state":     "hotline_agent_state_seconds_total",
		"webhook outbox backing up":  "hotline_webhooks_outbox_pending",
	} {
		found := false
		for _, expr := range alerts {
			found = found || strings.Contains(expr, metric)
		}
		if !found {
			t.Errorf("no alert for %s (%s)", what, metric)
		}
	}

	promtool := testenv.Tool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", "prometheus/alerts.yml"},
		{"test", "rules", "prometheus/alerts_test.yml"},
		{"check", "config", "prometheus/prometheus.yml"},
	} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// ---------------------------------------------------------------------------------------
// Grafana

type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID        string `json:"refId"`
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows
}

var grafanaVarRE = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)`)

func TestGrafanaDashboard(t *testing.T) {
	files, _ := filepath.Glob("grafana/dashboards/*.json")
	if len(files) == 0 {
		t.Fatal("no dashboard in grafana/dashboards")
	}
	var exprs []string
	for _, f := range files {
		var d dashboard
		dec := json.NewDecoder(bytes.NewReader(readFile(t, f)))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.Title == "" || d.UID == "" {
			t.Errorf("%s: a dashboard needs a title and a uid", f)
		}
		vars := map[string]bool{}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
			if v.Type == "query" {
				var q struct {
					Query string `json:"query"`
				}
				if json.Unmarshal(v.Query, &q) != nil || q.Query == "" {
					t.Errorf("%s: variable %s has no query", f, v.Name)
				}
				for _, err := range checkExpr(q.Query) {
					t.Errorf("%s: variable %s: %v", f, v.Name, err)
				}
			}
		}
		ids := map[int]bool{}
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				if ids[p.ID] {
					t.Errorf("%s: panel id %d used twice", f, p.ID)
				}
				ids[p.ID] = true
				if p.Type == "row" {
					walk(p.Panels)
					continue
				}
				if len(p.Targets) == 0 {
					t.Errorf("%s: panel %q has no query", f, p.Title)
				}
				if p.Datasource == nil || p.Datasource.Type != "prometheus" || (p.Datasource.UID != "${datasource}" && p.Datasource.UID != "$datasource") {
					t.Errorf("%s: panel %q must use the $datasource variable", f, p.Title)
				}
				for _, tg := range p.Targets {
					if tg.Expr == "" {
						t.Errorf("%s: panel %q target %s has no expr", f, p.Title, tg.RefID)
						continue
					}
					exprs = append(exprs, tg.Expr)
					for _, err := range checkExpr(tg.Expr) {
						t.Errorf("%s: panel %q: %v", f, p.Title, err)
					}
					for _, v := range grafanaVarRE.FindAllStringSubmatch(tg.Expr, -1) {
						if !vars[v[1]] && !strings.HasPrefix(v[1], "__") {
							t.Errorf("%s: panel %q uses $%s, which is not a dashboard variable", f, p.Title, v[1])
						}
					}
					labels := map[string]bool{}
					for _, m := range selectorRE.FindAllStringSubmatch(tg.Expr, -1) {
						ls, _ := seriesLabels(m[1])
						for _, l := range ls {
							labels[l] = true
						}
					}
					for _, l := range legendVarRE.FindAllStringSubmatch(tg.LegendFormat, -1) {
						if !labels[l[1]] {
							t.Errorf("%s: panel %q legend {{%s}}: no such label", f, p.Title, l[1])
						}
					}
				}
			}
		}
		walk(d.Panels)
	}
	// what the issue asks the dashboard to show
	all := strings.Join(exprs, "\n")
	for what, metric := range map[string]string{
		"calls waiting":   "hotline_queue_calls_waiting",
		"service level":   "hotline_queue_service_level_ratio",
		"abandon rate":    "hotline_queue_abandon_rate_ratio",
		"ASA":             "hotline_queue_average_speed_of_answer_seconds",
		"agents by state": "hotline_agent_state",
		"calls active":    "hotline_sip_calls_active",
		"RTP":             "hotline_rtp_",
	} {
		if !strings.Contains(all, metric) {
			t.Errorf("the dashboard does not show %s (%s)", what, metric)
		}
	}

	// Every query is valid PromQL: promtool checks them as recording rules, with Grafana's
	// variables replaced by values they take.
	promtool := testenv.Tool(t, "promtool")
	repl := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
		"${queue}", ".*", "$queue", ".*", "${window}", "15m0s", "$window", "15m0s")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		e = repl.Replace(e)
		if strings.Contains(e, "$") {
			t.Errorf("unreplaced variable in %q", e)
		}
		q, _ := json.Marshal(e) // a JSON string is a valid YAML scalar
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	file := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("dashboard queries are not valid PromQL: %v\n%s", err, out)
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(readFile(t, "grafana/provisioning/datasources/prometheus.yaml"), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || !strings.Contains(ds.Datasources[0].URL, "prometheus:9090") {
		t.Errorf("the provisioned data source must be the compose prometheus service, got %+v", ds.Datasources)
	}
	var dp struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(readFile(t, "grafana/provisioning/dashboards/hotline.yaml"), &dp); err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(readFile(t, "compose.yaml"), &c); err != nil {
		t.Fatal(err)
	}
	if len(dp.Providers) != 1 || mountSource(c.Services["grafana"].Volumes, dp.Providers[0].Options.Path) != "./grafana/dashboards" {
		t.Errorf("the dashboard provider path must be where compose mounts grafana/dashboards")
	}
}

// ---------------------------------------------------------------------------------------
// Kamailio

func TestKamailio(t *testing.T) {
	type dest struct {
		set      int
		uri      string
		flags    int
		priority int
		attrs    string
	}
	var dests []dest
	f, err := os.Open("kamailio/dispatcher.list")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			t.Errorf("dispatcher.list:%d: want setid and destination", n)
			continue
		}
		d := dest{uri: fields[1]}
		var errs []error
		var e error
		d.set, e = strconv.Atoi(fields[0])
		errs = append(errs, e)
		if len(fields) > 2 {
			d.flags, e = strconv.Atoi(fields[2])
			errs = append(errs, e)
		}
		if len(fields) > 3 {
			d.priority, e = strconv.Atoi(fields[3])
			errs = append(errs, e)
		}
		if len(fields) > 4 {
			d.attrs = fields[4]
		}
		if err := errors.Join(errs...); err != nil {
			t.Errorf("dispatcher.list:%d: %v", n, err)
		}
		if !strings.HasPrefix(d.uri, "sip:") {
			t.Errorf("dispatcher.list:%d: %q is not a SIP URI", n, d.uri)
		}
		dests = append(dests, d)
	}
	cfg := string(readFile(t, "kamailio/kamailio.cfg"))
	setM := regexp.MustCompile(`#!define HOTLINE_SET (\d+)`).FindStringSubmatch(cfg)
	if setM == nil {
		t.Fatal("kamailio.cfg does not define HOTLINE_SET")
	}
	set, _ := strconv.Atoi(setM[1])
	var nodes []dest
	duids := map[string]bool{}
	for _, d := range dests {
		if d.set == set {
			nodes = append(nodes, d)
		}
		m := regexp.MustCompile(`duid=([^;]+)`).FindStringSubmatch(d.attrs)
		if m == nil || duids[m[1]] {
			t.Errorf("dispatcher.list %s: each node needs its own duid", d.uri)
		} else {
			duids[m[1]] = true
		}
	}
	if len(nodes) < 2 {
		t.Errorf("dispatcher.list has %d hotline nodes in set %d; spreading needs several", len(nodes), set)
	}
	for _, want := range []string{
		`modparam("dispatcher", "ds_ping_method", "OPTIONS")`,
		`modparam("dispatcher", "ds_probing_mode", 1)`,
		`modparam("dispatcher", "list_file", DISPATCHER_LIST)`,
		`modparam("dispatcher", "flags", 2)`,             // failover: the other destinations kept
		`modparam("dispatcher", "hash_pvar", "$tU")`,     // REGISTER_ALG 7: the agent
		`ds_select_dst(HOTLINE_SET, CALL_ALG, DS_TRIES)`, // with a limit
		`ds_select_dst(HOTLINE_SET, REGISTER_ALG, DS_TRIES)`,
		`t_on_failure("CALL_FAILOVER")`,
		`t_on_failure("REGISTER_FAILOVER")`,
		`failure_route[CALL_FAILOVER]`,
		`failure_route[REGISTER_FAILOVER]`,
		`ds_next_dst()`,
		`t_check_status("503|408")`,
		`ds_is_from_list(HOTLINE_SET)`, // the nodes' requests go to their R-URI
		`record_route()`,
		`listen=LISTEN`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("kamailio.cfg lacks %s", want)
		}
	}
	// Several active nodes: calls hashed by Call-ID (a phone's digest retry reaches the node
	// that challenged it), REGISTERs by the agent; standby only when asked for.
	for _, want := range []string{`#!define CALL_ALG "0"`, `#!define REGISTER_ALG "7"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("kamailio.cfg lacks %s", want)
		}
	}
	// A dead node leaves rotation within a few seconds: pings every second or two, each
	// failing after FR_NODE.
	for name, most := range map[string]int{"DS_PING_INTERVAL": 2, "DS_PROBE_THRESHOLD": 3, "FR_NODE": 2000} {
		m := regexp.MustCompile(`#!define ` + name + ` (\d+)`).FindStringSubmatch(cfg)
		if m == nil {
			t.Errorf("kamailio.cfg does not define %s", name)
			continue
		}
		if v, _ := strconv.Atoi(m[1]); v > most {
			t.Errorf("kamailio.cfg: %s %d; at most %d, or a dead node keeps getting calls", name, v, most)
		}
	}
	// Addresses and files are settable without editing: the header says how.
	for _, def := range []string{"LISTEN", "LISTEN_TCP", "DISPATCHER_LIST"} {
		if !strings.Contains(cfg, "#!ifndef "+def+"\n") || !strings.Contains(cfg, "-A '"+def+"=") {
			t.Errorf("kamailio.cfg: %s needs a default (#!ifndef) and the -A example in the header", def)
		}
	}

	t.Run("kamailio -c", func(t *testing.T) {
		kamailioCheck(t, "kamailio/dispatcher.list")
		kamailioCheck(t, "kamailio/dispatcher.list", "HOTLINE_STANDBY")
	})
}

// ---------------------------------------------------------------------------------------
// INI-style files: Asterisk configs and systemd units.

type confSection struct {
	name string
	kv   [][2]string
}

func (s *confSection) all(key string) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, p := range s.kv {
		if p[0] == key {
			out = append(out, p[1])
		}
	}
	return out
}

// get is the last value of key (a later line overrides an earlier one).
func (s *confSection) get(key string) string {
	v := s.all(key)
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

type confFile struct{ sections []*confSection }

func (c confFile) section(name string) *confSection {
	for _, s := range c.sections {
		if s.name == name {
			return s
		}
	}
	return nil
}

// typed is the section called name whose type is typ (PJSIP reuses a name across types).
func (c confFile) typed(name, typ string) *confSection {
	for _, s := range c.sections {
		if s.name == name && s.get("type") == typ {
			return s
		}
	}
	return nil
}

var sectionRE = regexp.MustCompile(`^\[([^\]]+)\](?:\(([^)]*)\))?$`)

// parseConf reads Asterisk .conf files and systemd units: [section], key = value or
// key => value, comments with ; or #. Asterisk templates ([name](!)) are kept and applied
// to sections that inherit them ([name](template)).
func parseConf(t *testing.T, path string) confFile {
	t.Helper()
	var c confFile
	templates := map[string]*confSection{}
	var cur *confSection
	for n, line := range strings.Split(string(readFile(t, path)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		if m := sectionRE.FindStringSubmatch(line); m != nil {
			cur = &confSection{name: m[1]}
			isTemplate := false
			for _, p := range strings.Split(m[2], ",") {
				switch p = strings.TrimSpace(p); {
				case p == "!":
					isTemplate = true
				case p != "":
					tpl, ok := templates[p]
					if !ok {
						t.Errorf("%s:%d: unknown template %q", path, n+1, p)
						continue
					}
					cur.kv = append(cur.kv, tpl.kv...)
				}
			}
			if isTemplate {
				templates[cur.name] = cur
			} else {
				c.sections = append(c.sections, cur)
			}
			continue
		}
		if cur == nil {
			t.Errorf("%s:%d: %q is outside any section", path, n+1, line)
			continue
		}
		if i := strings.Index(line, " ;"); i >= 0 && !strings.HasPrefix(path, "systemd") {
			line = strings.TrimSpace(line[:i]) // trailing Asterisk comment
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("%s:%d: %q is not key = value", path, n+1, line)
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(strings.TrimPrefix(v, ">"))
		if k == "" {
			t.Errorf("%s:%d: empty key", path, n+1)
		}
		cur.kv = append(cur.kv, [2]string{k, v})
	}
	return c
}
