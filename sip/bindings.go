package sip

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Bindings is where the registrar keeps agents' registered contacts (RFC 3261 §10.3). The
// registrar decides (digest, Expires, Min-Expires, Contact: *, out-of-order retransmissions);
// a Bindings only stores what it decided, so a store shared by several hotline nodes (Redis,
// cluster.NewBindings) lets every node reach a phone whichever node took its REGISTER.
//
// Behind Kamailio (deploy/kamailio/kamailio.cfg) a phone's REGISTER reaches a node through
// the proxy: the binding's Source is Kamailio's address and Proxied is set. Any node's INVITE
// to the agent is then sent to Kamailio, which relays it to the phone (the Request-URI is the
// phone's Contact), so a node never needs a path of its own to a phone another node
// registered. Only signalling takes that way: the media flows directly between the node that
// owns the caller's call and the phone.
//
// Times are the registrar's clock (the now given to List, Count and Expire, and Binding.Expires
// it computed), never the store's, so that a registrar on a fake clock sees its bindings
// expire when its clock says. A binding is valid while now is not after its Expires.
//
// REGISTERs of one agent are serialised per node by the registrar; across nodes the proxy
// sends one agent's REGISTERs to one node (the From/To user hash), so a store need not order
// concurrent writers of the same binding.
type Bindings interface {
	// List is agent's bindings valid at now, newest first (latest Expires; ties by contact).
	List(ctx context.Context, agent string, now time.Time) ([]Binding, error)
	// Put adds or refreshes a binding, keyed by its agent and Contact.Addr().
	Put(ctx context.Context, b Binding) error
	// Remove deletes one binding of agent (nothing to delete is no error).
	Remove(ctx context.Context, agent, contactAddr string) error
	// RemoveAll deletes all of agent's bindings (Contact: * with Expires: 0).
	RemoveAll(ctx context.Context, agent string) error
	// Expire removes, atomically, every binding no longer valid at now. gone are the agents
	// that lost their last binding in this call: with a shared store only the node whose
	// call removed it reports an agent, so an expiry is reported once in the site. total is
	// the number of bindings left.
	Expire(ctx context.Context, now time.Time) (gone []string, total int, err error)
	// Count is the number of bindings valid at now (all agents): the registrations gauge.
	Count(ctx context.Context, now time.Time) (int, error)
}

// NewMemoryBindings is a store in this process's memory: a node on its own.
func NewMemoryBindings() Bindings {
	return &memoryBindings{m: map[string]map[string]Binding{}}
}

type memoryBindings struct {
	mu sync.Mutex
	m  map[string]map[string]Binding // agent -> Contact.Addr() -> binding
}

func (s *memoryBindings) List(_ context.Context, agent string, now time.Time) ([]Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Binding
	for _, b := range s.m[agent] {
		if !now.After(b.Expires) {
			out = append(out, b)
		}
	}
	SortBindings(out)
	return out, nil
}

func (s *memoryBindings) Put(_ context.Context, b Binding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m[b.Agent]
	if m == nil {
		m = map[string]Binding{}
		s.m[b.Agent] = m
	}
	b.Contact = *b.Contact.Clone() // the caller's URI shares its parameter maps
	m[b.Contact.Addr()] = b
	return nil
}

func (s *memoryBindings) Remove(_ context.Context, agent, contactAddr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m[agent], contactAddr)
	if len(s.m[agent]) == 0 {
		delete(s.m, agent)
	}
	return nil
}

func (s *memoryBindings) RemoveAll(_ context.Context, agent string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, agent)
	return nil
}

func (s *memoryBindings) Expire(_ context.Context, now time.Time) ([]string, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []string
	total := 0
	for agent, m := range s.m {
		for key, b := range m {
			if now.After(b.Expires) {
				delete(m, key)
			}
		}
		if len(m) == 0 {
			gone = append(gone, agent)
			delete(s.m, agent)
		}
		total += len(m)
	}
	sort.Strings(gone)
	return gone, total, nil
}

func (s *memoryBindings) Count(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.m {
		for _, b := range m {
			if !now.After(b.Expires) {
				n++
			}
		}
	}
	return n, nil
}

// SortBindings orders bindings as List returns them: newest first (latest Expires), ties by
// contact address, so that every store lists alike.
func SortBindings(bs []Binding) {
	sort.Slice(bs, func(i, j int) bool {
		if !bs[i].Expires.Equal(bs[j].Expires) {
			return bs[i].Expires.After(bs[j].Expires)
		}
		return bs[i].Contact.Addr() < bs[j].Contact.Addr()
	})
}
