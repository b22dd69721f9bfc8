package sip

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Binding is one registered contact of an agent (RFC 3261 §10.3).
type Binding struct {
	Agent     string
	Contact   sip.Uri // where the agent's phone wants INVITEs
	Source    string  // host:port the REGISTER came from (used to reach phones behind NAT)
	Transport string  // udp or tcp
	// Proxied: the REGISTER came through a proxy (it had more than one Via), Kamailio in front
	// of several nodes. Requests to the phone are then sent to Source, the proxy, which
	// relays them to the Contact: see Bindings.
	Proxied   bool
	CallID    string
	CSeq      uint32
	Expires   time.Time
	UserAgent string
	// Node is the hotline node that took the REGISTER (Config.Node), shown to supervisors;
	// any node may use the binding.
	Node string
}

// bindingsTimeout bounds one call to the bindings store: a REGISTER or a dial waits no
// longer for a store that does not answer.
const bindingsTimeout = 2 * time.Second

// storeRetryAfter is the Retry-After, in seconds, of the 500 a REGISTER gets when its
// binding could not be stored.
const storeRetryAfter = 10

// Registrar keeps agents' registered contacts. It authenticates every REGISTER with digest.
type Registrar struct {
	auth       *Authenticator
	gate       *authGate // digest through the brute-force guard (set by NewServer)
	password   func(agent string) (string, bool)
	minExpires int
	maxExpires int
	now        func() time.Time
	log        *slog.Logger
	onChange   func(agent string, contacts int)
	store      Bindings
	node       string
	// storeLog is log, rate-limited: while the store is down every REGISTER and every dial
	// fails alike, and the first few lines of each kind say all there is.
	storeLog *slog.Logger

	// agentLocks serialise the REGISTERs of one agent on this node (read, decide, write),
	// striped so that agents do not wait for each other's store round trips.
	agentLocks [64]sync.Mutex
}

func newRegistrar(auth *Authenticator, password func(string) (string, bool), minExp, maxExp int, now func() time.Time, log *slog.Logger, onChange func(string, int), store Bindings, node string) *Registrar {
	if store == nil {
		store = NewMemoryBindings()
	}
	log = log.With("component", "registrar")
	return &Registrar{
		auth: auth, password: password, minExpires: minExp, maxExpires: maxExp, now: now,
		log: log, onChange: onChange, store: store, node: node,
		storeLog: slog.New(newThrottle(log.Handler(), 10, time.Minute)),
	}
}

func (r *Registrar) lockAgent(agent string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(agent))
	mu := &r.agentLocks[h.Sum32()%uint32(len(r.agentLocks))]
	mu.Lock()
	return mu.Unlock
}

// Lookup returns an agent's unexpired bindings, newest first, or the store's error.
func (r *Registrar) Lookup(ctx context.Context, agent string) ([]Binding, error) {
	ctx, cancel := context.WithTimeout(ctx, bindingsTimeout)
	defer cancel()
	bs, err := r.store.List(ctx, agent, r.now())
	if err != nil {
		return nil, fmt.Errorf("registrar: listing the bindings of agent %s: %w", agent, err)
	}
	return bs, nil
}

// Contacts returns an agent's unexpired bindings, newest first. A store that cannot be read
// makes it none (logged): the agent is not reachable now.
func (r *Registrar) Contacts(agent string) []Binding {
	bs, err := r.Lookup(context.Background(), agent)
	if err != nil {
		r.storeLog.Warn("registrations unavailable: agent taken as not registered", "agent", agent, "error", err)
		return nil
	}
	return bs
}

// Expire removes bindings whose time has passed and reports agents that lost their last one.
// With a shared store each agent is reported by one node, the one whose call removed it.
func (r *Registrar) Expire() {
	ctx, cancel := context.WithTimeout(context.Background(), bindingsTimeout)
	defer cancel()
	gone, total, err := r.store.Expire(ctx, r.now())
	if err != nil {
		r.storeLog.Warn("expiring registrations failed; trying again at the next tick", "error", err)
		return
	}
	mBindings.Set(float64(total))
	for _, a := range gone {
		r.log.Info("registration expired", "agent", a)
		if r.onChange != nil {
			r.onChange(a, 0)
		}
	}
}

// storeFailed is the answer to a REGISTER whose bindings could not be read or written.
func (r *Registrar) storeFailed(req *sip.Request, agent string, err error) *sip.Response {
	mRegisters.WithLabelValues("store_error").Inc()
	r.storeLog.Error("REGISTER refused: registrations store failed", "agent", agent, "source", req.Source(), "error", err)
	res := sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
	res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(storeRetryAfter)))
	return res
}

