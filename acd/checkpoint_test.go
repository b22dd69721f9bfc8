package acd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/fakeclock"
)

// ckConfig is a random configuration for the checkpoint tests: every strategy, skills,
// overflow, wrap-up, announcements, callbacks, priority rules and max wait turn up.
func ckConfig(rng *rand.Rand) Config {
	sk := []string{"en", "fr", "de"}
	nq := 1 + rng.IntN(3)
	var cfg Config
	for i := range nq {
		q := QueueConfig{
			Name:        fmt.Sprintf("q%d", i),
			Strategy:    strategies[rng.IntN(len(strategies))],
			RingTimeout: time.Duration(5+rng.IntN(16)) * time.Second,
			RetryDelay:  time.Duration(1+rng.IntN(6)) * time.Second,
		}
		if rng.IntN(3) == 0 {
			q.Skills = []string{sk[rng.IntN(len(sk))]}
		}
		if rng.IntN(2) == 0 {
			q.WrapUp = time.Duration(rng.IntN(20)) * time.Second
		}
		if rng.IntN(2) == 0 {
			q.MaxWait = time.Duration(30+rng.IntN(120)) * time.Second
		}
		if rng.IntN(2) == 0 {
			q.AnnounceInterval = time.Duration(10+rng.IntN(30)) * time.Second
		}
		if rng.IntN(3) == 0 {
			q.Callback = CallbackPolicy{After: 30 * time.Second, Repeat: time.Duration(rng.IntN(2)) * 20 * time.Second,
				MinEstimatedWait: time.Duration(rng.IntN(2)) * 30 * time.Second}
		}
		if rng.IntN(3) == 0 {
			q.PriorityRules = []PriorityRule{{After: 40 * time.Second, Priority: 2}, {After: 90 * time.Second, Priority: 4}}
		}
		if i+1 < nq && rng.IntN(2) == 0 {
			q.Overflow = Overflow{Queue: fmt.Sprintf("q%d", i+1), After: time.Duration(20+rng.IntN(40)) * time.Second}
		}
		cfg.Queues = append(cfg.Queues, q)
	}
	na := 1 + rng.IntN(7)
	for i := range na {
		a := AgentConfig{ID: fmt.Sprintf("a%d", i), Skills: map[string]int{}, AutoLogin: rng.IntN(2) == 0}
		for _, j := range rng.Perm(nq)[:1+rng.IntN(nq)] {
			q := cfg.Queues[j]
			a.Queues = append(a.Queues, q.Name)
			for _, s := range q.Skills {
				a.Skills[s] = 1 + rng.IntN(5)
			}
		}
		for _, s := range sk {
			if rng.IntN(2) == 0 {
				a.Skills[s] = 1 + rng.IntN(5)
			}
		}
		cfg.Agents = append(cfg.Agents, a)
	}
	cfg.MaxMisses = []int{-1, 0, 1, 3}[rng.IntN(4)]
	return cfg
}

// ckDriver makes random requests, choosing them from what the distributor it watches shows
// (its agents and calls), so that most of them are valid.
type ckDriver struct {
	rng *rand.Rand
	cfg Config
	clk *fakeclock.Clock
	ids int
}

// ckOp is one request, to be made of every distributor under test alike.
type ckOp struct {
	name string
	do   func(d *Distributor) ([]Action, error)
}

func (m *ckDriver) agentID() string { return m.cfg.Agents[m.rng.IntN(len(m.cfg.Agents))].ID }

// callsIn returns the IDs of d's calls in the given states (in enqueue order).
func (m *ckDriver) callsIn(d *Distributor, states ...CallState) []string {
	var ids []string
	for i := 1; i <= m.ids; i++ {
		id := fmt.Sprintf("c%d", i)
		if s, ok := d.CallStatus(id); ok && slices.Contains(states, s.State) {
			ids = append(ids, id)
		}
	}
	return ids
}

func (m *ckDriver) pick(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return ids[m.rng.IntN(len(ids))]
}

