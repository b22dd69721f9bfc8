package ari

import (
	"sync"
)

// Subscription receives the events that name one of its keys, in the order Asterisk sent them.
// Subscribe before the REST call that causes the events: Asterisk may send them before it
// answers the call. Close it when done.
type Subscription struct {
	r    *registry
	keys []Key
	seq  uint64
	fn   func(Event) // inline delivery (SubscribeFunc); nil for queued delivery

	mu     sync.Mutex
	queue  []Event
	notify chan struct{}
	out    chan Event
	done   chan struct{}
	once   sync.Once
}

// Events delivers the subscription's events. It is nil for a SubscribeFunc subscription.
func (s *Subscription) Events() <-chan Event { return s.out }

// Close stops delivery. It is safe to call more than once and from within a SubscribeFunc callback.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.r.remove(s)
		close(s.done)
	})
}

func (s *Subscription) deliver(ev Event) {
	select {
	case <-s.done:
		return
	default:
	}
	if s.fn != nil {
		s.fn(ev)
		return
	}
	s.mu.Lock()
	s.queue = append(s.queue, ev) // unbounded: the reader never blocks on a slow subscriber
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// pump hands queued events to Events() until Close.
func (s *Subscription) pump() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.notify:
				continue
			case <-s.done:
				return
			}
		}
		ev := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		select {
		case s.out <- ev:
		case <-s.done:
			return
		}
	}
}

// registry maps keys to subscriptions; the event reader dispatches through it.
type registry struct {
	mu   sync.Mutex
	seq  uint64
	subs map[Key]map[*Subscription]struct{}
}

func (r *registry) add(s *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs == nil {
		r.subs = map[Key]map[*Subscription]struct{}{}
	}
	r.seq++
	s.seq = r.seq
	for _, k := range s.keys {
		m := r.subs[k]
		if m == nil {
			m = map[*Subscription]struct{}{}
			r.subs[k] = m
		}
		m[s] = struct{}{}
	}
}

func (r *registry) remove(s *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range s.keys {
		if m := r.subs[k]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(r.subs, k)
			}
		}
	}
}

// dispatch delivers ev to every subscription that names one of its keys, oldest first.
// Callbacks run without the registry lock, so they may subscribe and close.
func (r *registry) dispatch(ev Event) {
	r.mu.Lock()
	var targets []*Subscription
	seen := map[*Subscription]bool{}
	for _, k := range ev.Keys() {
		for s := range r.subs[k] {
			if !seen[s] {
				seen[s] = true
				targets = append(targets, s)
			}
		}
	}
	r.mu.Unlock()
	for i := 1; i < len(targets); i++ { // insertion sort by registration order: few targets
		for j := i; j > 0 && targets[j].seq < targets[j-1].seq; j-- {
			targets[j], targets[j-1] = targets[j-1], targets[j]
		}
	}
	for _, s := range targets {
		s.deliver(ev)
	}
}

// size is the number of live subscriptions (for tests).
func (r *registry) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := map[*Subscription]bool{}
	for _, m := range r.subs {
		for s := range m {
			all[s] = true
		}
	}
	return len(all)
}

// Subscribe returns a subscription to the events naming any of keys, delivered on Events().
func (c *Client) Subscribe(keys ...Key) *Subscription {
	s := &Subscription{r: &c.subs, keys: keys, notify: make(chan struct{}, 1),
		out: make(chan Event), done: make(chan struct{})}
	c.subs.add(s)
	go s.pump()
	return s
}

// SubscribeFunc calls fn on the event reader's goroutine for every event naming any of keys,
// before later events are read: fn must not block (no REST calls).
func (c *Client) SubscribeFunc(fn func(Event), keys ...Key) *Subscription {
	s := &Subscription{r: &c.subs, keys: keys, fn: fn, done: make(chan struct{})}
	c.subs.add(s)
	return s
}
