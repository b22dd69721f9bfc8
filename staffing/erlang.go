package staffing

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error about a bad input; the message names the input.
var ErrInvalid = errors.New("staffing: invalid input")

// MaxAgents bounds the search: traffic that needs more agents than this is refused.
const MaxAgents = 100000

// Target is a service-level target: Level of the calls answered within Within (80/20s is
// Level 0.8, Within 20 s).
type Target struct {
	Level  float64
	Within time.Duration
}

func (t Target) String() string {
	return strconv.FormatFloat(t.Level*100, 'f', -1, 64) + "/" + t.Within.String()
}

// ParseTarget reads a target written "80/20s", "80%/20s", "80/20" (seconds) or "0.8/20s".
func ParseTarget(s string) (Target, error) {
	lvl, within, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Target{}, fmt.Errorf("%w: target %q: write it as LEVEL/TIME, e.g. 80/20s (80%% of calls answered within 20 s)", ErrInvalid, s)
	}
	l, err := ParsePercent(lvl)
	if err != nil || l <= 0 || l >= 1 {
		return Target{}, fmt.Errorf("%w: target %q: the level %q must be a percentage above 0 and below 100, e.g. 80", ErrInvalid, s, lvl)
	}
	within = strings.TrimSpace(within)
	var d time.Duration
	if n, err := strconv.ParseFloat(within, 64); err == nil {
		d = time.Duration(n * float64(time.Second))
	} else if d, err = time.ParseDuration(within); err != nil {
		return Target{}, fmt.Errorf("%w: target %q: the time %q is not a duration (20s, 1m)", ErrInvalid, s, within)
	}
	if d < 0 {
		return Target{}, fmt.Errorf("%w: target %q: the time must not be negative", ErrInvalid, s)
	}
	return Target{Level: l, Within: d}, nil
}

// ParsePercent reads "30%", "30" (a number above 1 is a percentage) or "0.3" as a fraction.
func ParsePercent(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%w: %q is not a percentage (write 30%% or 0.3)", ErrInvalid, s)
	}
	if pct || v > 1 {
		v /= 100
	}
	return v, nil
}

// Traffic is the offered load in erlangs: calls per hour × AHT in hours.
func Traffic(callsPerHour float64, aht time.Duration) float64 {
	return callsPerHour * aht.Hours()
}

// ErlangC is the probability that a call waits with n agents and a erlangs of traffic:
//
//	C(n, a) = [aⁿ/n! · n/(n−a)] / [Σₖ₌₀ⁿ⁻¹ aᵏ/k! + aⁿ/n! · n/(n−a)]
//
// computed through the Erlang B recursion B(k) = a·B(k−1) / (k + a·B(k−1)), which stays
// accurate for thousands of agents, and C = n·B / (n − a·(1 − B)). With n ≤ a the queue grows
// without bound and every call waits: 1.
func ErlangC(n int, a float64) float64 {
	if a <= 0 {
		return 0
	}
	if float64(n) <= a {
		return 1
	}
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return float64(n) * b / (float64(n) - a*(1-b))
}

// Figures are the expected performance of n agents on a erlangs.
type Figures struct {
	Agents       int
	ProbWait     float64       // P(wait), Erlang C
	ServiceLevel float64       // share answered within the target time
	ASA          time.Duration // average speed of answer
	Occupancy    float64       // a / n
}

// Evaluate gives the figures of n agents for traffic a with handle time aht and target time t:
// SL(t) = 1 − C·e^(−(n−a)·t/AHT), ASA = C·AHT/(n−a), occupancy = a/n. With n ≤ a the service
// level is 0, ASA infinite (reported as -1) and occupancy 1.
func Evaluate(n int, a float64, aht, t time.Duration) Figures {
	f := Figures{Agents: n}
	if n <= 0 {
		return Figures{Agents: n, ProbWait: 1, ASA: -1, Occupancy: 1}
	}
	if float64(n) <= a {
		f.ProbWait, f.ServiceLevel, f.ASA, f.Occupancy = 1, 0, -1, 1
		return f
	}
	c := ErlangC(n, a)
	free := float64(n) - a
	f.ProbWait = c
	f.ServiceLevel = 1 - c*math.Exp(-free*t.Seconds()/aht.Seconds())
	f.ASA = time.Duration(c * aht.Seconds() / free * float64(time.Second))
	f.Occupancy = a / float64(n)
	return f
}