// freeAgent returns an available agent if there is one (else any).
func (m *ckDriver) freeAgent(d *Distributor) string {
	var ids []string
	for _, a := range d.Agents() {
		if a.State == Available {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return m.agentID()
	}
	return ids[m.rng.IntN(len(ids))]
}

// offered returns a (call, agent) of an offer being rung, or none.
func (m *ckDriver) offered(d *Distributor) (string, string) {
	var rs []AgentStatus
	for _, a := range d.Agents() {
		if a.State == Reserved {
			rs = append(rs, a)
		}
	}
	if len(rs) == 0 {
		return "none", m.agentID()
	}
	a := rs[m.rng.IntN(len(rs))]
	return a.CallID, a.ID
}

// next chooses a request from d's state.
func (m *ckDriver) next(d *Distributor) ckOp {
	var op ckOp
	switch r := m.rng.IntN(100); {
	case r < 18:
		m.ids++
		c := Call{ID: fmt.Sprintf("c%d", m.ids), Queue: m.cfg.Queues[m.rng.IntN(len(m.cfg.Queues))].Name, Priority: m.rng.IntN(3)}
		if m.rng.IntN(4) == 0 {
			c.Skills = []string{[]string{"en", "fr", "de"}[m.rng.IntN(3)]}
		}
		if m.rng.IntN(6) == 0 {
			c.Kind = KindCallback
		}
		if m.rng.IntN(4) == 0 {
			c.ArrivedAt = m.clk.Now().Add(-time.Duration(m.rng.IntN(120)) * time.Second)
		}
		if m.rng.IntN(3) == 0 {
			c.CustomerID = "cust" + c.ID
		}
		op = ckOp{"enqueue " + c.ID, func(d *Distributor) ([]Action, error) { return d.Enqueue(c) }}
	case r < 32:
		c, a := m.offered(d)
		op = ckOp{"answered " + c + " " + a, func(d *Distributor) ([]Action, error) { return d.Answered(c, a) }}
	case r < 38:
		c, a := m.offered(d)
		why := []MissReason{NoAnswer, Busy, Rejected, Unreachable}[m.rng.IntN(4)]
		op = ckOp{"offer-failed " + c + " " + a, func(d *Distributor) ([]Action, error) { return d.OfferFailed(c, a, why) }}
	case r < 46:
		c := m.pick(m.callsIn(d, CallConnected))
		op = ckOp{"hangup " + c, func(d *Distributor) ([]Action, error) { return d.Hangup(c) }}
	case r < 50:
		c := m.pick(m.callsIn(d, CallWaiting, CallRinging))
		op = ckOp{"abandon " + c, func(d *Distributor) ([]Action, error) { return d.Abandon(c) }}
	case r < 52:
		c := m.pick(m.callsIn(d, CallWaiting, CallRinging))
		op = ckOp{"convert " + c, func(d *Distributor) ([]Action, error) { return d.ConvertToCallback(c) }}
	case r < 57:
		a := m.agentID()
		var qs []string
		if m.rng.IntN(3) == 0 {
			ac := m.cfg.Agents[slices.IndexFunc(m.cfg.Agents, func(x AgentConfig) bool { return x.ID == a })]
			qs = ac.Queues[:1]
		}
		op = ckOp{"login " + a, func(d *Distributor) ([]Action, error) { return d.Login(a, qs...) }}
	case r < 60:
		a := m.agentID()
		op = ckOp{"logout " + a, func(d *Distributor) ([]Action, error) { return d.Logout(a) }}
	case r < 64:
		a, why := m.agentID(), []string{"lunch", "break"}[m.rng.IntN(2)]
		op = ckOp{"pause " + a, func(d *Distributor) ([]Action, error) { return d.Pause(a, why) }}
	case r < 68:
		a := m.agentID()
		op = ckOp{"unpause " + a, func(d *Distributor) ([]Action, error) { return d.Unpause(a) }}
	case r < 70:
		a := m.agentID()
		op = ckOp{"end-wrap-up " + a, func(d *Distributor) ([]Action, error) { return d.EndWrapUp(a) }}
	case r < 73:
		c, a := m.pick(m.callsIn(d, CallConnected)), m.freeAgent(d)
		op = ckOp{"offer-transfer " + c + " " + a, func(d *Distributor) ([]Action, error) { return d.OfferTransfer(c, a) }}
	case r < 75:
		c, a := m.pick(m.callsIn(d, CallConnected)), m.freeAgent(d)
		op = ckOp{"offer-consult " + c + " " + a, func(d *Distributor) ([]Action, error) { return d.OfferConsult(c, a) }}
	case r < 77:
		c, q, keep := m.pick(m.callsIn(d, CallConnected)), m.cfg.Queues[m.rng.IntN(len(m.cfg.Queues))].Name, m.rng.IntN(2) == 0
		op = ckOp{"transfer-to-queue " + c + " " + q, func(d *Distributor) ([]Action, error) { return d.TransferToQueue(c, q, keep) }}
	case r < 78:
		c := m.pick(m.callsIn(d, CallConnected))
		op = ckOp{"transfer-away " + c, func(d *Distributor) ([]Action, error) { return d.TransferAway(c) }}
	case r < 81:
		c, on := m.pick(m.callsIn(d, CallConnected)), m.rng.IntN(2) == 0
		op = ckOp{fmt.Sprintf("hold %s %v", c, on), func(d *Distributor) ([]Action, error) { return d.Hold(c, on) }}
	case r < 83:
		c := m.pick(m.callsIn(d, CallConnected))
		op = ckOp{"complete-consult " + c, func(d *Distributor) ([]Action, error) { return d.CompleteConsult(c) }}
	case r < 85:
		a := m.agentID()
		op = ckOp{"end-consult " + a, func(d *Distributor) ([]Action, error) { return d.EndConsult(a) }}
	case r < 86:
		c := m.pick(m.callsIn(d, CallConnected))
		op = ckOp{"cancel-transfer " + c, func(d *Distributor) ([]Action, error) { return d.CancelTransfer(c) }}
	default:
		step := time.Duration(m.rng.IntN(25000)) * time.Millisecond
		if m.rng.IntN(10) == 0 {
			step = time.Duration(m.rng.IntN(300)) * time.Second
		}
		m.clk.Advance(step)
		op = ckOp{"tick +" + step.String(), func(d *Distributor) ([]Action, error) { return d.Tick(), nil }}
	}
	return op
}

// ckView is everything a distributor shows from outside, formatted (KPIs hold NaNs, which
// reflect.DeepEqual never finds equal).
func ckView(m *ckDriver, d *Distributor) string {
	var b strings.Builder
	fmt.Fprintf(&b, "queues %+v\nagents %+v\n", d.Queues(), d.Agents())
	next, ok := d.NextDeadline()
	fmt.Fprintf(&b, "next %v %v\n", next, ok)
	for i := 1; i <= m.ids; i++ {
		id := fmt.Sprintf("c%d", i)
		s, ok := d.CallStatus(id)
		pos, ewt, pok := d.Position(id)
		fmt.Fprintf(&b, "%s %v %+v %d %v %v\n", id, ok, s, pos, ewt, pok)
	}
	return b.String()
}

// ckSequence drives a distributor through steps random requests, restores a copy from a
// checkpoint taken at a random step, and checks that both then answer every request alike
// and end in the same state. Rarer states (a consultation, a transfer ringing, a caller on
// hold, a timeout or overflow pending behind an offer) get extra copies, each followed for
// 30 steps.
func ckSequence(t testing.TB, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0xc4ec))
	cfg := ckConfig(rng)
	clk := fakeclock.New(t0.Add(time.Duration(rng.IntN(3600)) * time.Second))
	var opts []Option
	if seed%3 != 0 { // else the default generator, seeded from the clock
		opts = append(opts, WithRandSource(rand.NewPCG(seed, 7)))
	}
	opts = append(opts, WithWindows(5*time.Minute, 15*time.Minute), WithStatsResolution(time.Minute))
	d1, err := New(cfg, clk, opts...)
	if err != nil {
		t.Fatalf("seed %d: New: %v", seed, err)
	}
	m := &ckDriver{rng: rng, cfg: cfg, clk: clk}
	at := rng.IntN(steps)
	type copyOf struct {
		d         *Distributor
		from, end int
	}
	var copies []copyOf
	var trace []string
	fail := func(c copyOf, format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d (copy from step %d):\n%s\n%s", seed, c.from, strings.Join(trace[max(0, len(trace)-15):], "\n"), fmt.Sprintf(format, args...))
	}
	// view is the original's view. Its NextDeadline drops stale timers from the heap: the
	// copies do the same, so that their heaps stay the same to the byte (it is idempotent).
	view := func() string {
		for _, c := range copies {
			c.d.NextDeadline()
		}
		return ckView(m, d1)
	}
	// compare checks that a copy ends in the original's state.
	compare := func(c copyOf) {
		t.Helper()
		if s1, s2 := d1.Snapshot(), c.d.Snapshot(); !reflect.DeepEqual(s1, s2) {
			fail(c, "snapshots differ:\n%+v\n----\n%+v", s1, s2)
		}
		if v1, v2 := view(), ckView(m, c.d); v1 != v2 {
			fail(c, "views differ:\n%s\n----\n%s", v1, v2)
		}
		c1, err1 := d1.Checkpoint()
		c2, err2 := c.d.Checkpoint()
		if err1 != nil || err2 != nil || !bytes.Equal(c1, c2) {
			fail(c, "checkpoints differ (%v, %v):\n%s\n----\n%s", err1, err2, ckDump(d1), ckDump(c.d))
		}
	}
	for i := range steps {
		if i == at || len(copies) < 3 && ckRare(d1) {
			c := copyOf{from: i, end: steps}
			if i != at {
				c.end = min(steps, i+30)
			}
			cp, err := d1.Checkpoint()
			if err != nil {
				fail(c, "Checkpoint: %v", err)
			}
			ropts := slices.Clone(opts)
			if seed%3 != 0 {
				ropts[0] = WithRandSource(rand.NewPCG(1, 2)) // its state is replaced
			}
			if c.d, err = NewFromCheckpoint(cfg, clk, cp, ropts...); err != nil {
				fail(c, "NewFromCheckpoint: %v", err)
			}
			cp2, err := c.d.Checkpoint()
			if err != nil {
				fail(c, "Checkpoint of the copy: %v", err)
			}
			if !bytes.Equal(cp, cp2) {
				fail(c, "the copy's checkpoint differs from the one it was made from (%d and %d bytes)", len(cp), len(cp2))
			}
			if v1, v2 := view(), ckView(m, c.d); v1 != v2 {
				fail(c, "views differ right after the restore:\n%s\n----\n%s", v1, v2)
			}
			copies = append(copies, c)
		}
		op := m.next(d1)
		a1, e1 := op.do(d1)
		trace = append(trace, fmt.Sprintf("%d %s → %+v %v", i, op.name, a1, e1))
		for _, c := range copies {
			a2, e2 := op.do(c.d)
			if !reflect.DeepEqual(a1, a2) || fmt.Sprint(e1) != fmt.Sprint(e2) {
				if testing.Verbose() {
					t.Logf("original:\n%s\ncopy:\n%s", ckDump(d1), ckDump(c.d))
				}
				fail(c, "step %d %s: the copy answered\n%+v %v\ninstead of\n%+v %v", i, op.name, a2, e2, a1, e1)
			}
		}
		copies = slices.DeleteFunc(copies, func(c copyOf) bool {
			if c.end > i+1 {
				return false
			}
			compare(c)
			return true
		})
	}
}

