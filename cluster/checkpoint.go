package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/acd"
)

// Checkpoints bound the stream.
//
// Every Config.CheckpointEvery applied entries (and at most every CheckpointInterval), the
// node that wins a short lock (SET NX PX) saves an exact checkpoint of its copy, taken right
// after applying stream entry X, into the key <prefix>:acd:checkpoint: the epoch, X, the
// number of entries applied, the replica's own bookkeeping (the calls' owners, whether the
// epoch's saved states were restored) and the distributor's acd checkpoint. The write is
// conditional (a Lua script compares stream IDs), so a slower node's older checkpoint never
// replaces a newer one, nor one of another epoch the current one. The same script trims the
// stream up to the previous checkpoint's entry (XTRIM MINID), not up to X: a node a little
// behind X still finds its next entries. The stream thus holds about two checkpoint
// intervals of entries, whatever the epoch's age.
//
// A node joining a live site restores its copy from the checkpoint and replays the stream
// from X on. A node whose next entries were trimmed away (it fell more than a checkpoint
// interval behind, or stalled) stops with ErrUnavailable ("fell behind the stream") rather
// than skip them; restarting it makes it join again from the newest checkpoint.
//
// Reading checks for this at every read: the read that returns entries (XRANGE) runs in one
// transaction with a check that the last entry applied is still in the stream (or, before
// any, that the epoch's stream was never trimmed). When nothing is left to read, the node
// blocks on XREAD from its last entry: what that returns is contiguous, since the stream
// cannot be trimmed past an entry before two more checkpoints, at least CheckpointInterval
// apart, have been taken after it.

// Defaults of the checkpoint settings.
const (
	DefaultCheckpointEvery    = 10000
	DefaultCheckpointInterval = 5 * time.Second
)

// checkpointer is the replica's checkpoint bookkeeping (the applying goroutine's).
type checkpointer struct {
	at   uint64    // applied count of the last checkpoint taken or attempted
	last time.Time // wall time of the last attempt
	busy bool      // a write is in flight
	done chan struct{}
}

// ckMeta is the replica's part of a checkpoint.
type ckMeta struct {
	Applied      uint64            `json:"applied"`
	Bootstrapped bool              `json:"bootstrapped"`
	Owners       map[string]string `json:"owners"`
}

func (r *Replica) ckKey() string  { return r.cfg.Prefix + ":acd:checkpoint" }
func (r *Replica) ckLock() string { return r.cfg.Prefix + ":acd:checkpoint:lock" }
func (r *Replica) ckEvery() uint64 {
	return uint64(cmpDefault(r.cfg.CheckpointEvery, DefaultCheckpointEvery))
}
func (r *Replica) ckInterval() time.Duration {
	return cmpDefault(r.cfg.CheckpointInterval, DefaultCheckpointInterval)
}

func cmpDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// ckScript writes a checkpoint if it is of the current epoch and newer than the one saved,
// and trims the stream up to the entry of the one it replaces. It returns 1 when written, 0
// when the saved one is as new or newer, -1 when the epoch is not the site's.
// KEYS: checkpoint, stream, epoch; ARGV: epoch, entry ID, applied, meta, data.
var ckScript = redis.NewScript(`
local function older(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  if am ~= bm then return am < bm end
  return as < bs
end
local ep = redis.call('GET', KEYS[3])
if not ep or cjson.decode(ep).id ~= ARGV[1] then return -1 end
local cur = redis.call('HMGET', KEYS[1], 'epoch', 'id', 'trimmed')
local trimmed = ''
if cur[1] == ARGV[1] and cur[2] then
  if not older(cur[2], ARGV[2]) then return 0 end
  redis.call('XTRIM', KEYS[2], 'MINID', cur[2])
  trimmed = cur[2]
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'id', ARGV[2], 'applied', ARGV[3], 'meta', ARGV[4], 'data', ARGV[5], 'trimmed', trimmed)
return 1
`)

// maybeCheckpoint takes a checkpoint after the entry just applied when one is due and this
// node wins the lock; the write to Redis goes on in the background. Only the goroutine that
// applies the stream calls it.
func (r *Replica) maybeCheckpoint() {
	if r.cfg.CheckpointEvery < 0 || r.applied.Load()-r.ck.at < r.ckEvery() || !r.ckWritten() || r.failed.Load() != nil {
		return
	}
	now := time.Now()
	if now.Sub(r.ck.last) < r.ckInterval() {
		return
	}
	r.ck.at, r.ck.last = r.applied.Load(), now
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
	won, err := r.rdb.SetNX(ctx, r.ckLock(), r.inc, r.ckInterval()).Result()
	cancel()
	if err != nil {
		r.log.Warn("checkpoint: taking the lock", "error", err)
		return
	}
	if !won {
		return
	}
	data, meta, err := r.checkpoint()
	if err != nil {
		r.log.Error("checkpoint: not taken", "error", err)
		return
	}
	id, applied := r.lastID, r.applied.Load()
	done := make(chan struct{})
	r.ck.busy, r.ck.done = true, done
	go func() {
		defer close(done)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 4*r.cfg.Timeout)
		defer cancel()
		wrote, err := r.writeCheckpoint(ctx, id, applied, meta, data)
		switch {
		case err != nil:
			r.log.Warn("checkpoint: writing", "id", id, "error", err)
		case wrote:
			r.log.Debug("checkpoint written", "id", id, "applied", applied, "bytes", len(data), "took", time.Since(start))
		}
	}()
}

