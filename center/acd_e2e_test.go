package center

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

const queueOnlyFlow = `description: Straight into the support queue (ACD end-to-end tests)
language: en
start: wait
nodes:
  wait:
    queue:
      name: support
    on:
      answered: bye
      timeout: bye
      full: bye
      no_agents: bye
      callback: bye
      voicemail: bye
      error: bye
  bye:
    hangup: {}
`

// acdConfig for the end-to-end tests: a fast support queue and a flow that goes straight to it.
func fastSupport(t *testing.T) func(*config.Config) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "direct.yaml"), []byte(queueOnlyFlow), 0o644); err != nil {
		t.Fatal(err)
	}
	return func(c *config.Config) {
		c.Flows.Dir, c.Flows.Entry, c.SIP.DefaultEntry = dir, "direct", "direct"
		for i := range c.Queues {
			if c.Queues[i].Name == "support" {
				q := &c.Queues[i]
				q.Strategy = "longest-idle"
				q.RingTimeout = config.Duration(2 * time.Second)
				q.WrapUp = config.Duration(time.Second)
				q.AnnounceEvery = config.Duration(2 * time.Second)
				q.CallbackAfter = 0
				q.MaxWait = config.Duration(time.Minute)
			}
		}
	}
}

func registerPhone(t *testing.T, h *hotline, agent, password string, phonePort int) {
	t.Helper()
	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: h.sipAddr, Auth: [2]string{agent, password},
		Inject: [][]string{{agent, "-", strconv.Itoa(phonePort), "300"}}}).MustSucceed(t)
}

