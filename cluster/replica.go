package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/acd"
)

// ErrConfigMismatch is returned by Open when this node's distributor configuration differs
// from the one of the site's running nodes.
var ErrConfigMismatch = errors.New("cluster: this node's queues and agents differ from those of the site's running nodes")

// ErrUnavailable is returned by a request that could not be applied: Redis did not take it,
// or it was not applied within Config.Timeout, or the shared state was lost.
var ErrUnavailable = errors.New("cluster: the shared distributor is unavailable")

// Config is a replica's configuration. Every node of a site has the same Prefix and ACD.
type Config struct {
	Redis  redis.UniversalClient
	Prefix string // of the Redis keys (default "hotline")
	Node   string // this node's name, unique in the site
	ACD    acd.Config
	// Clock stamps this node's requests (default the wall clock). The distributor itself
	// runs on the stamps of the entries it applies.
	Clock acd.Clock
	Log   *slog.Logger
	// Timeout bounds how long a request waits for its entry to be appended and applied, and
	// each of Open's calls to Redis (default 2s), whatever the client's own timeouts.
	Timeout time.Duration
	// DeadAfter is how long a node may go without refreshing its place in the set of live
	// nodes before the others declare it gone (default 3s; it refreshes every third).
	DeadAfter time.Duration
	// Observer receives the distributor's samples of the calls this node owns (nil: none).
	// Give it here, not as an acd.WithObserver option.
	Observer acd.Observer
	// CheckpointEvery is how many entries are applied between checkpoints of the shared
	// distributor, which bound the stream (default 10,000; negative: none; see checkpoint.go),
	// and CheckpointInterval the least time between two (default 5s).
	CheckpointEvery    int
	CheckpointInterval time.Duration
}

// Replica is the shared distributor of one node. See the package documentation.
type Replica struct {
	cfg    Config
	rdb    redis.UniversalClient
	epText string // the epoch record as stored: an entry is added only while it is the site's
	log    *slog.Logger
	inc    string // this incarnation: node name/random
	keys   keys
	ep     epoch

	clk *logClock
	d   *acd.Distributor

	seq     atomic.Uint64
	wmu     sync.Mutex
	waiters map[uint64]chan result

	// Applied state, changed only by the goroutine that applies the stream.
	omu          sync.Mutex
	owners       map[string]string // call ID -> owning incarnation
	wrapping     map[string]string // call ID -> owner, for calls that left while their agent wraps up
	bootstrapped bool
	lastID       string
	applied      atomic.Uint64 // entries applied (read by tests waiting for a position)
	failed       atomic.Pointer[error]
	ck           checkpointer // see checkpoint.go
	noLeave      atomic.Bool  // a test's simulated crash: Run ends without leaving the live set

	sink   atomic.Pointer[func([]acd.Action)]
	notify chan struct{} // poked when an entry was added by this node (wakes nothing: the read blocks in Redis)
}

type keys struct{ log, nodes, epoch, config, count string }

// epoch is the record of a site's current run, written by its first node.
type epoch struct {
	ID     string `json:"id"`
	Config string `json:"config"` // SHA-256 of the distributor's configuration
	Start  int64  `json:"start"`  // the distributor's initial time, ns
	Seed   uint64 `json:"seed"`
}

type result struct {
	acts []acd.Action
	err  error
}

// logClock is the replica's distributor's clock: the stamp of the entry being applied while
// one is, else the wall clock (reads only). Stamps are read in the location of the wall
// clock, so that the distributor's times read alike whichever way they were made.
type logClock struct {
	at   atomic.Int64
	wall acd.Clock
	loc  *time.Location
}

func (c *logClock) Now() time.Time {
	if ns := c.at.Load(); ns != 0 {
		return time.Unix(0, ns).In(c.loc)
	}
	return c.wall.Now()
}

var _ acd.Engine = (*Replica)(nil)

