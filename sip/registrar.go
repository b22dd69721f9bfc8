package sip

import (
	"errors"
	"log/slog"
	"sort"
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
	CallID    string
	CSeq      uint32
	Expires   time.Time
	UserAgent string
}

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

	mu       sync.Mutex
	bindings map[string]map[string]*Binding // agent -> contact URI -> binding
}

func newRegistrar(auth *Authenticator, password func(string) (string, bool), minExp, maxExp int, now func() time.Time, log *slog.Logger, onChange func(string, int)) *Registrar {
	return &Registrar{
		auth: auth, password: password, minExpires: minExp, maxExpires: maxExp, now: now,
		log: log.With("component", "registrar"), onChange: onChange,
		bindings: map[string]map[string]*Binding{},
	}
}

// Contacts returns an agent's unexpired bindings, newest first.
func (r *Registrar) Contacts(agent string) []Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var out []Binding
	for key, b := range r.bindings[agent] {
		if now.After(b.Expires) {
			delete(r.bindings[agent], key)
			continue
		}
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Expires.After(out[j].Expires) })
	return out
}

// Expire removes bindings whose time has passed and reports agents that lost their last one.
func (r *Registrar) Expire() {
	var gone []string
	r.mu.Lock()
	now := r.now()
	total := 0
	for agent, m := range r.bindings {
		had := len(m)
		for key, b := range m {
			if now.After(b.Expires) {
				delete(m, key)
			}
		}
		if had > 0 && len(m) == 0 {
			gone = append(gone, agent)
			delete(r.bindings, agent)
		}
		total += len(m)
	}
	r.mu.Unlock()
	mBindings.Set(float64(total))
	for _, a := range gone {
		r.log.Info("registration expired", "agent", a)
		if r.onChange != nil {
			r.onChange(a, 0)
		}
	}
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

	r.mu.Lock()
	m := r.bindings[agent]
	if m == nil {
		m = map[string]*Binding{}
		r.bindings[agent] = m
	}
	before := len(m)
	for _, h := range contacts {
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if ch.Address.Wildcard { // Contact: * (RFC 3261 §10.2.2) removes all, only with Expires 0
			if expires != 0 || len(contacts) != 1 {
				r.mu.Unlock()
				return sip.NewResponseFromRequest(req, 400, "Bad Request: Contact * needs Expires: 0", nil)
			}
			clear(m)
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
			delete(m, key)
			continue
		}
		if exp < r.minExpires {
			r.mu.Unlock()
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
		m[key] = &Binding{
			Agent: agent, Contact: *ch.Address.Clone(), Source: req.Source(),
			Transport: strings.ToLower(req.Transport()), CallID: callID, CSeq: cseq,
			Expires: now.Add(time.Duration(exp) * time.Second), UserAgent: ua,
		}
	}
	after := len(m)
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	for _, b := range m {
		c := &sip.ContactHeader{Address: b.Contact, Params: sip.NewParams()}
		c.Params.Add("expires", strconv.Itoa(int(b.Expires.Sub(now).Round(time.Second)/time.Second)))
		res.AppendHeader(c)
	}
	if after == 0 {
		delete(r.bindings, agent)
	}
	total := 0
	for _, mm := range r.bindings {
		total += len(mm)
	}
	r.mu.Unlock()
	mBindings.Set(float64(total))
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