// ckRare reports whether d is in a state the random requests rarely leave it in.
func ckRare(d *Distributor) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.calls {
		if e.consultant != nil || e.state == CallConnected && len(e.offers) > 0 || !e.holdSince.IsZero() ||
			e.pendingTimeout || e.pendingOverflow {
			return true
		}
	}
	return false
}

func TestCheckpointRandomSequences(t *testing.T) {
	n := 500
	if testing.Short() {
		n = 100
	}
	for seed := range uint64(n) {
		ckSequence(t, seed, 150)
	}
}

// A long sequence: many timers, stats buckets, callbacks and classes accumulate.
func TestCheckpointLongSequences(t *testing.T) {
	for seed := range uint64(6) {
		ckSequence(t, 1000+seed, 2000)
	}
}

func TestCheckpointRefusesAnotherConfiguration(t *testing.T) {
	r := newRig(t, ckConfig(rand.New(rand.NewPCG(1, 1))))
	cp, err := r.d.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	other := ckConfig(rand.New(rand.NewPCG(1, 1)))
	other.MaxMisses = 7
	_, err = NewFromCheckpoint(other, r.clk, cp)
	if !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), "another configuration") {
		t.Fatalf("restoring under another configuration: %v", err)
	}
	// Other stats windows do not fit either.
	_, err = NewFromCheckpoint(ckConfig(rand.New(rand.NewPCG(1, 1))), r.clk, cp, WithWindows(time.Hour))
	if !errors.Is(err, ErrBadCheckpoint) || !strings.Contains(err.Error(), "windows") {
		t.Fatalf("restoring with other windows: %v", err)
	}
}

