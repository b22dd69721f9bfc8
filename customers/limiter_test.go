package customers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/internal/fakeclock"
	"github.com/hotline-cc/hotline/internal/testenv"
)

func TestMemoryLimiter(t *testing.T) {
	clk := fakeclock.New(monday10)
	l := NewMemoryLimiter(clk.Now)
	ctx := context.Background()
	r := Rate{3, time.Hour}
	for i := 0; i < 3; i++ {
		if ok, _, _ := l.Allow(ctx, "k", r); !ok {
			t.Fatalf("event %d of 3 refused", i+1)
		}
	}
	ok, wait, _ := l.Allow(ctx, "k", r)
	if ok || wait != 20*time.Minute {
		t.Fatalf("fourth: ok=%v wait=%v; want refused, 20m until the next", ok, wait)
	}
	if ok, _, _ := l.Allow(ctx, "other", r); !ok {
		t.Error("a different key shares the limit")
	}
	clk.Advance(20 * time.Minute)
	if ok, _, _ := l.Allow(ctx, "k", r); !ok {
		t.Error("refused after the interval")
	}
	if ok, _, _ := l.Allow(ctx, "k", r); ok {
		t.Error("two allowed after one interval")
	}
	clk.Advance(time.Hour)
	for i := 0; i < 3; i++ {
		if ok, _, _ := l.Allow(ctx, "k", r); !ok {
			t.Errorf("after an hour, event %d of 3 refused", i+1)
		}
	}
	if ok, _, _ := l.Allow(ctx, "k", Rate{}); !ok {
		t.Error("no limit refused")
	}
}

func redisOrSkip(t *testing.T) *redis.Client {
	testenv.Service(t, "redis", "127.0.0.1:6379")
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		testenv.Missing(t, "redis at 127.0.0.1:6379: %v", err)
	}
	return rdb
}

func testPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "hotline-test-" + hex.EncodeToString(b[:]) + ":"
}

// TestCallbackRateLimitRedis: acceptance 5 with Redis: two nodes (two stores) share one
// allowance of 3 callbacks per hour to a number.
func TestCallbackRateLimitRedis(t *testing.T) {
	rdb := redisOrSkip(t)
	prefix := testPrefix()
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), "rate:"+prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	e := newEnv(t, "")
	node2 := e.open(WithLimiter(NewRedisLimiter(rdb, prefix)))
	node1 := e.open(WithLimiter(NewRedisLimiter(rdb, prefix)))
	for i, s := range []*Store{node1, node2, node1} {
		if _, err := s.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800138000", Queue: "support"}); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	_, err := node2.RequestCallback(e.ctx, CallbackRequest{Number: "+8613800138000", Queue: "support"})
	var r *Refusal
	if !errors.As(err, &r) || r.Code != RefusedRateNumber || !strings.HasPrefix(r.Reason, "rate limit: 3 callbacks per hour to +8613800138000 (next in ") {
		t.Fatalf("fourth request across two nodes: %v", err)
	}
	if _, err := node2.RequestCallback(e.ctx, CallbackRequest{Number: "+8613700000001", Queue: "support"}); err != nil {
		t.Errorf("another number: %v", err)
	}
}

// TestCallbackRateLimitWithoutRedis: acceptance 5 without Redis (the in-process default), and
// with Redis configured but down: limits still hold, in the process.
func TestCallbackRateLimitWithoutRedis(t *testing.T) {
	e := newEnv(t, "")
	s := e.open(WithLimiter(nil)) // Open's default: in-process
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: 200 * time.Millisecond})
	defer down.Close()
	l := NewRedisLimiter(down, testPrefix())
	l.log = testLog()
	fallback := e.open(WithLimiter(l))
	for _, st := range []*Store{s, fallback} {
		for i := 0; i < 3; i++ {
			if _, err := st.RequestCallback(e.ctx, CallbackRequest{Number: "+8613900012345", Queue: "support"}); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		_, err := st.RequestCallback(e.ctx, CallbackRequest{Number: "+8613900012345", Queue: "support"})
		var r *Refusal
		if !errors.As(err, &r) || r.Code != RefusedRateNumber {
			t.Errorf("fourth request: %v, want the per-number limit", err)
		}
	}
}
