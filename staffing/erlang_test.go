package staffing

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// The reference case of CONTACT-CENTER.md and of the usual Erlang C tables: 100 calls per
// 30 minutes (200 per hour), AHT 180 s, so A = 10 erlangs; 80/20 needs 14 agents (88.8 %),
// and 13 agents give only 79.6 %.
func TestErlangCReference(t *testing.T) {
	r, err := Solve(Input{CallsPerHour: 200, AHT: 180 * time.Second, Target: Target{0.8, 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Traffic != 10 {
		t.Fatalf("traffic = %v erlangs, want 10", r.Traffic)
	}
	if r.Agents != 14 {
		t.Fatalf("agents = %d, want 14", r.Agents)
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.4f, want %.4f", what, got, want)
		}
	}
	near("SL(14)", r.ServiceLevel, 0.888, 0.0005)
	near("P(wait, 14)", r.ProbWait, 0.1741, 0.0005)
	near("ASA(14) s", r.ASA.Seconds(), 7.83, 0.01)
	near("occupancy(14)", r.Occupancy, 10.0/14, 1e-9)
	f13 := Evaluate(13, 10, 180*time.Second, 20*time.Second)
	near("SL(13)", f13.ServiceLevel, 0.796, 0.0005)
	near("P(wait, 13)", f13.ProbWait, 0.2853, 0.0005)
	// The table shows 11..16 around the answer.
	if len(r.Table) != 6 || r.Table[0].Agents != 11 || r.Table[len(r.Table)-1].Agents != 16 {
		t.Errorf("table = %+v, want 11..16 agents", r.Table)
	}
	if r.Scheduled != 14 {
		t.Errorf("scheduled without shrinkage = %d, want 14", r.Scheduled)
	}
}

// More published points: A = 2 erlangs with 3 agents waits with probability 0.4444 (the
// textbook C(3, 2) = 4/9); with 300 calls/h, AHT 4 min (A = 20), 80/20 needs 25 agents.
func TestErlangCKnownValues(t *testing.T) {
	if got := ErlangC(3, 2); math.Abs(got-4.0/9) > 1e-12 {
		t.Errorf("C(3, 2) = %v, want 4/9", got)
	}
	if got := ErlangC(1, 0.5); math.Abs(got-0.5) > 1e-12 {
		t.Errorf("C(1, 0.5) = %v, want 0.5 (M/M/1: ρ)", got)
	}
	if got := ErlangC(5, 5); got != 1 {
		t.Errorf("C(5, 5) = %v, want 1 (no spare capacity)", got)
	}
	r, err := Solve(Input{CallsPerHour: 300, AHT: 4 * time.Minute, Target: Target{0.8, 20 * time.Second}, Shrinkage: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	if r.Traffic != 20 || r.Agents != 25 {
		t.Errorf("300/h, 4 min: A = %v, agents = %d; want 20 and 25", r.Traffic, r.Agents)
	}
	if r.Scheduled != 36 { // 25 / 0.7 = 35.7
		t.Errorf("scheduled with 30%% shrinkage = %d, want 36", r.Scheduled)
	}
	// Large centres stay finite and monotone (the B recursion does not overflow).
	big, err := Solve(Input{CallsPerHour: 60000, AHT: 5 * time.Minute, Target: Target{0.9, 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if big.Agents <= 5000 || big.Agents > 5200 || math.IsNaN(big.ServiceLevel) {
		t.Errorf("5000 erlangs: agents = %d SL = %v", big.Agents, big.ServiceLevel)
	}
}

func TestMaxOccupancyAddsAgents(t *testing.T) {
	r, err := Solve(Input{CallsPerHour: 200, AHT: 3 * time.Minute, Target: Target{0.8, 20 * time.Second}, MaxOccupancy: 0.65})
	if err != nil {
		t.Fatal(err)
	}
	if r.Agents != 16 { // 10/16 = 62.5 %, 10/15 = 66.7 %
		t.Errorf("agents = %d with max occupancy 65%%, want 16", r.Agents)
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]Target{
		"80/20s": {0.8, 20 * time.Second}, "80%/20s": {0.8, 20 * time.Second}, "0.9/15": {0.9, 15 * time.Second},
		"95/1m": {0.95, time.Minute},
	} {
		got, err := ParseTarget(in)
		if err != nil || math.Abs(got.Level-want.Level) > 1e-12 || got.Within != want.Within {
			t.Errorf("ParseTarget(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"80", "100/20s", "0/20s", "80/soon", "x/20s", "80/-5s"} {
		if _, err := ParseTarget(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseTarget(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

func TestValidateNamesTheInput(t *testing.T) {
	_, err := Solve(Input{CallsPerHour: -1, AHT: 0, Target: Target{0.8, 20 * time.Second}, Shrinkage: 1})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"calls per hour", "aht", "shrinkage"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
