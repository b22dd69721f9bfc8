package customers

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Rate is a limit like 3 per hour. A zero Rate is no limit.
type Rate struct {
	Count int
	Per   time.Duration
}

// String reads as "3 per hour".
func (r Rate) String() string { return r.Of("") }

// Of reads as "3 callbacks per hour".
func (r Rate) Of(things string) string {
	n := fmt.Sprint(r.Count)
	if things != "" {
		n += " " + things
	}
	unit := map[time.Duration]string{time.Second: "second", time.Minute: "minute", time.Hour: "hour", 24 * time.Hour: "day"}[r.Per]
	if unit == "" {
		return fmt.Sprintf("%s per %v", n, r.Per)
	}
	return fmt.Sprintf("%s per %s", n, unit)
}

// Limiter counts events under a key. Both implementations use the same generic cell rate
// algorithm: Count events may come at once, then one more each Per/Count.
type Limiter interface {
	// Allow counts one event and reports whether it is within the rate; when it is not, it
	// says how long until one would be.
	Allow(ctx context.Context, key string, r Rate) (ok bool, retryAfter time.Duration, err error)
}

// MemoryLimiter limits within this process (the default without Redis).
type MemoryLimiter struct {
	mu   sync.Mutex
	now  func() time.Time
	tat  map[string]time.Time // theoretical arrival time of the next event, per key
	seen int
}

// NewMemoryLimiter makes an in-process limiter on the given clock (nil = time.Now).
func NewMemoryLimiter(now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{now: now, tat: map[string]time.Time{}}
}

func (m *MemoryLimiter) Allow(_ context.Context, key string, r Rate) (bool, time.Duration, error) {
	if r.Count <= 0 || r.Per <= 0 {
		return true, 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	interval := r.Per / time.Duration(r.Count)
	tat := m.tat[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if wait := next.Sub(now) - r.Per; wait > 0 {
		return false, wait, nil
	}
	m.tat[key] = next
	if m.seen++; m.seen%1024 == 0 { // forget keys whose limit has fully recovered
		for k, t := range m.tat {
			if t.Before(now) {
				delete(m.tat, k)
			}
		}
	}
	return true, 0, nil
}

// RedisLimiter shares the limits of every node through Redis (go-redis/redis_rate). When
// Redis cannot be reached it falls back to limiting in this process for a minute before it
// tries Redis again, and logs it: callers keep getting callbacks, without waiting on a dead
// server, and the limits still hold per node.
type RedisLimiter struct {
	rl        *redis_rate.Limiter
	prefix    string
	fallback  *MemoryLimiter
	log       *slog.Logger
	mu        sync.Mutex
	downUntil time.Time
}

// NewRedisLimiter limits through rdb, with keys under prefix (e.g. "hotline:").
func NewRedisLimiter(rdb redis.UniversalClient, prefix string) *RedisLimiter {
	return &RedisLimiter{rl: redis_rate.NewLimiter(rdb), prefix: prefix, fallback: NewMemoryLimiter(nil),
		log: slog.Default().With("component", "customers")}
}

func (l *RedisLimiter) Allow(ctx context.Context, key string, r Rate) (bool, time.Duration, error) {
	if r.Count <= 0 || r.Per <= 0 {
		return true, 0, nil
	}
	l.mu.Lock()
	down := time.Now().Before(l.downUntil)
	l.mu.Unlock()
	if down {
		return l.fallback.Allow(ctx, key, r)
	}
	res, err := l.rl.Allow(ctx, l.prefix+key, redis_rate.Limit{Rate: r.Count, Burst: r.Count, Period: r.Per})
	if err != nil {
		if ctx.Err() != nil {
			return false, 0, ctx.Err()
		}
		l.mu.Lock()
		l.downUntil = time.Now().Add(time.Minute)
		l.mu.Unlock()
		l.log.Warn("Redis rate limiter unreachable; limiting callbacks in this process for a minute", "err", err)
		return l.fallback.Allow(ctx, key, r)
	}
	return res.Allowed > 0, res.RetryAfter, nil
}
