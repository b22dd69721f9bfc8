package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/internal/sipptest"
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

// sipNode is a served sip.Server named node on a loopback port, keeping its bindings in
// store, on clock; hook gets its registration changes.
func sipNode(t *testing.T, node string, store hsip.Bindings, clock func() time.Time, hook func(agent string, n int)) (*hsip.Server, string) {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))
	s, err := hsip.NewServer(hsip.Config{Addr: addr, Realm: "hotline", RTPTimeout: 10 * time.Second, RingTimeout: 4 * time.Second,
		MinExpires: 1, MaxExpires: 3600, Bindings: store, Node: node},
		hsip.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), hsip.WithClock(clock), hsip.WithRegistrationHook(hook),
		hsip.WithCredentials(func(a string) (string, bool) { return "s3cret-" + a, a == "1001" }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatalf("serve %s: %v", node, err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("serve %s: %v", node, err)
		}
	})
	return s, addr
}

// Two nodes sharing the Redis store: a phone registered with digest at node A (sipp) is a
// contact of node B, named after A; when it expires, one node of the two reports it.
func TestTwoNodesShareRegistrationsInRedis(t *testing.T) {
	testenv.Tool(t, "sipp")
	rdb, prefix := bindingsRedis(t)
	var mu sync.Mutex
	now := time.Now().Truncate(time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var reports []string
	hook := func(node string) func(string, int) {
		return func(agent string, n int) {
			mu.Lock()
			reports = append(reports, fmt.Sprintf("%s %s:%d", node, agent, n))
			mu.Unlock()
		}
	}
	a, addrA := sipNode(t, "hotline-a", NewBindings(rdb, prefix), clock, hook("a"))
	other := redis.NewClient(&redis.Options{Addr: testRedis})
	t.Cleanup(func() { other.Close() })
	b, _ := sipNode(t, "hotline-b", NewBindings(other, prefix), clock, hook("b"))

	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: addrA,
		Auth: [2]string{"1001", "s3cret-1001"}, Inject: [][]string{{"1001", "s3cret-1001", "5990", "60"}}}).MustSucceed(t)
	got := b.Registrar().Contacts("1001")
	if len(got) != 1 || got[0].Node != "hotline-a" || got[0].Contact.Port != 5990 {
		t.Fatalf("node B's contacts of 1001 = %+v; want the phone registered at hotline-a, port 5990", got)
	}
	if bs, err := a.Registrar().Lookup(context.Background(), "1001"); err != nil || len(bs) != 1 {
		t.Errorf("node A's own lookup: %v %v", bs, err)
	}

	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	a.Registrar().Expire()
	b.Registrar().Expire()
	if got := b.Registrar().Contacts("1001"); len(got) != 0 {
		t.Errorf("after expiry node B still has %d contacts", len(got))
	}
	mu.Lock()
	defer mu.Unlock()
	// The REGISTER at A, then the expiry once, by whichever node expired first (A, unless
	// a server's own 5 s tick came in between).
	if len(reports) != 2 || reports[0] != "a 1001:1" || !strings.HasSuffix(reports[1], " 1001:0") {
		t.Errorf("registration reports %v, want [a 1001:1] then one node's 1001:0", reports)
	}
}
