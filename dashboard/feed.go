package dashboard

import (
	"sync"
	"time"
)

// Feed fans a center's live changes out to the dashboard's subscribers; a Live
// implementation embeds it for Subscribe. A subscriber that is not keeping up loses an event
// (the dashboard re-reads the state on the next event for the same thing), so Publish never
// blocks the call path.
type Feed struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
}

// NewFeed makes a feed with no subscribers.
func NewFeed() *Feed { return &Feed{subs: map[chan Event]struct{}{}} }

// Subscribe delivers events until cancel is called or the feed is closed.
func (f *Feed) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			f.mu.Lock()
			if _, ok := f.subs[ch]; ok {
				delete(f.subs, ch)
				close(ch)
			}
			f.mu.Unlock()
		})
	}
}

// Close ends every subscription (shutdown).
func (f *Feed) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		delete(f.subs, ch)
		close(ch)
	}
}

// Publish sends e to every subscriber that has room for it.
func (f *Feed) Publish(e Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- e:
		default:
		}
	}
}
