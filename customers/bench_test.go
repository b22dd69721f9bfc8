package customers

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkContactBeginFinish is the store's part of a call as the center writes it, from
// many calls at once: the contact opened as the call arrives (every caller a new number, so
// a new customer too) and its outcome, path and times when it ends. scripts/rate.sh measures
// the whole call; this is the store alone (go test -bench ContactBeginFinish -cpu 1 ./customers).
func BenchmarkContactBeginFinish(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchBeginFinish(b, "") })
	b.Run("postgres", func(b *testing.B) { benchBeginFinish(b, postgresDB(b)) })
}

func benchBeginFinish(b *testing.B, dsn string) {
	ctx := context.Background()
	s, err := Open(ctx, Config{DSN: dsn, DataDir: b.TempDir()}, WithLogger(testLog()), WithWebhookEvents(true))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var callers atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(32) // calls in progress per core: each waits for its commit
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := callers.Add(1)
			start := time.Now()
			c, _, err := s.OpenContact(ctx, Contact{CallID: fmt.Sprintf("call-%d", n), Address: fmt.Sprintf("+86139%08d", n),
				Dialed: "4008001234", Flow: "hotline", StartedAt: start})
			if err != nil {
				b.Fatal(err)
			}
			ended := start.Add(2 * time.Second)
			err = s.ApplyContactUpdate(ctx, c.ID, ContactUpdate{EndedAt: &ended, Outcome: ptr(OutcomeCompletedInIVR), Events: []Event{
				{At: start, Node: "welcome", Step: "play", Exit: "next", DurationMS: 1500},
				{At: start.Add(1500 * time.Millisecond), Node: "bye", Step: "hangup"}}})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSaveStates is the agents' desk saving a busy second: 20 agents whose states
// changed (records about the size the distributor writes), in one transaction.
func BenchmarkSaveStates(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSaveStates(b, "") })
	b.Run("postgres", func(b *testing.B) { benchSaveStates(b, postgresDB(b)) })
}

func benchSaveStates(b *testing.B, dsn string) {
	ctx := context.Background()
	s, err := Open(ctx, Config{DSN: dsn, DataDir: b.TempDir(), Node: "node-a"}, WithLogger(testLog()))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	recs := make([]StateRecord, 20)
	for i := range recs {
		recs[i] = StateRecord{ID: fmt.Sprintf("%d", 1000+i), Data: []byte(fmt.Sprintf(`{"ID":"%d","State":3,"Since":"2026-05-11T02:00:00Z",`+
			`"PauseReason":"lunch","Queues":["support","sales"],"CallsHandled":42,"TimeInState":{"1":3600000000000,"3":900000000000},`+
			`"TimeInPause":{"lunch":900000000000}}`, 1000+i))}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := s.SaveStates(ctx, recs, nil); err != nil {
			b.Fatal(err)
		}
	}
}
