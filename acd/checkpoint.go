package acd

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"time"
)

// A checkpoint is an exact copy of a distributor's state, unlike a State (Snapshot), which
// keeps what a restart needs and drops the rest (offers being rung, timers, transfers, the
// random generator...). A distributor rebuilt from a checkpoint by NewFromCheckpoint and the
// one it was taken from, given the same further requests at the same times, take the same
// decisions, return the same actions and report the same statistics, positions and wait
// estimates. Package cluster uses checkpoints so that a joining node need not replay a whole
// stream of requests.
//
// The encoding is a compact binary one: a header (magic, version, the SHA-256 of the
// configuration), the state, and a CRC-32C of everything before it. Caches the distributor
// keeps to go faster (wait-estimate releases, the shapes of its ordered sets) are rebuilt, not
// saved.

// ErrBadCheckpoint is wrapped by the errors of NewFromCheckpoint about the data itself:
// truncated, corrupt, of another version, or taken under another configuration.
var ErrBadCheckpoint = errors.New("unusable acd checkpoint")

const (
	checkpointMagic   = "HLACDCK"
	checkpointVersion = 1
)

// randState is a random generator whose state can be saved (*rand.PCG, *rand.ChaCha8).
type randState interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// configSum is the SHA-256 of cfg's JSON form (the same as package cluster's epoch record).
func configSum(cfg Config) ([32]byte, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return [32]byte{}, fmt.Errorf("acd: configuration: %w", err)
	}
	return sha256.Sum256(b), nil
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Checkpoint returns an exact copy of the distributor's state (see NewFromCheckpoint). It
// does not process due timers. It fails if a queue uses the random strategy and the
// generator given with WithRand cannot be saved (give a source with WithRandSource).
func (d *Distributor) Checkpoint() ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := &ckWriter{b: make([]byte, 0, 4096+256*len(d.calls)+48*len(d.timers))}
	w.b = append(w.b, checkpointMagic...)
	w.uv(checkpointVersion)
	w.b = append(w.b, d.cfgSum[:]...)
	if err := d.encode(w); err != nil {
		return nil, err
	}
	return binary.BigEndian.AppendUint32(w.b, crc32.Checksum(w.b, crcTable)), nil
}

// NewFromCheckpoint builds a distributor from a checkpoint taken by Checkpoint under the same
// configuration (and the same WithWindows and WithStatsResolution). The options are those of
// New; a random generator given with WithRand or WithRandSource has its state replaced by the
// saved one, so it must be of the same kind (the default is a PCG). The distributor's virtual
// time is that of the checkpoint: a clock behind it is taken as standing still until it catches
// up. A checkpoint that is truncated, corrupt, of another version or of another configuration
// is refused with an error wrapping ErrBadCheckpoint.
func NewFromCheckpoint(cfg Config, clk Clock, data []byte, opts ...Option) (d *Distributor, err error) {
	hdr := len(checkpointMagic)
	if len(data) < hdr+1+32+4 || string(data[:hdr]) != checkpointMagic {
		return nil, fmt.Errorf("acd: %w: not a checkpoint (or truncated)", ErrBadCheckpoint)
	}
	body, sum := data[:len(data)-4], binary.BigEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return nil, fmt.Errorf("acd: %w: checksum mismatch (truncated or corrupt)", ErrBadCheckpoint)
	}
	r := &ckReader{b: body[hdr:]}
	if v := r.uv(); v != checkpointVersion {
		return nil, fmt.Errorf("acd: %w: version %d, this build reads version %d", ErrBadCheckpoint, v, checkpointVersion)
	}
	saved := r.raw(32)
	if r.err != nil {
		return nil, fmt.Errorf("acd: %w: %v", ErrBadCheckpoint, r.err)
	}
	if d, err = New(cfg, clk, opts...); err != nil {
		return nil, err
	}
	if !bytes.Equal(saved, d.cfgSum[:]) {
		return nil, fmt.Errorf("acd: %w: it was taken under another configuration (SHA-256 %s…, this one's %s…): queues, agents and settings must be the same",
			ErrBadCheckpoint, hex.EncodeToString(saved[:4]), hex.EncodeToString(d.cfgSum[:4]))
	}
	if err := d.restoreCheckpoint(r); err != nil {
		return nil, err
	}
	return d, nil
}