// The random strategy needs a generator whose state can be saved.
func TestCheckpointRandomGenerator(t *testing.T) {
	cfg := Config{Queues: []QueueConfig{{Name: "q", Strategy: Random}}, Agents: []AgentConfig{{ID: "a", Queues: []string{"q"}}}}
	r := newRig(t, cfg, WithRand(rand.New(rand.NewPCG(1, 2))))
	if _, err := r.d.Checkpoint(); err == nil || !strings.Contains(err.Error(), "WithRandSource") {
		t.Fatalf("checkpoint with an opaque generator: %v", err)
	}
	r = newRig(t, cfg, WithRandSource(rand.NewChaCha8([32]byte{1})))
	cp, err := r.d.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewFromCheckpoint(cfg, r.clk, cp, WithRandSource(rand.NewPCG(1, 2))); err == nil {
		t.Fatal("a ChaCha8 state was restored into a PCG")
	}
	if _, err := NewFromCheckpoint(cfg, r.clk, cp, WithRandSource(rand.NewChaCha8([32]byte{}))); err != nil {
		t.Fatal(err)
	}
	// Without a random queue, an opaque generator does not matter.
	cfg.Queues[0].Strategy = LongestIdle
	r = newRig(t, cfg, WithRand(rand.New(rand.NewPCG(1, 2))))
	if _, err := r.d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
}