// handle processes a REGISTER and returns the response to send.
func (r *Registrar) handle(req *sip.Request) *sip.Response {
	if rej := checkRequest(req); rej != nil {
		r.gate.events.report(req, EventRequestBadFormat, userOf(req), rej.Err.Error())
		mRegisters.WithLabelValues("bad_request").Inc()
		return rej.Response(req)
	}
	to := req.To()
	if to.Address.User == "" {
		mRegisters.WithLabelValues("bad_request").Inc()
		return sip.NewResponseFromRequest(req, 400, "Bad Request: To header has no user", nil)
	}
	agent := to.Address.User
	user, err := r.gate.authenticate(req)
	switch {
	case errors.Is(err, ErrNoCredentials), errors.Is(err, ErrStaleNonce), errors.Is(err, ErrReplay), errors.Is(err, ErrForeignNonce):
		label := "challenged"
		switch {
		case errors.Is(err, ErrStaleNonce):
			label = "stale"
		case errors.Is(err, ErrReplay):
			label = "replay"
		}
		mRegisters.WithLabelValues(label).Inc()
		res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", r.gate.challenge(req, err)))
		return res
	case errors.Is(err, ErrLockedOut):
		mRegisters.WithLabelValues("locked_out").Inc()
		return errLockedOut().Response(req)
	case err != nil: // a security event already (authenticate), throttled: no second line
		mRegisters.WithLabelValues("forbidden").Inc()
		return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
	case user != agent:
		mRegisters.WithLabelValues("forbidden").Inc()
		r.log.Warn("REGISTER refused: credentials of another agent", "agent", agent, "user", user, "source", req.Source())
		return sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
	}

	expires := r.maxExpires
	if h := req.GetHeader("Expires"); h != nil {
		if v, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && v >= 0 {
			expires = v
		} else {
			return sip.NewResponseFromRequest(req, 400, "Bad Request: Expires is not a number", nil)
		}
	}
	contacts := req.GetHeaders("Contact")
	now := r.now()
	var callID string
	if c := req.CallID(); c != nil {
		callID = c.Value()
	}
	cseq := req.CSeq().SeqNo

	proxied := len(req.GetHeaders("Via")) > 1

	// Decide on the bindings as they are, then store the changes: a wrong request (Contact *
	// with other contacts, an interval too brief) changes nothing.
	defer r.lockAgent(agent)()
	ctx, cancel := context.WithTimeout(context.Background(), bindingsTimeout)
	defer cancel()
	current, err := r.store.List(ctx, agent, now)
	if err != nil {
		return r.storeFailed(req, agent, fmt.Errorf("listing: %w", err))
	}
	m := make(map[string]Binding, len(current))
	for _, b := range current {
		m[b.Contact.Addr()] = b
	}
	before := len(m)
	var puts []Binding
	var removes []string
	removeAll := false
	for _, h := range contacts {
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if ch.Address.Wildcard { // Contact: * (RFC 3261 §10.2.2) removes all, only with Expires 0
			if expires != 0 || len(contacts) != 1 {
				return sip.NewResponseFromRequest(req, 400, "Bad Request: Contact * needs Expires: 0", nil)
			}
			clear(m)
			removeAll = true
			continue
		}
		exp := expires
		if v, ok := ch.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				exp = n
			}
		}
		key := ch.Address.Addr()
		if exp == 0 {
			if _, ok := m[key]; ok {
				delete(m, key)
				removes = append(removes, key)
			}
			continue
		}
		if exp < r.minExpires {
			res := sip.NewResponseFromRequest(req, 423, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(r.minExpires)))
			return res
		}
		exp = min(exp, r.maxExpires)
		if old, ok := m[key]; ok && old.CallID == callID && cseq <= old.CSeq {
			continue // out-of-order retransmission (RFC 3261 §10.3 step 7)
		}
		var ua string
		if h := req.GetHeader("User-Agent"); h != nil {
			ua = h.Value()
		}
		b := Binding{
			Agent: agent, Contact: *ch.Address.Clone(), Source: req.Source(),
			Transport: strings.ToLower(req.Transport()), Proxied: proxied, CallID: callID, CSeq: cseq,
			Expires: now.Add(time.Duration(exp) * time.Second), UserAgent: ua, Node: r.node,
		}
		m[key] = b
		puts = append(puts, b)
	}
	if removeAll {
		if err := r.store.RemoveAll(ctx, agent); err != nil {
			return r.storeFailed(req, agent, fmt.Errorf("removing all: %w", err))
		}
	}
	for _, key := range removes {
		if err := r.store.Remove(ctx, agent, key); err != nil {
			return r.storeFailed(req, agent, fmt.Errorf("removing a contact: %w", err))
		}
	}
	for _, b := range puts {
		if err := r.store.Put(ctx, b); err != nil {
			return r.storeFailed(req, agent, fmt.Errorf("storing a contact: %w", err))
		}
	}
	after := len(m)
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	list := slices.Collect(maps.Values(m))
	SortBindings(list)
	for _, b := range list {
		c := &sip.ContactHeader{Address: b.Contact, Params: sip.NewParams()}
		c.Params.Add("expires", strconv.Itoa(int(b.Expires.Sub(now).Round(time.Second)/time.Second)))
		res.AppendHeader(c)
	}
	if before != after { // a refresh leaves the count as it was
		if total, err := r.store.Count(ctx, now); err == nil {
			mBindings.Set(float64(total))
		} // else the next Expire tick sets it
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))

	if after == 0 {
		mRegisters.WithLabelValues("unregistered").Inc()
	} else {
		mRegisters.WithLabelValues("ok").Inc()
	}
	if before != after {
		r.log.Info("registration changed", "agent", agent, "contacts", after, "source", req.Source())
		if r.onChange != nil {
			r.onChange(agent, after)
		}
	}
	return res
}
