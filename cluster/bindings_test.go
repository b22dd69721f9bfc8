package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/internal/testenv"
	hsip "github.com/hotline-cc/hotline/sip"
	"github.com/hotline-cc/hotline/sip/bindingstest"
)

const testRedis = "127.0.0.1:6379"

// bindingsRedis is a new Redis client for a test, and a key prefix of its own whose keys
// are deleted when the test ends.
func bindingsRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	testenv.Service(t, "redis", testRedis)
	rdb := redis.NewClient(&redis.Options{Addr: testRedis})
	t.Cleanup(func() { rdb.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "test-bindings-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c := redis.NewClient(&redis.Options{Addr: testRedis})
		defer c.Close()
		keys, err := c.Keys(ctx, prefix+":*").Result()
		if err == nil && len(keys) > 0 {
			err = c.Del(ctx, keys...).Err()
		}
		if err != nil {
			t.Errorf("cleaning up %s:*: %v", prefix, err)
		}
	})
	return rdb, prefix
}

// The Redis store has the behaviour every store must have, two nodes (two clients) sharing it.
func TestRedisBindings(t *testing.T) {
	bindingstest.Run(t, func(t *testing.T) (hsip.Bindings, hsip.Bindings) {
		rdb, prefix := bindingsRedis(t)
		other := redis.NewClient(&redis.Options{Addr: testRedis})
		t.Cleanup(func() { other.Close() })
		return NewBindings(rdb, prefix), NewBindings(other, prefix)
	})
}

// The keys are the documented ones (operators look at them with redis-cli), and expiring
// everything leaves no key behind.
func TestRedisBindingsKeys(t *testing.T) {
	rdb, prefix := bindingsRedis(t)
	s := NewBindings(rdb, prefix)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var b hsip.Binding
	b.Agent, b.Expires = "1001", now.Add(time.Minute)
	b.Contact.Scheme, b.Contact.User, b.Contact.Host, b.Contact.Port = "sip", "1001", "192.0.2.10", 5060
	if err := s.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	if v, err := rdb.HGet(ctx, prefix+":binding:1001", "sip:1001@192.0.2.10:5060").Result(); err != nil || v == "" {
		t.Errorf("hash %s:binding:1001 field sip:1001@192.0.2.10:5060 = %q, %v", prefix, v, err)
	}
	if sc, err := rdb.ZScore(ctx, prefix+":bindings", "1001\x00sip:1001@192.0.2.10:5060").Result(); err != nil || int64(sc) != b.Expires.UnixMilli() {
		t.Errorf("index score = %v, %v; want the expiry in ms %d", sc, err, b.Expires.UnixMilli())
	}
	if gone, total, err := s.Expire(ctx, now.Add(2*time.Minute)); err != nil || len(gone) != 1 || total != 0 {
		t.Fatalf("Expire = %v %d %v", gone, total, err)
	}
	if keys, err := rdb.Keys(ctx, prefix+":*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("keys left after everything expired: %v %v", keys, err)
	}
}

// A store that cannot be reached says so with the key it wanted, not an empty list.
func TestRedisBindingsUnreachable(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s := NewBindings(rdb, "test")
	if bs, err := s.List(context.Background(), "1001", time.Now()); err == nil {
		t.Fatalf("List with Redis down = %v, nil; want an error", bs)
	}
	if _, _, err := s.Expire(context.Background(), time.Now()); err == nil {
		t.Fatal("Expire with Redis down: no error")
	}
}