// Input is a staffing question.
type Input struct {
	CallsPerHour float64
	AHT          time.Duration
	Target       Target
	// Shrinkage is the share of paid time agents are not on the phones (breaks, training,
	// absence): scheduled staff = agents / (1 − shrinkage). 0 ≤ Shrinkage < 1.
	Shrinkage float64
	// MaxOccupancy, if set (0 < x ≤ 1), adds agents until occupancy is at most this.
	MaxOccupancy float64
}

// Validate says which input is wrong and why.
func (in Input) Validate() error {
	var errs []error
	bad := func(f string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+f, append([]any{ErrInvalid}, a...)...))
	}
	if !(in.CallsPerHour >= 0) || math.IsInf(in.CallsPerHour, 0) {
		bad("calls per hour must be 0 or more, got %v", in.CallsPerHour)
	}
	if in.AHT <= 0 {
		bad("aht must be positive, got %v", in.AHT)
	}
	if !(in.Target.Level > 0 && in.Target.Level < 1) {
		bad("target level must be above 0%% and below 100%%, got %v%%", in.Target.Level*100)
	}
	if in.Target.Within < 0 {
		bad("target time must not be negative, got %v", in.Target.Within)
	}
	if !(in.Shrinkage >= 0 && in.Shrinkage < 1) {
		bad("shrinkage must be at least 0%% and below 100%%, got %v%%", in.Shrinkage*100)
	}
	if in.MaxOccupancy != 0 && !(in.MaxOccupancy > 0 && in.MaxOccupancy <= 1) {
		bad("max occupancy must be above 0%% and at most 100%%, got %v%%", in.MaxOccupancy*100)
	}
	return errors.Join(errs...)
}

// Result is the answer: the fewest agents meeting the target, and the figures around it.
type Result struct {
	Input
	Traffic float64 // erlangs
	Figures         // of Agents, the answer
	// Scheduled is the staff to schedule: ceil(Agents / (1 − Shrinkage)).
	Scheduled int
	// Table holds the figures from up to three agents fewer (but more than the traffic) to
	// two more than the answer, so one can see what one agent fewer would do.
	Table []Figures
}

// Solve finds the fewest agents whose expected service level meets the target (and whose
// occupancy is within MaxOccupancy, if set).
func Solve(in Input) (Result, error) {
	if err := in.Validate(); err != nil {
		return Result{}, err
	}
	a := Traffic(in.CallsPerHour, in.AHT)
	r := Result{Input: in, Traffic: a}
	if a > MaxAgents/2 {
		return Result{}, fmt.Errorf("%w: %.0f erlangs of traffic is beyond what this calculator handles (%d agents)", ErrInvalid, a, MaxAgents)
	}
	if a == 0 {
		r.Figures = Figures{Agents: 0, ServiceLevel: 1}
		r.Table = []Figures{r.Figures}
		return r, nil
	}
	first := int(math.Floor(a)) + 1
	n := first
	for ; n <= MaxAgents; n++ {
		f := Evaluate(n, a, in.AHT, in.Target.Within)
		if f.ServiceLevel >= in.Target.Level && (in.MaxOccupancy == 0 || f.Occupancy <= in.MaxOccupancy) {
			r.Figures = f
			break
		}
	}
	if n > MaxAgents {
		return Result{}, fmt.Errorf("%w: no staffing up to %d agents meets the target", ErrInvalid, MaxAgents)
	}
	from := max(first, n-3)
	for k := from; k <= n+2; k++ {
		r.Table = append(r.Table, Evaluate(k, a, in.AHT, in.Target.Within))
	}
	r.Scheduled = int(math.Ceil(float64(n)/(1-in.Shrinkage) - 1e-9))
	return r, nil
}