// Every field of Counters is saved.
func TestCheckpointCountersFields(t *testing.T) {
	var c Counters
	n := reflect.TypeOf(c).NumField()
	if got := len(counterFields(&c)); got != n {
		t.Fatalf("counterFields lists %d fields, Counters has %d", got, n)
	}
	v := reflect.ValueOf(&c).Elem()
	for i := range n {
		v.Field(i).SetInt(int64(i + 1))
	}
	var w ckWriter
	w.counters(&c)
	var back Counters
	r := &ckReader{b: w.b}
	r.counters(&back)
	if r.err != nil || back != c {
		t.Fatalf("counters came back as %+v (%v), want %+v", back, r.err, c)
	}
}

// Times keep their zone (so restored actions are equal to the original's, not just equal
// instants).
func TestCheckpointTimes(t *testing.T) {
	ts := []time.Time{{}, t0, t0.Local(), t0.In(time.FixedZone("X", 3600)), time.Date(1, 2, 3, 4, 5, 6, 7, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 999999999, time.UTC), time.Time{}.Local()}
	w := ckWriter{base: t0.Unix()}
	for _, x := range ts {
		w.time(x)
	}
	r := &ckReader{b: w.b, base: t0.Unix()}
	for _, x := range ts {
		got := r.time()
		if !got.Equal(x) || got.Location().String() != x.Location().String() || (x.Location() == time.UTC) != (got.Location() == time.UTC) {
			t.Errorf("time %v came back as %v", x, got)
		}
		if x.Location() == time.UTC || x.Location() == time.Local {
			if !reflect.DeepEqual(got, x) {
				t.Errorf("time %#v came back as %#v", x, got)
			}
		}
	}
}

// ckCorpus returns checkpoints of distributors in various states under one configuration.
func ckCorpus(tb testing.TB) (Config, [][]byte) {
	rng := rand.New(rand.NewPCG(42, 42))
	cfg := ckConfig(rng)
	for len(cfg.Queues) < 2 || len(cfg.Agents) < 3 {
		cfg = ckConfig(rng)
	}
	clk := fakeclock.New(t0)
	d, err := New(cfg, clk, WithRandSource(rand.NewPCG(1, 1)))
	if err != nil {
		tb.Fatal(err)
	}
	m := &ckDriver{rng: rng, cfg: cfg, clk: clk}
	var out [][]byte
	for i := range 200 {
		op := m.next(d)
		_, _ = op.do(d)
		if i%40 == 0 {
			cp, err := d.Checkpoint()
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, cp)
		}
	}
	return cfg, out
}

// withCRC returns data with its checksum recomputed, so that a mutation reaches the decoder.
func withCRC(data []byte) []byte {
	if len(data) < 4 {
		return data
	}
	body := bytes.Clone(data[:len(data)-4])
	return binary.BigEndian.AppendUint32(body, crc32.Checksum(body, crcTable))
}

