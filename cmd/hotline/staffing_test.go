package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/dashboard"
)

func runStaffing(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := staffingCommand(args, &out, &errb)
	return out.String(), errb.String(), code
}

// The published reference: 100 calls per 30 minutes, AHT 180 s, 80/20 → 14 agents (SL 88.8 %),
// where 13 agents would give 79.6 %.
func TestStaffingReferenceValues(t *testing.T) {
	out, errs, code := runStaffing("--calls", "100", "--period", "30m", "--aht", "180s", "--target", "80/20s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"10.00 erlangs", "Agents:    14 on the phones", "service level 88.8%", "P(wait) 17.4%", "ASA 7.8 s", "occupancy 71.4%"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	line13 := ""
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "13 ") {
			line13 = l
		}
	}
	if !strings.Contains(line13, "79.6%") {
		t.Errorf("the 13-agent line %q does not show 79.6%%:\n%s", line13, out)
	}
	// The example, as JSON.
	out, errs, code = runStaffing("--calls-per-hour", "300", "--aht", "4m", "--target", "80/20s", "--shrinkage", "30%", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var j struct {
		Traffic   float64 `json:"traffic_erlangs"`
		Agents    int     `json:"agents"`
		Scheduled int     `json:"scheduled_agents"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.Traffic != 20 || j.Agents != 25 || j.Scheduled != 36 {
		t.Fatalf("%v %+v\n%s", err, j, out)
	}
}

func TestStaffingErrorsSayWhich(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--aht", "3m"}, "--calls-per-hour"},
		{[]string{"--calls-per-hour", "100"}, "--aht"},
		{[]string{"--calls-per-hour", "many", "--aht", "3m"}, "--calls-per-hour"},
		{[]string{"--calls-per-hour", "100", "--aht", "3m", "--target", "fast"}, "--target"},
		{[]string{"--calls-per-hour", "100", "--aht", "3m", "--shrinkage", "100%"}, "--shrinkage"},
		{[]string{"--calls", "100", "--aht", "3m"}, "--period"},
		{[]string{"--history"}, "--queue"},
	} {
		_, errs, code := runStaffing(c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want 2 and a word about %s", c.args, code, errs, c.want)
		}
	}
}

// --history staffs each hour of the week from the stored contacts.
func TestStaffingFromHistory(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := config.Load("")
	cfg.DataDir = dir
	store, err := center.OpenStore(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Yesterday 10:00 to 11:00 local: 30 answered calls of 4 minutes (with 10 s wrap-up).
	y := time.Now().AddDate(0, 0, -1)
	at := time.Date(y.Year(), y.Month(), y.Day(), 10, 0, 0, 0, time.Local)
	for i := 0; i < 30; i++ {
		q := at.Add(time.Duration(i) * 2 * time.Minute)
		if _, err := store.AddContact(context.Background(), customers.Contact{Address: "+861380000" + string(rune('1'+i%9)) + "000", Queue: "support",
			StartedAt: q, QueuedAt: q, Wait: 5 * time.Second, AnsweredAt: q.Add(5 * time.Second), Talk: 230 * time.Second,
			EndedAt: q.Add(235 * time.Second), Outcome: customers.OutcomeAnswered}); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	out, errs, code := runStaffing("--history", "--queue", "support", "--weeks", "1", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	day := y.Weekday().String()[:3]
	found := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[0] == day && f[1] == "10:00" {
			found = true
			// 30 calls/h × 240 s = 2 erlangs: 80/20 needs 4 agents.
			if f[2] != "30.0" || f[3] != "240" || f[5] != "4" {
				t.Errorf("row %q: want 30.0 calls/h, AHT 240 s, 4 agents", l)
			}
		}
	}
	if !found {
		t.Fatalf("no row for %s 10:00:\n%s", day, out)
	}
}

func TestTokenCommand(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := tokenCommand(append(args, "--data-dir", dir), &out, &errb)
		return out.String(), errb.String(), code
	}
	out, errs, code := run("create", "--role", "agent", "--agent", "1001", "--name", "Alice's phone", "--login-link")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var secret, id string
	for _, f := range strings.Fields(out) {
		if strings.HasPrefix(f, "hl_") && secret == "" {
			secret = f
		}
		if strings.HasPrefix(f, "tk_") {
			id = f
		}
	}
	if secret == "" || id == "" || !strings.Contains(out, "http://127.0.0.1:8080/login?code=hlc_") {
		t.Fatalf("output:\n%s", out)
	}
	tokens, err := dashboard.OpenTokens(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tk, ok := tokens.Verify(secret); !ok || tk.Role != dashboard.RoleAgent || tk.Agent != "1001" {
		t.Fatalf("the printed secret: %v %+v", ok, tk)
	}
	if raw, _ := os.ReadFile(filepath.Join(dir, dashboard.TokensFile)); strings.Contains(string(raw), secret) {
		t.Fatal("secret stored in clear")
	}
	if out, _, _ := run("list"); !strings.Contains(out, id) || !strings.Contains(out, "Alice's phone") || strings.Contains(out, secret) {
		t.Errorf("list:\n%s", out)
	}
	for _, c := range [][]string{{"create", "--role", "agent", "--agent", "4242"}, {"create", "--role", "admin"}, {"create", "--role", "supervisor", "--agent", "1001"}, {"revoke"}, {"frobnicate"}} {
		if _, errs, code := run(c...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d %q", c, code, errs)
		}
	}
	if _, _, code := run("revoke", id); code != 0 {
		t.Fatal("revoke failed")
	}
	if _, ok := tokens.Verify(secret); ok {
		tokens2, _ := dashboard.OpenTokens(dir, nil)
		if _, ok := tokens2.Verify(secret); ok {
			t.Fatal("a revoked token still verifies")
		}
	}
}
