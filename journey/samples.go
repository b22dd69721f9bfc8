package journey

import (
	"context"
	"log/slog"

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
// reports count those contacts from their fields.
func (s *Samples) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case x := <-s.queue:
			if x.Kind == acd.KindCallback {
				continue
			}
			ct, err := s.store.ContactByCallID(ctx, x.CallID)
			if err == nil {
				err = s.store.AppendContactEvents(ctx, ct.ID, x.Event)
			}
			if err != nil && ctx.Err() == nil {
				s.log.Warn("cannot put a queue sample on its contact", "call", x.CallID, "error", err)
			}
		}
	}
}
