package journey

import (
	"context"
	"log/slog"
	"sync"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
)

// Sample is a distributor sample (a wait or a handle) to append to the contact it describes,
// so reports computed from the store match the live figures.
type Sample struct {
	CallID string
	Kind   acd.CallKind
	Event  customers.Event
}

// Samples writes samples onto contacts, in order, off the distributor's goroutine.
type Samples struct {
	store *customers.Store
	queue chan Sample
	log   *slog.Logger
}

// NewSamples buffers up to n samples for the store.
func NewSamples(store *customers.Store, n int, log *slog.Logger) *Samples {
	return &Samples{store: store, queue: make(chan Sample, n), log: log}
}

// Add queues a sample without blocking the distributor's caller; when the store is this far
// behind, the sample is dropped and said so.
func (s *Samples) Add(x Sample) {
	select {
	case s.queue <- x:
	default:
		s.log.Warn("report samples backing up: one dropped", "call", x.CallID)
	}
}

// Run writes samples until ctx ends. A caller's sample goes on the call's contact (the handle
// sample comes after wrap-up, when the call has ended). Callback samples are not written:
// reports count those contacts from their fields. The samples queued at one time are written
// at once, one write per call with its samples in order, so they share the store's commit.
func (s *Samples) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case x := <-s.queue:
			var wg sync.WaitGroup
			for call, events := range s.gather(x) {
				wg.Go(func() { s.write(ctx, call, events) })
			}
			wg.Wait()
		}
	}
}

// maxGather bounds the samples written at once (as many writes as calls among them).
const maxGather = 256

// gather is x and the samples queued behind it (up to maxGather), by call, in order.
func (s *Samples) gather(x Sample) map[string][]customers.Event {
	byCall := map[string][]customers.Event{}
	for n := 0; ; n++ {
		if x.Kind != acd.KindCallback {
			byCall[x.CallID] = append(byCall[x.CallID], x.Event)
		}
		if n == maxGather {
			return byCall
		}
		select {
		case x = <-s.queue:
		default:
			return byCall
		}
	}
}

// write appends one call's samples to its contact.
func (s *Samples) write(ctx context.Context, call string, events []customers.Event) {
	ct, err := s.store.ContactByCallID(ctx, call)
	if err == nil {
		err = s.store.AppendContactEvents(ctx, ct.ID, events...)
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("cannot put queue samples on their contact", "call", call, "samples", len(events), "error", err)
	}
}