// joinScript registers an incarnation in the set of live nodes and tells whether it starts a
// new epoch (no node was alive) or joins the current one. Other incarnations of the same node
// name (a restart) leave the set at once, so the others declare them gone within a second.
var joinScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.sub(m, 1, string.len(ARGV[4])) == ARGV[4] then redis.call('ZREM', KEYS[1], m) end
end
local fresh = 0
local ep = redis.call('GET', KEYS[3])
if redis.call('ZCARD', KEYS[1]) == 0 or not ep then
  redis.call('DEL', KEYS[2], KEYS[5])
  redis.call('SET', KEYS[3], ARGV[3])
  redis.call('SET', KEYS[4], ARGV[5])
  ep = ARGV[3]
  fresh = 1
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return {fresh, ep}
`)

// addScript appends an entry to the stream if the site's epoch is still the proposer's: a node
// left over from an epoch that ended (Redis lost its data, a new first node started a new one)
// cannot write into the new epoch's stream.
var addScript = redis.NewScript(`
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return redis.error_reply('EPOCH the site is in another epoch') end
local n = redis.call('INCR', KEYS[3])
return redis.call('XADD', KEYS[1], '*', 'e', ARGV[2], 'n', n, 'p', ARGV[3], 's', ARGV[4], 't', ARGV[5], 'o', ARGV[6], 'a', ARGV[7])
`)

// beatScript refreshes an incarnation's place; it returns 0 if the place had been lost (the
// others may have declared it gone).
var beatScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
`)

// deadScript returns which of the given incarnations are not alive.
var deadScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = {}
for _, m in ipairs(ARGV) do
  local s = redis.call('ZSCORE', KEYS[1], m)
  if not s or tonumber(s) < now then table.insert(dead, m) end