// ckWritten notes the end of a background write (the applying goroutine only).
func (r *Replica) ckWritten() bool {
	if !r.ck.busy {
		return true
	}
	select {
	case <-r.ck.done:
		r.ck.busy = false
		return true
	default:
		return false
	}
}

// checkpoint returns the distributor's checkpoint and the replica's envelope, as they stand
// after the last applied entry.
func (r *Replica) checkpoint() (data, meta []byte, err error) {
	if data, err = r.d.Checkpoint(); err != nil {
		return nil, nil, err
	}
	r.omu.Lock()
	m := ckMeta{Applied: r.applied.Load(), Bootstrapped: r.bootstrapped, Owners: r.owners}
	meta, err = json.Marshal(m)
	r.omu.Unlock()
	return data, meta, err
}

// writeCheckpoint saves a checkpoint taken at entry id; false if a newer one is saved.
func (r *Replica) writeCheckpoint(ctx context.Context, id string, applied uint64, meta, data []byte) (bool, error) {
	n, err := ckScript.Run(ctx, r.rdb, []string{r.ckKey(), r.keys.log, r.keys.epoch},
		r.ep.ID, id, strconv.FormatUint(applied, 10), meta, data).Int()
	if err != nil {
		return false, err
	}
	if n < 0 {
		return false, errors.New("the site is in another epoch")
	}
	return n == 1, nil
}

// loadCheckpoint restores the replica from the site's checkpoint, if it has one of this
// epoch: the distributor (built with opts), the owners, the bookkeeping, and the entry to
// read the stream from.
func (r *Replica) loadCheckpoint(ctx context.Context, opts []acd.Option) error {
	v, err := r.rdb.HMGet(ctx, r.ckKey(), "epoch", "id", "applied", "meta", "data").Result()
	if err != nil {
		return fmt.Errorf("%w: reading the checkpoint: %v", ErrUnavailable, err)
	}
	str := func(i int) string { s, _ := v[i].(string); return s }
	if str(0) != r.ep.ID {
		return nil // none yet (or of an earlier epoch): the stream holds the whole epoch
	}
	bad := func(what string, err error) error {
		return fmt.Errorf("%w: the site's checkpoint (entry %s): %s: %v", ErrUnavailable, str(1), what, err)
	}
	var m ckMeta
	if err := json.Unmarshal([]byte(str(3)), &m); err != nil {
		return bad("its envelope", err)
	}
	applied, err := strconv.ParseUint(str(2), 10, 64)
	if err != nil {
		return bad("its entry count", err)
	}
	d, err := acd.NewFromCheckpoint(r.cfg.ACD, r.clk, []byte(str(4)), opts...)
	if err != nil {
		return bad("the distributor", err)
	}
	if m.Owners == nil {
		m.Owners = map[string]string{}
	}
	r.d = d
	r.omu.Lock()
	r.owners, r.bootstrapped = m.Owners, m.Bootstrapped
	r.omu.Unlock()
	r.lastID, r.ck.at = str(1), applied
	r.applied.Store(applied)
	r.log.Info("shared distributor: restored from the site's checkpoint", "entry", r.lastID, "applied", applied, "bytes", len(str(4)))
	return nil
}

// errFellBehind is wrapped by the error of a node whose next entries were trimmed.
var errFellBehind = errors.New("this node fell behind the stream")

func (r *Replica) errBehind() error {
	return fmt.Errorf("%w: %w: the entries after %s were trimmed (newer checkpoints replaced the one they followed); restart this node", ErrUnavailable, errFellBehind, r.lastID)
}

// readAfter returns up to n entries after the last one applied, checking in the same
// transaction that none was trimmed away. It fails with errBehind if some were.
func (r *Replica) readAfter(ctx context.Context, n int64) ([]redis.XMessage, error) {
	var check *redis.XMessageSliceCmd
	var trimmed *redis.SliceCmd
	var rd *redis.XMessageSliceCmd
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if r.lastID == "0-0" {
			trimmed = p.HMGet(ctx, r.ckKey(), "epoch", "trimmed")
		} else {
			check = p.XRangeN(ctx, r.keys.log, r.lastID, r.lastID, 1)
		}
		rd = p.XRangeN(ctx, r.keys.log, "("+r.lastID, "+", n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: reading the stream: %v", ErrUnavailable, err)
	}
	if check != nil && len(check.Val()) == 0 {
		return nil, r.errBehind()
	}
	if trimmed != nil {
		v := trimmed.Val()
		if ep, _ := v[0].(string); ep == r.ep.ID {
			if t, _ := v[1].(string); t != "" {
				return nil, r.errBehind()
			}
		}
	}
	return rd.Val(), nil
}

// readNext is Run's read: the entries after the last one applied, waiting up to a second
// for some when there are none. It is one round trip, the XREAD every node keeps waiting in
// Redis: whether entries were trimmed away before this node read them is told by the entries
// themselves (each carries its number in the epoch, see apply), not by another read.
func (r *Replica) readNext(ctx context.Context) ([]redis.XStream, error) {
	r.ckWritten()
	return r.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{r.keys.log, r.lastID}, Count: 512, Block: time.Second}).Result()
}