func TestCheckpointCorrupt(t *testing.T) {
	cfg, corpus := ckCorpus(t)
	clk := fakeclock.New(t0)
	cp := corpus[len(corpus)-1]
	for n := range len(cp) {
		if _, err := NewFromCheckpoint(cfg, clk, cp[:n]); !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(cp), err)
		}
		if n > 0 {
			if _, err := NewFromCheckpoint(cfg, clk, withCRC(cp[:n])); err == nil {
				t.Fatalf("truncated to %d of %d bytes with a good checksum: accepted", n, len(cp))
			}
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 2000 {
		bad := bytes.Clone(cp)
		bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
		if _, err := NewFromCheckpoint(cfg, clk, bad); !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("a flipped byte: %v", err)
		}
		ckTryCorrupt(cfg, withCRC(bad))
	}
}

// ckTryCorrupt restores data and, if it is accepted, uses the result: nothing may panic.
func ckTryCorrupt(cfg Config, data []byte) {
	d, err := NewFromCheckpoint(cfg, fakeclock.New(t0), data)
	if err != nil {
		return
	}
	_ = d.Snapshot()
	_ = d.Agents()
	_ = d.Queues()
	_, _ = d.Checkpoint()
}

func FuzzCheckpoint(f *testing.F) {
	cfg, corpus := ckCorpus(f)
	for _, cp := range corpus {
		f.Add(cp)
		f.Add(cp[:len(cp)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := NewFromCheckpoint(cfg, fakeclock.New(t0), data); err != nil && !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("error not wrapping ErrBadCheckpoint: %v", err)
		}
		ckTryCorrupt(cfg, withCRC(data))
	})
}

// ckBig is a distributor with 2,000 agents on call and 10,000 callers waiting in 10 queues.
func ckBig(tb testing.TB) (Config, *fakeclock.Clock, *Distributor) {
	var cfg Config
	for i := range 10 {
		cfg.Queues = append(cfg.Queues, QueueConfig{Name: fmt.Sprintf("queue-%d", i), WrapUp: 10 * time.Second,
			MaxWait: time.Hour, AnnounceInterval: 30 * time.Second, Callback: CallbackPolicy{After: 2 * time.Minute, Repeat: time.Minute},
			PriorityRules: []PriorityRule{{After: 5 * time.Minute, Priority: 3}}})
	}
	for i := range 2000 {
		cfg.Agents = append(cfg.Agents, AgentConfig{ID: fmt.Sprintf("agent-%04d", i), Name: fmt.Sprintf("Agent %d", i),
			Queues: []string{fmt.Sprintf("queue-%d", i%10), fmt.Sprintf("queue-%d", (i+3)%10)}, Skills: map[string]int{"en": 1 + i%5}, AutoLogin: true})
	}
	clk := fakeclock.New(t0)
	d, err := New(cfg, clk, WithRandSource(rand.NewPCG(1, 1)))
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for range 2000 { // every agent on a call
		n++
		acts, err := d.Enqueue(Call{ID: fmt.Sprintf("call-%06d", n), Queue: fmt.Sprintf("queue-%d", n%10)})
		if err != nil {
			tb.Fatal(err)
		}
		for _, a := range acts {
			if o, ok := a.(Offer); ok {
				if _, err := d.Answered(o.CallID, o.AgentID); err != nil {
					tb.Fatal(err)
				}
			}
		}
		clk.Advance(time.Millisecond)
	}
	for range 10000 {
		n++
		c := Call{ID: fmt.Sprintf("call-%06d", n), Queue: fmt.Sprintf("queue-%d", n%10), Priority: n % 3, CustomerID: fmt.Sprintf("cust-%d", n)}
		if n%7 == 0 {
			c.Skills = []string{"en"}
		}
		if _, err := d.Enqueue(c); err != nil {
			tb.Fatal(err)
		}
		clk.Advance(time.Millisecond)
	}
	clk.Advance(3 * time.Minute) // announcements, callback offers: more timers
	d.Tick()
	waiting, onCall := 0, 0
	for _, s := range d.Queues() {
		waiting += s.Waiting
	}
	for _, a := range d.Agents() {
		if a.State == OnCall {
			onCall++
		}
	}
	if waiting < 10000 || onCall < 1990 {
		tb.Fatalf("%d waiting, %d agents on call", waiting, onCall)
	}
	return cfg, clk, d
}

func BenchmarkCheckpoint(b *testing.B) {
	_, _, d := ckBig(b)
	var size int
	for b.Loop() {
		cp, err := d.Checkpoint()
		if err != nil {
			b.Fatal(err)
		}
		size = len(cp)
	}
	b.ReportMetric(float64(size), "bytes")
	b.ReportMetric(float64(len(d.timers)), "timers")
}