// restoreCheckpoint decodes the state into a distributor fresh from New. Decoding validates
// what it reads; a panic on data that passed the checks (a bug) is turned into an error.
func (d *Distributor) restoreCheckpoint(r *ckReader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("acd: %w: inconsistent state: %v", ErrBadCheckpoint, p)
		}
	}()
	d.decode(r)
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("acd: %w: %v", ErrBadCheckpoint, r.err)
	}
	return nil
}

// ---- encoding ----

const (
	refNil  = 0
	refDead = 1 // an entry that has left, or an offer that has ended (only timers point there)
)

func (d *Distributor) encode(w *ckWriter) error {
	w.time(d.now) // with base 0; the other times are written from it
	w.base = d.now.Unix()
	w.uv(d.seq)
	w.uv(d.tseq)
	w.uv(d.agentsVersion)
	w.iv(int64(d.resolution))
	w.uv(uint64(len(d.windows)))
	for _, x := range d.windows {
		w.iv(int64(x))
	}
	random := slices.ContainsFunc(d.queues, func(q *queue) bool { return q.cfg.Strategy == Random })
	switch {
	case d.rndState != nil:
		b, err := d.rndState.MarshalBinary()
		if err != nil {
			return fmt.Errorf("acd: checkpoint: saving the random generator: %w", err)
		}
		w.bool(true)
		w.bytes(b)
	case random:
		return errors.New("acd: checkpoint: a queue uses the random strategy and the generator given with WithRand cannot be saved: give a *rand.PCG with WithRandSource")
	default:
		w.bool(false)
	}

	w.uv(uint64(len(d.queues)))
	clsIdx := map[*class]int{}
	for _, q := range d.queues {
		w.str(q.cfg.Name)
		w.uv(uint64(len(q.classList)))
		for i, c := range q.classList {
			clsIdx[c] = i
			w.skills(c.mask)
		}
		w.iv(int64(q.rrLast))
		w.iv(int64(q.callbacks))
		w.uv(uint64(len(q.recent)))
		for _, h := range q.recent {
			w.iv(int64(h))
		}
		w.iv(int64(q.recentN))
		w.counters(&q.stats.totals)
		w.uv(uint64(len(q.stats.buckets)))
		valid := 0
		for _, b := range q.stats.buckets {
			if b.valid {
				valid++
			}
		}
		w.uv(uint64(valid))
		for i, b := range q.stats.buckets {
			if b.valid {
				w.uv(uint64(i))
				w.iv(b.epoch)
				w.counters(&b.c)
			}
		}
	}

	entries := make([]*entry, 0, len(d.calls))
	for _, e := range d.calls {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b *entry) int {
		if a.seq != b.seq {
			return cmpU64(a.seq, b.seq)
		}
		if a.call.ID < b.call.ID {
			return -1
		}
		return 1
	})
	entIdx := make(map[*entry]int, len(entries))
	offIdx := map[*offer]int{}
	agentRef := func(a *agent) {
		if a == nil {
			w.uv(refNil)
		} else {
			w.uv(uint64(a.idx) + 1)
		}
	}
	w.uv(uint64(len(entries)))
	for i, e := range entries {
		entIdx[e] = i
		if !e.alive {
			return fmt.Errorf("acd: checkpoint: internal: call %q has left but is still listed", e.call.ID)
		}
		w.call(d, &e.call)
		w.uv(e.seq)
		w.uv(uint64(e.q.idx))
		ci, ok := clsIdx[e.cls]
		if !ok || e.cls.q != e.q {
			return fmt.Errorf("acd: checkpoint: internal: call %q has a class of another queue", e.call.ID)
		}
		w.uv(uint64(ci))
		w.skills(e.extra)
		w.iv(int64(e.prio))
		w.time(e.arrived)
		w.time(e.enqueuedAt)
		w.uv(uint64(callStateCode(e.state)))
		w.uv(uint64(len(e.offers)))
		for _, o := range e.offers {
			if o.e != e || !o.active {
				return fmt.Errorf("acd: checkpoint: internal: call %q lists an ended offer", e.call.ID)
			}
			offIdx[o] = len(offIdx)
			w.uv(uint64(o.a.idx))
			w.time(o.at)
			w.time(o.deadline)
			w.bool(o.consult)
		}
		w.uv(uint64(len(e.excluded)))
		for _, x := range e.excluded {
			w.uv(uint64(x.a.idx))
			w.time(x.until)
		}
		agentRef(e.agent)
		w.time(e.answeredAt)
		w.time(e.holdSince)
		agentRef(e.consultant)
		w.uv(e.tok)
		w.bool(e.pendingTimeout)
		w.bool(e.pendingOverflow)
		w.iv(int64(e.callbackChecks))
		w.iv(int64(e.nextRule))
	}
	offerRef := func(o *offer) error {
		switch i, ok := offIdx[o]; {
		case o == nil:
			w.uv(refNil)
		case ok:
			w.uv(uint64(i) + 2)
		case o.active:
			return fmt.Errorf("acd: checkpoint: internal: an offer of call %q is active but not listed", o.e.call.ID)
		default:
			w.uv(refDead)
		}
		return nil
	}

	w.uv(uint64(len(d.agents)))
	for _, a := range d.agents {
		w.str(a.cfg.ID)
		w.uv(uint64(a.state))
		w.time(a.since)
		w.str(a.pauseReason)
		w.time(a.reasonSince)
		w.str(a.pendingPause)
		w.bool(a.pendingLogout)
		w.time(a.idleSince)
		if a.offer != nil && !a.offer.active {
			return fmt.Errorf("acd: checkpoint: internal: agent %q holds an ended offer", a.cfg.ID)
		}
		if err := offerRef(a.offer); err != nil {
			return err
		}
		w.uv(uint64(len(a.members)))
		for _, m := range a.members {
			w.bool(m.loggedIn)
		}
		w.bool(a.work != nil)
		if k := a.work; k != nil {
			w.str(k.callID)
			w.uv(uint64(k.q.idx))
			w.kind(k.kind)
			w.str(k.customerID)
			w.time(k.answeredAt)
			w.time(k.hungUpAt)
			w.iv(int64(k.hold))
			w.bool(k.consult)
		}
		w.time(a.wrapUntil)
		w.uv(a.wrapTok)
		w.iv(a.callsHandled)
		w.iv(a.transfers)
		w.iv(a.sessionCalls)
		w.iv(int64(a.sessionTalk))
		w.iv(int64(a.consecutiveMisses))
		w.iv(a.misses.NoAnswer)
		w.iv(a.misses.Busy)
		w.iv(a.misses.Rejected)
		w.iv(a.misses.Unreachable)
		for _, x := range a.timeIn {
			w.iv(int64(x))
		}
		reasons := slices.Sorted(maps.Keys(a.pauseTime))
		w.uv(uint64(len(reasons)))
		for _, k := range reasons {
			w.str(k)
			w.iv(int64(a.pauseTime[k]))
		}
	}

	w.uv(uint64(len(d.timers)))
	for _, t := range d.timers { // the heap's array as it is: the same array is a valid heap
		w.time(t.at)
		w.uv(t.seq)
		w.uv(uint64(t.kind))
		w.uv(t.tok)
		switch i, ok := entIdx[t.e]; {
		case t.e == nil:
			w.uv(refNil)
		case ok:
			w.uv(uint64(i) + 2)
		case t.e.alive:
			return fmt.Errorf("acd: checkpoint: internal: a timer points at call %q, which is not listed", t.e.call.ID)
		default:
			w.uv(refDead)
		}
		agentRef(t.a)
		if err := offerRef(t.o); err != nil {
			return err
		}
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

var callStates = [...]CallState{CallWaiting, CallRinging, CallConnected}

func callStateCode(s CallState) int {
	if i := slices.Index(callStates[:], s); i >= 0 {
		return i
	}
	panic("acd: internal: call state " + string(s))
}

// ---- decoding ----

// decode reads the state written by encode into d (fresh from New with the same
// configuration), replacing what New set up. Errors are left in r.
func (d *Distributor) decode(r *ckReader) {
	d.now = r.time()
	r.base = d.now.Unix()
	d.seq, d.tseq, d.agentsVersion = r.uv(), r.uv(), r.uv()
	if res := time.Duration(r.iv()); r.err == nil && res != d.resolution {
		r.fail("stats resolution %v, this distributor's is %v (WithStatsResolution)", res, d.resolution)
	}
	nw := r.count(64)
	ws := make([]time.Duration, nw)
	for i := range ws {
		ws[i] = time.Duration(r.iv())
	}
	if r.err == nil && !slices.Equal(ws, d.windows) {
		r.fail("stats windows %v, this distributor's are %v (WithWindows)", ws, d.windows)
	}
	if r.bool() {
		b := r.bytes()
		if r.err == nil {
			if d.rndState == nil {
				r.fail("it holds the random generator's state but the one given with WithRand cannot take it: give a *rand.PCG with WithRandSource")
			} else if err := d.rndState.UnmarshalBinary(b); err != nil {
				r.fail("restoring the random generator: %v", err)
			}
		}
	}
	if r.err != nil {
		return
	}

	if n := r.count(len(d.queues)); r.err == nil && n != len(d.queues) {
		r.fail("%d queues, the configuration has %d", n, len(d.queues))
	}
	callbacks := make([]int, len(d.queues))
	for qi, q := range d.queues {
		if name := r.str(); r.err == nil && name != q.cfg.Name {
			r.fail("queue %d is %q, the configuration's is %q", qi, name, q.cfg.Name)
		}
		nc := r.count(1 << 16)
		for i := range nc {
			mask := r.skills()
			if r.err != nil {
				return
			}
			if !mask.covers(&q.skills) {
				r.fail("queue %q: a class without the queue's skills", q.cfg.Name)
				return
			}
			if c := d.classFor(q, mask); i >= len(q.classList) || q.classList[i] != c {
				r.fail("queue %q: class %d is listed twice", q.cfg.Name, i)
				return
			}
		}
		if r.err == nil && nc != len(q.classList) {
			r.fail("queue %q: %d classes, at least %d expected", q.cfg.Name, nc, len(q.classList))
		}
		q.all, q.ringing = newOrderedSet(entryLess), newOrderedSet(entryLess)
		for _, c := range q.classList {
			c.waiting = newOrderedSet(entryLess)
			c.free = newOrderedSet(agentOrder(q, &c.mask))
		}
		q.rrLast = int(r.iv())
		if r.err == nil && (q.rrLast < -1 || q.rrLast >= len(q.members)) {
			r.fail("queue %q: round-robin position %d out of range", q.cfg.Name, q.rrLast)
		}
		callbacks[qi] = int(r.iv())
		nr := r.count(recentHandleSamples)
		q.recent = q.recent[:0]
		for range nr {
			q.recent = append(q.recent, time.Duration(r.iv()))
		}
		q.recentN = int(r.iv())
		if r.err == nil && (q.recentN < len(q.recent) || (len(q.recent) < recentHandleSamples && q.recentN != len(q.recent))) {
			r.fail("queue %q: %d recent handle times for a count of %d", q.cfg.Name, len(q.recent), q.recentN)
		}
		q.relValid = false
		st := q.stats
		r.counters(&st.totals)
		if n := r.uv(); r.err == nil && n != uint64(len(st.buckets)) {
			r.fail("queue %q: %d stats buckets, this distributor has %d", q.cfg.Name, n, len(st.buckets))
		}
		clear(st.buckets)
		nv := r.count(len(st.buckets))
		for range nv {
			i := r.index(len(st.buckets))
			b := bucket{epoch: r.iv(), valid: true}
			r.counters(&b.c)
			if r.err != nil {
				return
			}
			st.buckets[i] = b
		}
		if r.err != nil {
			return
		}
	}

	agentRef := func() *agent {
		if i := r.uv(); i != refNil && r.err == nil {
			if i > uint64(len(d.agents)) {
				r.fail("agent %d out of range", i-1)
				return nil
			}
			return d.agents[i-1]
		}
		return nil
	}
	ne := r.count(1 << 30)
	entries := make([]*entry, 0, ne)
	var offers []*offer
	d.calls = make(map[string]*entry, ne)
	for range ne {
		e := &entry{alive: true}
		r.call(d, &e.call)
		e.seq = r.uv()
		e.q = d.queues[r.index(len(d.queues))]
		e.cls = e.q.classList[r.index(len(e.q.classList))]
		e.extra = r.skills()
		e.prio = int(r.iv())
		e.arrived = r.time()
		e.enqueuedAt = r.time()
		e.state = callStates[r.index(len(callStates))]
		no := r.count(len(d.agents))
		for range no {
			o := &offer{e: e, a: d.agents[r.index(len(d.agents))], at: r.time(), deadline: r.time(), active: true, consult: r.bool()}
			e.offers = append(e.offers, o)
			offers = append(offers, o)
		}
		nx := r.count(1 << 20)
		for range nx {
			e.excluded = append(e.excluded, exclusion{a: d.agents[r.index(len(d.agents))], until: r.time()})
		}
		e.agent = agentRef()
		e.answeredAt = r.time()
		e.holdSince = r.time()
		e.consultant = agentRef()
		e.tok = r.uv()
		e.pendingTimeout, e.pendingOverflow = r.bool(), r.bool()
		e.callbackChecks, e.nextRule = int(r.iv()), int(r.iv())
		if r.err != nil {
			return
		}
		switch {
		case d.calls[e.call.ID] != nil:
			r.fail("call %q is listed twice", e.call.ID)
		case e.seq == 0 || e.seq > d.seq || len(entries) > 0 && e.seq <= entries[len(entries)-1].seq && e.seq != 0:
			r.fail("call %q: enqueue sequence %d out of order", e.call.ID, e.seq)
		case e.state == CallConnected && e.agent == nil:
			r.fail("call %q is connected to no agent", e.call.ID)
		case e.state == CallRinging && len(e.offers) == 0:
			r.fail("call %q is ringing no agent", e.call.ID)
		}
		if r.err != nil {
			return
		}
		entries = append(entries, e)
		d.calls[e.call.ID] = e
	}
	offerRef := func() *offer {
		switch i := r.uv(); {
		case r.err != nil || i == refNil:
		case i == refDead:
			return deadOffer
		case i-2 < uint64(len(offers)):
			return offers[i-2]
		default:
			r.fail("offer %d out of range", i-2)
		}
		return nil
	}

	if n := r.count(len(d.agents)); r.err == nil && n != len(d.agents) {
		r.fail("%d agents, the configuration has %d", n, len(d.agents))
	}
	for _, a := range d.agents {
		if id := r.str(); r.err == nil && id != a.cfg.ID {
			r.fail("agent %d is %q, the configuration's is %q", a.idx, id, a.cfg.ID)
		}
		a.state = AgentState(r.index(int(numStates)))
		a.since = r.time()
		a.pauseReason = r.str()
		a.reasonSince = r.time()
		a.pendingPause = r.str()
		a.pendingLogout = r.bool()
		a.idleSince = r.time()
		a.offer = offerRef()
		if n := r.count(len(a.members)); r.err == nil && n != len(a.members) {
			r.fail("agent %q: %d queues, the configuration has %d", a.cfg.ID, n, len(a.members))
		}
		for _, m := range a.members {
			m.loggedIn = r.bool()
		}
		a.work = nil
		if r.bool() {
			a.work = &work{callID: r.str(), q: d.queues[r.index(len(d.queues))], kind: r.kind(), customerID: r.str(),
				answeredAt: r.time(), hungUpAt: r.time(), hold: time.Duration(r.iv()), consult: r.bool()}
		}
		a.wrapUntil = r.time()
		a.wrapTok = r.uv()
		a.callsHandled, a.transfers, a.sessionCalls = r.iv(), r.iv(), r.iv()
		a.sessionTalk = time.Duration(r.iv())
		a.consecutiveMisses = int(r.iv())
		a.misses = MissCounts{NoAnswer: r.iv(), Busy: r.iv(), Rejected: r.iv(), Unreachable: r.iv()}
		for i := range a.timeIn {
			a.timeIn[i] = time.Duration(r.iv())
		}
		np := r.count(1 << 20)
		a.pauseTime = make(map[string]time.Duration, np)
		for range np {
			k := r.str()
			a.pauseTime[k] = time.Duration(r.iv())
		}
		if r.err != nil {
			return
		}
		switch {
		case a.offer == deadOffer || a.offer != nil && a.offer.a != a:
			r.fail("agent %q holds another's offer", a.cfg.ID)
		case a.state == Reserved && a.offer == nil:
			r.fail("agent %q is reserved without an offer", a.cfg.ID)
		case (a.state == OnCall || a.state == WrapUp) && a.work == nil:
			r.fail("agent %q is %s without a call", a.cfg.ID, a.state)
		}
		if r.err != nil {
			return
		}
	}
	for _, e := range entries {
		if e.state == CallConnected && e.agent.work == nil {
			r.fail("call %q is connected to agent %q, who has no call", e.call.ID, e.agent.cfg.ID)
			return
		}
	}

	nt := r.count(1 << 30)
	d.timers = make(timerHeap, 0, nt)
	for range nt {
		t := timer{at: r.time(), seq: r.uv(), kind: timerKind(r.index(int(timerRetry) + 1)), tok: r.uv()}
		t.ns = t.at.UnixNano()
		switch i := r.uv(); {
		case r.err != nil || i == refNil:
		case i == refDead:
			t.e = deadEntry
		case i-2 < uint64(len(entries)):
			t.e = entries[i-2]
		default:
			r.fail("timer: call %d out of range", i-2)
		}
		t.a = agentRef()
		t.o = offerRef()
		if r.err != nil {
			return
		}
		switch {
		case t.seq == 0 || t.seq > d.tseq:
			r.fail("timer sequence %d out of range", t.seq)
		case t.kind == timerRing && t.o == nil, t.kind == timerWrapUp && t.a == nil,
			t.kind != timerRing && t.kind != timerWrapUp && t.e == nil:
			r.fail("timer of kind %d without its subject", t.kind)
		}
		d.timers = append(d.timers, t)
	}
	for i := 1; i < len(d.timers) && r.err == nil; i++ {
		if d.timers.less(i, (i-1)/2) {
			r.fail("the timers are not a heap")
		}
	}
	if r.err != nil {
		return
	}

	// The ordered sets, from the entries and agents in place.
	for _, e := range entries {
		switch e.state {
		case CallWaiting:
			e.q.all.Insert(e)
			e.cls.waiting.Insert(e)
		case CallRinging:
			e.q.all.Insert(e)
			e.q.ringing.Insert(e)
		}
	}
	for qi, q := range d.queues {
		q.callbacks = callbacks[qi]
	}
	for _, a := range d.agents {
		if a.state == Available {
			d.insertFree(a)
		}
	}
	d.acts, d.samples = nil, nil
}

// deadEntry and deadOffer stand for what timers point at that has gone: they only need to
// say so (alive and active are false).
var (
	deadEntry = &entry{}
	deadOffer = &offer{}
)

// ---- binary primitives ----

type ckWriter struct {
	b    []byte
	base int64 // times are written as seconds from it
}

func (w *ckWriter) uv(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *ckWriter) iv(v int64)  { w.b = binary.AppendVarint(w.b, v) }
func (w *ckWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}
func (w *ckWriter) bytes(b []byte) { w.uv(uint64(len(b))); w.b = append(w.b, b...) }
func (w *ckWriter) str(s string)   { w.uv(uint64(len(s))); w.b = append(w.b, s...) }

// Time tags: the zero time, or a time in UTC, in Local, or in another zone (name and offset).
const (
	timeZero = iota
	timeUTC
	timeLocal
	timeZone
)

func (w *ckWriter) time(t time.Time) {
	switch loc := t.Location(); {
	case t.IsZero() && loc == time.UTC:
		w.uv(timeZero)
		return
	case loc == time.UTC:
		w.uv(timeUTC)
	case loc == time.Local:
		w.uv(timeLocal)
	default:
		name, off := t.Zone()
		w.uv(timeZone)
		w.str(name)
		w.iv(int64(off))
	}
	w.iv(t.Unix() - w.base)
	w.uv(uint64(t.Nanosecond()))
}

func (w *ckWriter) skills(s skillSet) {
	for _, x := range s {
		w.uv(x)
	}
}

func (w *ckWriter) kind(k CallKind) {
	switch k {
	case KindCaller:
		w.uv(0)
	case KindCallback:
		w.uv(1)
	default:
		w.uv(2)
		w.str(string(k))
	}
}

func (w *ckWriter) call(d *Distributor, c *Call) {
	w.str(c.ID)
	if q := d.queueByName[c.Queue]; q != nil {
		w.uv(uint64(q.idx) + 1)
	} else {
		w.uv(0)
		w.str(c.Queue)
	}
	w.iv(int64(c.Priority))
	if c.Skills == nil {
		w.uv(0)
	} else {
		w.uv(uint64(len(c.Skills)) + 1)
		for _, s := range c.Skills {
			w.str(s)
		}
	}
	w.time(c.ArrivedAt)
	w.kind(c.Kind)
	w.str(c.CustomerID)
}

// counters writes every field of c, in declaration order (checkpoint_test checks none is
// forgotten).
func (w *ckWriter) counters(c *Counters) {
	for _, v := range counterFields(c) {
		w.iv(*v)
	}
}

// counterFields lists pointers to c's fields.
func counterFields(c *Counters) []*int64 {
	d := func(p *time.Duration) *int64 { return (*int64)(p) }
	return []*int64{
		&c.Entered, &c.Offered, &c.Answered, &c.AnsweredInTarget, &c.Abandoned, &c.ShortAbandoned,
		&c.AbandonedInTarget, &c.TimedOut, &c.OverflowedOut, &c.ConvertedToCallback, &c.LeftInTarget,
		d(&c.AnsweredWait), &c.CallbacksEntered, &c.CallbacksAnswered, &c.CallbacksCancelled,
		d(&c.CallbackWait), &c.Handled, d(&c.TalkTime), d(&c.HoldTime), &c.Transferred,
		d(&c.WrapUpTime), d(&c.AgentBusyTime), d(&c.AgentIdleTime),
	}
}

// ckReader reads what ckWriter wrote. The first error sticks: later reads return zero
// values, so decoding code checks r.err only where a bad value could do harm.
type ckReader struct {
	b    []byte
	err  error
	base int64
}

func (r *ckReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.b = nil
}

func (r *ckReader) uv() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated or malformed number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *ckReader) iv() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("truncated or malformed number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *ckReader) bool() bool {
	switch v := r.uv(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.fail("boolean %d", v)
		return false
	}
}