end
return dead
`)

// Open joins the site (or starts it) and replays the stream of its current epoch, so the
// replica is up to date when it returns. Run must be running before requests are made.
func Open(ctx context.Context, cfg Config, opts ...acd.Option) (*Replica, error) {
	if cfg.Redis == nil {
		return nil, errors.New("cluster: Config.Redis is nil")
	}
	if cfg.Node == "" || strings.Contains(cfg.Node, "/") {
		return nil, fmt.Errorf("cluster: node name %q: want a non-empty name without /", cfg.Node)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "hotline"
	}
	if cfg.Clock == nil {
		cfg.Clock = acd.SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = 3 * time.Second
	}
	if err := cfg.ACD.Validate(); err != nil {
		return nil, err
	}
	conf, err := json.Marshal(cfg.ACD)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(conf)
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	r := &Replica{
		cfg: cfg, rdb: cfg.Redis, inc: cfg.Node + "/" + hex.EncodeToString(nonce[:4]),
		keys: keys{log: cfg.Prefix + ":acd:log", nodes: cfg.Prefix + ":acd:nodes", epoch: cfg.Prefix + ":acd:epoch",
			config: cfg.Prefix + ":acd:config", count: cfg.Prefix + ":acd:count"},
		waiters: map[uint64]chan result{}, owners: map[string]string{}, wrapping: map[string]string{}, lastID: "0-0",
		notify: make(chan struct{}, 1),
	}
	r.log = cfg.Log.With("component", "cluster", "node", r.inc)
	mine, _ := json.Marshal(epoch{ID: hex.EncodeToString(nonce[4:]) + strconv.FormatInt(cfg.Clock.Now().UnixNano(), 36),
		Config: hex.EncodeToString(sum[:]), Start: cfg.Clock.Now().UnixNano(), Seed: binary.BigEndian.Uint64(nonce[:])})
	res, err := within(ctx, cfg.Timeout, func(ctx context.Context) ([]any, error) {
		return joinScript.Run(ctx, r.rdb, []string{r.keys.nodes, r.keys.log, r.keys.epoch, r.keys.config, r.keys.count},
			r.inc, cfg.DeadAfter.Milliseconds(), string(mine), cfg.Node+"/", string(conf)).Slice()
	})
	if err != nil {
		return nil, fmt.Errorf("%w: joining: %v", ErrUnavailable, err)
	}
	fresh, _ := res[0].(int64)
	epText, _ := res[1].(string)
	r.epText = epText
	if err := json.Unmarshal([]byte(epText), &r.ep); err != nil {
		return nil, fmt.Errorf("cluster: the site's epoch record %q: %w", epText, err)
	}
	if r.ep.Config != hex.EncodeToString(sum[:]) {
		r.leave(ctx)
		why := "the site's configuration is not recorded"
		text, err := within(ctx, cfg.Timeout, func(ctx context.Context) (string, error) {
			return r.rdb.Get(ctx, r.keys.config).Result()
		})
		var site acd.Config
		if err == nil && json.Unmarshal([]byte(text), &site) == nil {
			why = configDiff(cfg.ACD, site)
		}
		return nil, fmt.Errorf("%w: %s (configuration %s, the site's %s); every node must have the same queues, agents and acd settings", ErrConfigMismatch, why, hex.EncodeToString(sum[:4]), r.ep.Config[:min(8, len(r.ep.Config))])
	}
	r.clk = &logClock{wall: cfg.Clock, loc: cfg.Clock.Now().Location()}
	r.clk.at.Store(r.ep.Start)
	all := append(slices.Clone(opts), acd.WithRandSource(mrand.NewPCG(r.ep.Seed, 0x0acd)),
		acd.WithObserver(&ownObserver{r: r, next: cfg.Observer}))
	if r.d, err = acd.New(cfg.ACD, r.clk, all...); err != nil {
		return nil, err
	}
	if fresh != 1 { // a live site: from its checkpoint, if it has one
		if err := r.loadCheckpoint(ctx, all); err != nil {
			r.leave(ctx)
			return nil, err
		}
	}
	r.clk.at.Store(0)
	if fresh == 1 {
		r.log.Info("shared distributor: new epoch (no other node alive)", "epoch", r.ep.ID)
	}
	if err := r.catchUp(ctx); err != nil {
		r.leave(ctx)
		return nil, err
	}
	r.log.Info("shared distributor joined", "epoch", r.ep.ID, "entries", r.applied.Load(), "new", fresh == 1)
	return r, nil
}

// Node returns this incarnation's name: the node's name and a random suffix.
func (r *Replica) Node() string { return r.inc }

// leave takes this incarnation out of the live set (a clean stop, or a refused join).
func (r *Replica) leave(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	r.rdb.ZRem(ctx, r.keys.nodes, r.inc)
}

// within runs a Redis call and gives up after d, even if Redis does not answer (go-redis
// bounds a command by its client's timeouts, not by a context's deadline, unless
// ContextTimeoutEnabled).
func within[T any](ctx context.Context, d time.Duration, f func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type out struct {
		v   T
		err error
	}
	done := make(chan out, 1)
	go func() {
		v, err := f(ctx)
		done <- out{v, err}
	}()
	select {
	case o := <-done:
		return o.v, o.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("no answer within %v: %w", d, ctx.Err())
	}
}

// catchUp applies the stream up to its current end.
func (r *Replica) catchUp(ctx context.Context) error {
	for {
		msgs, err := within(ctx, r.cfg.Timeout, func(ctx context.Context) ([]redis.XMessage, error) {
			return r.readAfter(ctx, 1000)
		})
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			return nil
		}
		for _, m := range msgs {
			r.apply(m)
		}
	}
}

// Run applies the stream as it grows, keeps this node's place in the live set and declares
// silent nodes gone, until ctx ends; actions for this node from other nodes' entries go to
// sink. It returns nil when ctx ends, or the error that stopped the replica (the shared
// state was lost).
func (r *Replica) Run(ctx context.Context, sink func([]acd.Action)) error {
	r.sink.Store(&sink)
	ctx, stop := context.WithCancel(ctx) // also ends beat and watch when the stream fails
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.beat(ctx) }()
	go func() { defer wg.Done(); r.watch(ctx) }()
	defer func() {
		stop()
		wg.Wait()
		if !r.noLeave.Load() {
			r.leave(ctx)
		}
	}()
	// The read blocks in Redis for up to a second, and go-redis does not end a blocked read
	// when its context is cancelled: the stream is read and applied on a goroutine of its own,
	// so that Run returns at once (a read still blocked then ends within the second, and what
	// it returns is not applied).
	read := make(chan struct{})
	go func() { defer close(read); r.read(ctx) }()
	select {
	case <-ctx.Done():
		return nil
	case <-read:
		if p := r.failed.Load(); p != nil {
			return *p
		}
		return nil
	}
}

// read applies the stream as it grows until ctx ends or the shared state is lost.
func (r *Replica) read(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil && r.failed.Load() == nil {
		streams, err := r.readNext(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, redis.Nil):
			continue
		case err != nil:
			r.log.Error("reading the shared distributor's stream", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		for _, s := range streams {
			for _, m := range s.Messages {
				r.apply(m)
				r.maybeCheckpoint()
			}
		}
	}
}

// beat refreshes this incarnation's place in the live set every third of DeadAfter.
func (r *Replica) beat(ctx context.Context) {
	t := time.NewTicker(r.cfg.DeadAfter / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		added, err := beatScript.Run(ctx, r.rdb, []string{r.keys.nodes}, r.inc, r.cfg.DeadAfter.Milliseconds()).Int()
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Warn("refreshing this node's place in the shared distributor", "error", err)
		case added == 1:
			r.log.Error("this node had lost its place in the shared distributor (silent for more than dead_after): the others may have ended its calls", "dead_after", r.cfg.DeadAfter)
		}
	}
}

// watch declares gone, once a second, the owners of calls that are no longer alive.
func (r *Replica) watch(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.omu.Lock()
		seen := map[string]bool{}
		var incs []any
		for _, o := range r.owners {
			if o != r.inc && !seen[o] {
				seen[o] = true
				incs = append(incs, o)
			}
		}
		r.omu.Unlock()
		if len(incs) == 0 {
			continue
		}
		dead, err := deadScript.Run(ctx, r.rdb, []string{r.keys.nodes}, incs...).StringSlice()
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("checking which nodes are alive", "error", err)
			}
			continue
		}
		for _, inc := range dead {
			r.log.Warn("node gone: its calls leave the shared distributor", "gone", inc)
			if _, err := r.propose(opGone, args{Node: inc}); err != nil {
				r.log.Error("declaring a node gone", "gone", inc, "error", err)
			}
		}
	}
}

// ownObserver passes on the distributor's samples of the calls this node owns.
type ownObserver struct {
	r    *Replica
	next acd.Observer
}

func (o *ownObserver) mine(callID string) bool {
	o.r.omu.Lock()
	defer o.r.omu.Unlock()
	return o.r.owners[callID] == o.r.inc
}

func (o *ownObserver) ObserveWait(s acd.WaitSample) {
	if o.next != nil && o.mine(s.CallID) {
		o.next.ObserveWait(s)
	}
}

// ObserveHandle: a handle sample comes when the wrap-up ends, after the call has left (then
// its owner is in wrapping, until this sample).
func (o *ownObserver) ObserveHandle(s acd.HandleSample) {
	o.r.omu.Lock()
	owner, ok := o.r.owners[s.CallID]
	if !ok {
		owner = o.r.wrapping[s.CallID]
		delete(o.r.wrapping, s.CallID)
	}
	o.r.omu.Unlock()
	if o.next != nil && owner == o.r.inc {
		o.next.ObserveHandle(s)
	}
}

// configDiff names the first difference between this node's configuration and the site's.
func configDiff(mine, site acd.Config) string {
	diffs := append(keyedDiff("queue", mine.Queues, site.Queues, func(q acd.QueueConfig) string { return q.Name }),
		keyedDiff("agent", mine.Agents, site.Agents, func(a acd.AgentConfig) string { return a.ID })...)
	if mine.MaxMisses != site.MaxMisses {
		diffs = append(diffs, fmt.Sprintf("max_misses is %d here, %d in the site", mine.MaxMisses, site.MaxMisses))
	}
	if len(diffs) == 0 {
		return "the order of queues or agents differs"
	}
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("and %d more", len(diffs)-5))
	}
	return strings.Join(diffs, "; ")
}

// keyedDiff names the items (queues or agents, by key) that only one side has, or that differ.
func keyedDiff[T any](kind string, mine, site []T, key func(T) string) []string {
	enc := func(v T) string { b, _ := json.Marshal(v); return string(b) }
	index := func(l []T) map[string]T {
		m := map[string]T{}
		for _, v := range l {
			m[key(v)] = v
		}
		return m
	}
	mi, si := index(mine), index(site)
	var diffs []string
	for _, v := range mine {
		if o, ok := si[key(v)]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s %q is not in the site's", kind, key(v)))
		} else if enc(v) != enc(o) {
			diffs = append(diffs, fmt.Sprintf("%s %q differs", kind, key(v)))
		}
	}
	for _, v := range site {
		if _, ok := mi[key(v)]; !ok {
			diffs = append(diffs, fmt.Sprintf("the site's %s %q is missing here", kind, key(v)))
		}
	}
	return diffs
}