func metricValue(t *testing.T, metrics, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` ([0-9.e+-]+)$`)
	m := re.FindStringSubmatch(metrics)
	if m == nil {
		t.Fatalf("no series %s in /metrics", series)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// Issue 4, acceptance 3 and 5: three real callers, two registered agents. The longest-idle
// agent (1002) is rung first but never answers: it is skipped, and paused after two misses.
// 1001 takes every call with working RTP; the third caller hears its position and is
// connected when 1001 frees up. /metrics shows the same.
func TestQueueWithRealAgents(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	silent := sipptest.Start(t, sipptest.Options{Scenario: "uas_noanswer.xml", Calls: 2, Timeout: 60 * time.Second})
	answering := sipptest.Start(t, sipptest.Options{Scenario: "uas", Calls: 3, Args: []string{"-rtp_echo"}, Timeout: 60 * time.Second})
	registerPhone(t, h, "1002", "1002-demo", silent.Port) // registers first: idle longest
	time.Sleep(50 * time.Millisecond)
	registerPhone(t, h, "1001", "1001-demo", answering.Port)
	for _, a := range []string{"1001", "1002"} {
		if st, _ := h.ACD().AgentState(a); st != acd.Available {
			t.Fatalf("agent %s is %s after registering, want available (auto-login)", a, st)
		}
	}

	callerA := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline", Pause: 8 * time.Second, Keys: map[string]string{"caller": "+8613800000001"}})
	time.Sleep(3 * time.Second) // A rings 1002 for 2 s, then is connected to 1001
	callerB := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline", Pause: 14 * time.Second, Keys: map[string]string{"caller": "+8613800000002"}})
	time.Sleep(500 * time.Millisecond)
	callerC := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline", Pause: 20 * time.Second, Keys: map[string]string{"caller": "+8613800000003"}, Timeout: 60 * time.Second})
	for _, p := range []*sipptest.Proc{callerA, callerB, callerC} {
		p.MustSucceed(t)
	}
	recs := h.waitCalls(t, 3, 10*time.Second)
	byCaller := map[string]CallRecord{}
	for _, r := range recs {
		byCaller[r.Caller.Number] = r
		t.Logf("%s: outcome %s agent %s; queue: %s", r.Caller.Number, r.Outcome, r.Agent, strings.Join(r.Queued, "; "))
	}
	for _, n := range []string{"+8613800000001", "+8613800000002", "+8613800000003"} {
		if r := byCaller[n]; r.Outcome != "answered" || r.Agent != "1001" {
			t.Errorf("caller %s: outcome %q agent %q, want answered by 1001", n, r.Outcome, r.Agent)
		}
	}
	a := strings.Join(byCaller["+8613800000001"].Queued, "; ")
	if !strings.HasPrefix(a, "offer 1002; ") || !strings.Contains(a, "offer 1001") || strings.Index(a, "offer 1002") > strings.Index(a, "offer 1001") {
		t.Errorf("caller A should be offered to 1002 (longest idle) first, then 1001: %s", a)
	}
	if m := regexp.MustCompile(`(\d+) from the agent`).FindStringSubmatch(a); m == nil || atoi(m[1]) < 50 {
		t.Errorf("caller A's bridge carried too little RTP back from the agent: %s", a)
	}
	c := strings.Join(byCaller["+8613800000003"].Queued, "; ")
	if strings.Count(c, "announce position") < 2 {
		t.Errorf("caller C should hear its position at least twice while waiting: %s", c)
	}
	silent.MustSucceed(t)
	answering.MustSucceed(t)

	st, err := h.ACD().Agent("1002")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != acd.Paused || st.PauseReason != "no-answer" || st.Misses.NoAnswer != 2 {
		t.Errorf("1002: state %s reason %q no-answer misses %d; want paused, no-answer, 2", st.State, st.PauseReason, st.Misses.NoAnswer)
	}
	m := h.metrics(t)
	for series, want := range map[string]float64{
		`hotline_queue_answered_total{queue="support"}`:                        3,
		`hotline_queue_abandoned_total{queue="support"}`:                       0,
		`hotline_agent_calls_handled_total{agent="1001"}`:                      3,
		`hotline_agent_missed_offers_total{agent="1002",reason="no_answer"}`:   2,
		`hotline_agent_state{agent="1002",reason="no-answer",state="paused"}`:  1,
		`hotline_queue_wait_seconds_count{outcome="answered",queue="support"}`: 3,
	} {
		if got := metricValue(t, m, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// Issue 4, acceptance 4: feature codes from a softphone authenticated as the agent.
func TestFeatureCodes(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	dial := func(code string) {
		t.Helper()
		sipptest.Start(t, sipptest.Options{Scenario: "uac_feature.xml", Target: h.sipAddr, Service: code,
			Auth: [2]string{"1003", "1003-demo"}, Inject: [][]string{{"1003"}}}).MustSucceed(t)
	}
	state := func() acd.AgentStatus {
		st, err := h.ACD().Agent("1003")
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if s := state(); s.State != acd.LoggedOut {
		t.Fatalf("1003 starts %s, want logged out (no auto-login)", s.State)
	}
	dial("*50")
	if s := state(); s.State != acd.Available {
		t.Fatalf("after *50: %s", s.State)
	}
	dial("*522")
	if s := state(); s.State != acd.Paused || s.PauseReason != "lunch" {
		t.Fatalf("after *522: %s %q, want paused with reason lunch", s.State, s.PauseReason)
	}
	dial("*53")
	if s := state(); s.State != acd.Available {
		t.Fatalf("after *53: %s", s.State)
	}
	if s := state(); s.TimeInPause["lunch"] <= 0 {
		t.Errorf("time paused for lunch not accounted: %v", s.TimeInPause)
	}
	dial("*51")
	if s := state(); s.State != acd.LoggedOut {
		t.Fatalf("after *51: %s", s.State)
	}
	// A wrong password is refused and changes nothing.
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_feature.xml", Target: h.sipAddr, Service: "*50",
		Auth: [2]string{"1003", "wrong"}, Inject: [][]string{{"1003"}}})
	if p.Wait() == 0 {
		t.Error("feature code with a wrong password succeeded")
	}
	if s := state(); s.State != acd.LoggedOut {
		t.Errorf("after a refused *50: %s", s.State)
	}
}