// count reads a length of at most max; each element takes at least one byte, so a length
// longer than what is left is refused before anything is allocated for it.
func (r *ckReader) count(max int) int {
	v := r.uv()
	if r.err == nil && (v > uint64(max) || v > uint64(len(r.b))) {
		r.fail("length %d out of range", v)
		return 0
	}
	return int(v)
}

// index reads a number in [0, n) (0 after an error, so n must be > 0 or the caller must not
// use it then).
func (r *ckReader) index(n int) int {
	v := r.uv()
	if r.err == nil && v >= uint64(n) {
		r.fail("index %d out of range [0, %d)", v, n)
	}
	if r.err != nil {
		return 0
	}
	return int(v)
}

func (r *ckReader) raw(n int) []byte {
	if r.err != nil {
		return make([]byte, n)
	}
	if len(r.b) < n {
		r.fail("truncated")
		return make([]byte, n)
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *ckReader) bytes() []byte { return bytes.Clone(r.raw(r.count(1 << 30))) }
func (r *ckReader) str() string   { return string(r.raw(r.count(1 << 30))) }

func (r *ckReader) time() time.Time {
	var loc *time.Location
	switch tag := r.uv(); tag {
	case timeZero:
		return time.Time{}
	case timeUTC:
		loc = time.UTC
	case timeLocal:
		loc = time.Local
	case timeZone:
		name, off := r.str(), r.iv()
		if r.err == nil && (off < -24*3600 || off > 24*3600) {
			r.fail("zone offset %d", off)
		}
		loc = time.FixedZone(name, int(off))
	default:
		r.fail("time tag %d", tag)
		return time.Time{}
	}
	sec, nsec := r.iv(), r.uv()
	if r.err == nil && nsec >= 1e9 {
		r.fail("nanoseconds %d", nsec)
	}
	if r.err != nil {
		return time.Time{}
	}
	return time.Unix(sec+r.base, int64(nsec)).In(loc)
}

func (r *ckReader) skills() skillSet {
	var s skillSet
	for i := range s {
		s[i] = r.uv()
	}
	return s
}

func (r *ckReader) kind() CallKind {
	switch v := r.uv(); v {
	case 0:
		return KindCaller
	case 1:
		return KindCallback
	case 2:
		return CallKind(r.str())
	default:
		r.fail("call kind %d", v)
		return ""
	}
}

func (r *ckReader) call(d *Distributor, c *Call) {
	c.ID = r.str()
	if q := r.uv(); q == 0 {
		c.Queue = r.str()
	} else if r.err == nil && q <= uint64(len(d.queues)) {
		c.Queue = d.queues[q-1].cfg.Name
	} else {
		r.fail("queue %d out of range", q-1)
	}
	c.Priority = int(r.iv())
	if n := r.count(1 << 20); n > 0 {
		c.Skills = make([]string, n-1)
		for i := range c.Skills {
			c.Skills[i] = r.str()
		}
	}
	c.ArrivedAt = r.time()
	c.Kind = r.kind()
	c.CustomerID = r.str()
}

func (r *ckReader) counters(c *Counters) {
	for _, v := range counterFields(c) {
		*v = r.iv()
	}
}