func BenchmarkNewFromCheckpoint(b *testing.B) {
	cfg, clk, d := ckBig(b)
	cp, err := d.Checkpoint()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := NewFromCheckpoint(cfg, clk, cp, WithRandSource(rand.NewPCG(0, 0))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(cp)), "bytes")
}

// ckDump writes d's internals, sets in their order, for diffs when a test fails.
func ckDump(d *Distributor) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	ids := func(s *orderedSet[*entry]) (out []string) {
		s.Ascend(func(e *entry) bool { out = append(out, e.call.ID); return true })
		return out
	}
	fmt.Fprintf(&b, "now %v seq %d tseq %d av %d\n", d.now, d.seq, d.tseq, d.agentsVersion)
	for _, q := range d.queues {
		fmt.Fprintf(&b, "queue %s rr %d cb %d recent %v %d all %v ringing %v\n", q.cfg.Name, q.rrLast, q.callbacks, q.recent, q.recentN, ids(q.all), ids(q.ringing))
		for i, c := range q.classList {
			var free []string
			c.free.Ascend(func(a *agent) bool { free = append(free, a.cfg.ID); return true })
			fmt.Fprintf(&b, "  class %d %v waiting %v free %v\n", i, c.mask[0], ids(c.waiting), free)
		}
	}
	var es []*entry
	for _, e := range d.calls {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b *entry) int { return cmpU64(a.seq, b.seq) })
	for _, e := range es {
		fmt.Fprintf(&b, "entry %+v seq %d q %s cls %v prio %d arr %v enq %v %s tok %d alive %v pt %v po %v cbc %d nr %d hold %v ans %v\n",
			e.call, e.seq, e.q.cfg.Name, e.cls.mask[0], e.prio, e.arrived, e.enqueuedAt, e.state, e.tok, e.alive, e.pendingTimeout, e.pendingOverflow, e.callbackChecks, e.nextRule, e.holdSince, e.answeredAt)
		for _, o := range e.offers {
			fmt.Fprintf(&b, "   offer %s %v %v %v %v\n", o.a.cfg.ID, o.at, o.deadline, o.active, o.consult)
		}
		for _, x := range e.excluded {
			fmt.Fprintf(&b, "   excl %s %v\n", x.a.cfg.ID, x.until)
		}
	}
	for _, a := range d.agents {
		fmt.Fprintf(&b, "agent %s %s since %v idle %v pr %q pp %q pl %v sc %d st %v cm %d wt %d", a.cfg.ID, a.state, a.since, a.idleSince, a.pauseReason, a.pendingPause, a.pendingLogout, a.sessionCalls, a.sessionTalk, a.consecutiveMisses, a.wrapTok)
		for _, m := range a.members {
			fmt.Fprintf(&b, " [%s %v %d]", m.q.cfg.Name, m.loggedIn, len(m.classes))
		}
		if a.work != nil {
			fmt.Fprintf(&b, " work %+v", *a.work)
		}
		b.WriteString("\n")
	}
	for _, t := range d.timers {
		id := "-"
		if t.e != nil {
			id = t.e.call.ID
		}
		fmt.Fprintf(&b, "timer %v %d k%d tok %d e %s a %v o %v\n", t.at, t.seq, t.kind, t.tok, id, t.a != nil, t.o != nil)
	}
	return b.String()
}

// Asking for the next deadline drops stale timers, and must not change a decision: each node
// sharing a distributor asks at its own times. (A retry timer of a contact being rung was
// dropped, though the contact could be waiting again when it fell due.)
func TestNextDeadlineDoesNotChangeDecisions(t *testing.T) {
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, 0xdead))
		cfg := ckConfig(rng)
		clk := fakeclock.New(t0)
		d1, err := New(cfg, clk, WithRandSource(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		d2, _ := New(cfg, clk, WithRandSource(rand.NewPCG(seed, 1)))
		m := &ckDriver{rng: rng, cfg: cfg, clk: clk}
		for i := range 200 {
			op := m.next(d1)
			a1, e1 := op.do(d1)
			a2, e2 := op.do(d2)
			d1.NextDeadline()
			if !reflect.DeepEqual(a1, a2) || fmt.Sprint(e1) != fmt.Sprint(e2) {
				t.Fatalf("seed %d step %d %s: with NextDeadline asked after each request\n%+v %v\nwithout\n%+v %v", seed, i, op.name, a1, e1, a2, e2)
			}
		}
	}
}
