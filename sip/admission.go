package sip

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// Admission control: hotline refuses new work it cannot take with 503 Service Unavailable and
// Retry-After (RFC 3261 §21.5.4) before any media, store or flow work is done for it, so that a
// flood from one source (or many) cannot starve the calls hotline has taken or could take.
//
// Two places decide, with the same limits:
//
//   - the UDP read filter, on sipgo's read goroutine before the message is parsed: a new INVITE,
//     REGISTER or OPTIONS over a limit is answered statelessly (RFC 3261 §8.2.7) from its raw
//     bytes, so a refused request costs no parse, no server transaction, no goroutine and no
//     allocation; the ACK to such a 503 is dropped there too;
//   - the handlers (gate.invite, gate.request), for TCP, where the filter sees a byte stream
//     rather than messages, and for the gauges (calls, pending) that stage one only reads.
//
// Requests within a dialog (re-INVITE, BYE, ACK, CANCEL, INFO, REFER) are never refused here:
// they belong to calls hotline has accepted.

// Limits are the admission limits; config sip.limits maps onto it field by field. For every
// field 0 means the default derived from the machine (DefaultLimits) and Unlimited (-1) means
// no limit. Rates are requests per second; a burst is how many may come at once after a quiet
// spell (a token bucket's depth).
type Limits struct {
	MaxCalls           int // call legs in progress (ActiveCalls), inbound and outbound
	MaxPending         int // INVITEs not yet answered finally, plus other requests in their handlers
	InviteRate         int // new INVITEs per second, all sources together
	InviteBurst        int
	SourceInviteRate   int // new INVITEs per second from one source IP
	SourceInviteBurst  int
	RegisterRate       int // REGISTERs per second, all sources (burst: twice the rate)
	SourceRegisterRate int // REGISTERs per second from one source IP (burst: twice the rate)
	OptionsRate        int // OPTIONS per second, all sources (burst: twice the rate)
	SourceOptionsRate  int // OPTIONS per second from one source IP (burst: twice the rate)
	Sources            int // source IPs remembered at most; the longest idle is forgotten first
	RetryAfter         int // seconds, in the 503's Retry-After
	// Exempt sources are not held to the per-source rates (the overall ones still apply): a
	// trunk, or a proxy in front of hotline. nil means DefaultExempt; empty means none.
	Exempt []netip.Prefix
}

// DefaultExempt is the host itself (127.0.0.1, ::1), where a local proxy or the host's own
// tools connect from; nobody outside can send from it (the kernel drops such packets off the
// wire). The rest of 127/8 is not exempt, so tests can flood from 127.0.0.2.
var DefaultExempt = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}

// Unlimited switches a limit off.
const Unlimited = -1

// Per core. New calls on one core (GOMAXPROCS=1, sipp callers holding 1 s of hold music,
// scripts/flood.sh capacity): about 150/s on an idle machine; on a busy one setup p99 stays
// under 60 ms at 75/s and passes 3 s at 100/s. The default rate sits below that knee. Calls
// in progress and pending requests are bounded by memory and by how long a burst takes to
// drain; docs/security.md (Limits and sizing) has the reasoning for each.
const (
	perCoreInviteRate   = 80
	perCoreCalls        = 500
	perCorePending      = 200
	perCoreRegisterRate = 200
	perCoreOptionsRate  = 200
)

// DefaultLimits are the limits for a machine running procs Go threads (GOMAXPROCS): overall
// rates and gauges scale with it, per-source rates do not (one phone, one office's NAT or one
// trunk is the same whatever hotline runs on).
func DefaultLimits(procs int) Limits {
	procs = max(procs, 1)
	return Limits{
		MaxCalls:         perCoreCalls * procs,
		MaxPending:       perCorePending * procs,
		InviteRate:       perCoreInviteRate * procs,
		InviteBurst:      perCoreInviteRate * procs,
		SourceInviteRate: 20, SourceInviteBurst: 40,
		RegisterRate: perCoreRegisterRate * procs, SourceRegisterRate: 20,
		OptionsRate: perCoreOptionsRate * procs, SourceOptionsRate: 10,
		Sources:    10000,
		RetryAfter: 2,
		Exempt:     DefaultExempt,
	}
}

// resolved is l with every 0 replaced by its default for procs.
func (l Limits) resolved(procs int) Limits {
	d := DefaultLimits(procs)
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	r := Limits{
		MaxCalls:           pick(l.MaxCalls, d.MaxCalls),
		MaxPending:         pick(l.MaxPending, d.MaxPending),
		InviteRate:         pick(l.InviteRate, d.InviteRate),
		SourceInviteRate:   pick(l.SourceInviteRate, d.SourceInviteRate),
		RegisterRate:       pick(l.RegisterRate, d.RegisterRate),
		SourceRegisterRate: pick(l.SourceRegisterRate, d.SourceRegisterRate),
		OptionsRate:        pick(l.OptionsRate, d.OptionsRate),
		SourceOptionsRate:  pick(l.SourceOptionsRate, d.SourceOptionsRate),
		Sources:            pick(l.Sources, d.Sources),
		RetryAfter:         pick(l.RetryAfter, d.RetryAfter),
		Exempt:             l.Exempt,
	}
	if r.Exempt == nil {
		r.Exempt = d.Exempt
	}
	// A burst left at 0 follows its rate: the default's ratio when the rate is the default,
	// one second's worth when the rate was set.
	r.InviteBurst = pick(l.InviteBurst, burstFor(l.InviteRate, r.InviteRate, d.InviteBurst))
	r.SourceInviteBurst = pick(l.SourceInviteBurst, burstFor(l.SourceInviteRate, r.SourceInviteRate, d.SourceInviteBurst))
	if r.Sources == Unlimited {
		r.Sources = 1 << 20 // memory must stay bounded: about 200 MiB at worst
	}
	if r.RetryAfter == Unlimited {
		r.RetryAfter = 0 // no Retry-After header
	}
	return r
}

func burstFor(set, rate, def int) int {
	if set == 0 {
		return def
	}
	return rate
}

// kind is what a request asks of hotline, as admission sees it.
type kind uint8

const (
	kindInvite kind = iota
	kindRegister
	kindOptions
	kinds
)

var kindMethod = [kinds]string{"INVITE", "REGISTER", "OPTIONS"}

// reason is why a request was refused; admitted (0) if it was not.
type reason uint8

const (
	admitted reason = iota
	reasonCalls
	reasonPending
	reasonRate
	reasonSourceRate
	reasons
)

var reasonLabel = [reasons]string{"", "calls", "pending", "rate", "source_rate"}

var reasonText = [reasons]string{"", "too many calls in progress", "too many requests pending",
	"too many requests from all sources", "too many requests from this source"}

var mAdmissionRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "hotline", Subsystem: "sip", Name: "admission_refused_total",
	Help: "New requests refused with 503 by admission control before any work, by method (INVITE, REGISTER, OPTIONS) and reason: calls (max_calls), pending (max_pending), rate (the overall rate), source_rate (one source's rate).",
}, []string{"method", "reason"})

// refusedCounters and refused5xx are the counters a refusal increments, looked up once: the
// refusal path must not allocate (WithLabelValues builds a slice).
var (
	refusedCounters [kinds][reasons]prometheus.Counter
	refused5xx      [kinds]prometheus.Counter
)

func init() {
	prometheus.MustRegister(mAdmissionRefused)
	for k := range kinds {
		for r := reasonCalls; r < reasons; r++ {
			refusedCounters[k][r] = mAdmissionRefused.WithLabelValues(kindMethod[k], reasonLabel[r])
		}
		refused5xx[k] = mRequests.WithLabelValues(kindMethod[k], "5xx")
	}
}

// bucket is a token bucket: up to burst requests at once, refilled at rate per second.
type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last take
}

func (b *bucket) take(now int64, rate, burst float64) bool {
	if el := now - b.last; el > 0 {
		b.tokens = min(burst, b.tokens+float64(el)*rate/1e9)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// rateLimit is a bucket's rate and depth; off when the limit is Unlimited.
type rateLimit struct {
	rate, burst float64
	off         bool
}

func newRateLimit(rate, burst int) rateLimit {
	if rate == Unlimited || burst == Unlimited {
		return rateLimit{off: true}
	}
	return rateLimit{rate: float64(rate), burst: float64(max(burst, 1))}
}

// source is what admission remembers of one source IP: a bucket per kind, when it was last
// refused (the warning is logged when refusals start after a quiet spell, not for each one, nor
// each time a refilled token lets one request through), and its place in the recency list.
type source struct {
	addr       netip.Addr
	b          [kinds]bucket
	refused    [kinds]int64 // when it was last refused, unix nanoseconds
	prev, next *source
}

// sourceTable is a bounded map of sources, least recently seen evicted first: a flood from
// spoofed or many addresses recycles entries rather than growing memory, while a source that
// keeps sending stays at the front and keeps its (empty) buckets.
type sourceTable struct {
	m          map[netip.Addr]*source
	head, tail *source // head: most recently seen
	max        int
}

func newSourceTable(max int) sourceTable {
	return sourceTable{m: make(map[netip.Addr]*source, min(max, 4096)), max: max}
}

// get is addr's entry, made (or recycled from the oldest) if there is none; fresh reports a new
// entry, whose buckets the caller fills.
func (t *sourceTable) get(addr netip.Addr) (e *source, fresh bool) {
	if e = t.m[addr]; e != nil {
		t.front(e)
		return e, false
	}
	if len(t.m) >= t.max && t.tail != nil {
		e = t.tail
		t.unlink(e)
		delete(t.m, e.addr)
		*e = source{}
	} else {
		e = &source{}
	}
	e.addr = addr
	t.m[addr] = e
	t.pushFront(e)
	return e, true
}

func (t *sourceTable) front(e *source) {
	if t.head == e {
		return
	}
	t.unlink(e)
	t.pushFront(e)
}

func (t *sourceTable) pushFront(e *source) {
	e.prev, e.next = nil, t.head
	if t.head != nil {
		t.head.prev = e
	}
	t.head = e
	if t.tail == nil {
		t.tail = e
	}
}

func (t *sourceTable) unlink(e *source) {
	if e.prev != nil {
		e.prev.next = e.next
	} else if t.head == e {
		t.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else if t.tail == e {
		t.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// gate is admission control for one Server.
type gate struct {
	lim     Limits
	overall [kinds]rateLimit
	each    [kinds]rateLimit
	now     func() time.Time
	calls   func() int // call legs in progress
	log     *slog.Logger
	tag     string // the To tag of stateless refusals; their ACKs carry it back

	mu      sync.Mutex
	buckets [kinds]bucket
	sources sourceTable
	limited [reasons]int64 // when an overall limit last refused, unix nanoseconds

	pending atomic.Int64
	conn    atomic.Pointer[net.UDPConn] // the UDP listener, for stateless refusals
	bufs    sync.Pool                   // *[]byte response buffers
}

func newGate(l Limits, now func() time.Time, calls func() int, log *slog.Logger) *gate {
	l = l.resolved(runtime.GOMAXPROCS(0))
	g := &gate{lim: l, now: now, calls: calls, log: log,
		tag: "hl503-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	g.overall = [kinds]rateLimit{newRateLimit(l.InviteRate, l.InviteBurst),
		newRateLimit(l.RegisterRate, 2*l.RegisterRate), newRateLimit(l.OptionsRate, 2*l.OptionsRate)}
	g.each = [kinds]rateLimit{newRateLimit(l.SourceInviteRate, l.SourceInviteBurst),
		newRateLimit(l.SourceRegisterRate, 2*l.SourceRegisterRate), newRateLimit(l.SourceOptionsRate, 2*l.SourceOptionsRate)}
	now0 := now().UnixNano()
	for k := range kinds {
		g.buckets[k] = bucket{tokens: g.overall[k].burst, last: now0}
	}
	g.sources = newSourceTable(l.Sources)
	g.bufs.New = func() any { b := make([]byte, 0, 2048); return &b }
	return g
}

// admit decides on a new request of kind k from src: admitted, or why not. rates says whether
// the rate limits apply (they are charged once per request: in the UDP filter, or in the
// handler for other transports). A refusal by the source's own limit takes no token from the
// overall one, so one flooding source cannot use up everyone's rate.
func (g *gate) admit(k kind, src netip.Addr, rates bool) reason {
	if k == kindInvite && g.lim.MaxCalls != Unlimited && g.calls() >= g.lim.MaxCalls {
		return g.limit(reasonCalls)
	}
	if g.lim.MaxPending != Unlimited && g.pending.Load() >= int64(g.lim.MaxPending) {
		return g.limit(reasonPending)
	}
	if !rates {
		return admitted
	}
	now := g.now().UnixNano()
	g.mu.Lock()
	if each := g.each[k]; !each.off && !g.exempt(src) {
		e, fresh := g.sources.get(src)
		if fresh {
			for i := range kinds {
				e.b[i] = bucket{tokens: g.each[i].burst, last: now}
			}
		}
		if !e.b[k].take(now, each.rate, each.burst) {
			warn := now-e.refused[k] > int64(quietSpell)
			e.refused[k] = now
			g.mu.Unlock()
			if warn {
				g.log.Warn("SIP source refused: over its rate", "source", src, "method", kindMethod[k],
					"rate", each.rate, "burst", each.burst)
			}
			return reasonSourceRate
		}
	}
	if all := g.overall[k]; !all.off && !g.buckets[k].take(now, all.rate, all.burst) {
		g.mu.Unlock()
		return g.limit(reasonRate)
	}
	g.mu.Unlock()
	return admitted
}

// exempt says whether src is spared the per-source rates.
func (g *gate) exempt(src netip.Addr) bool {
	for _, p := range g.lim.Exempt {
		if p.Contains(src) {
			return true
		}
	}
	return false
}

// quietSpell is how long a source (or an overall limit) goes without refusals before its next
// refusal is logged again.
const quietSpell = time.Minute

// limit notes that an overall limit refuses, and warns when it starts to.
func (g *gate) limit(r reason) reason {
	now := g.now().UnixNano()
	g.mu.Lock()
	warn := now-g.limited[r] > int64(quietSpell)
	g.limited[r] = now
	g.mu.Unlock()
	if warn {
		g.log.Warn("SIP admission limit reached: refusing new requests", "reason", reasonLabel[r],
			"max_calls", g.lim.MaxCalls, "max_pending", g.lim.MaxPending, "invite_rate", g.lim.InviteRate)
	}
	return r
}

func countRefused(k kind, r reason) {
	refusedCounters[k][r].Inc()
	refused5xx[k].Inc()
}

// --- stage one: the UDP read filter ---

// filter is sipgo's transport read filter (sip.WithTransportLayerReadFilter). It runs on the
// UDP listener's read goroutine before parsing, so it looks at raw bytes only, never blocks,
// and never returns an error (an error stops the listener's read loop).
func (g *gate) filter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if info.Transport != "UDP" {
		return data, nil // a stream's bytes are not one message: the handlers decide
	}
	k, ack, ok := rawKind(data)
	if !ok {
		return data, nil
	}
	if ack { // the ACK of a stateless refusal comes back with its tag; no transaction awaits it
		if tag, _ := rawToTag(data); tag != nil && string(tag) == g.tag {
			return nil, nil
		}
		return data, nil
	}
	if k == kindInvite {
		if tag, found := rawToTag(data); found && len(tag) > 0 {
			return data, nil // a re-INVITE: part of a call hotline took
		}
	}
	ua, _ := info.RemoteAddr.(*net.UDPAddr)
	if ua == nil {
		return data, nil
	}
	ap := ua.AddrPort()
	r := g.admit(k, ap.Addr().Unmap(), true)
	if r == admitted {
		return data, nil
	}
	countRefused(k, r)
	g.refuseRaw(data, ap)
	return nil, nil
}

// refuseRaw answers the raw request data with a 503 written straight to the socket. A request
// too broken to answer is dropped: it is over a limit anyway.
func (g *gate) refuseRaw(data []byte, to netip.AddrPort) {
	conn := g.conn.Load()
	if conn == nil {
		return
	}
	bp := g.bufs.Get().(*[]byte)
	out, ok := appendRefusal((*bp)[:0], data, g.tag, g.lim.RetryAfter)
	if ok {
		_, _ = conn.WriteToUDPAddrPort(out, to)
	}
	*bp = out[:0]
	g.bufs.Put(bp)
}

// rawKind reads the request method off the start line: a kind admission limits, or an ACK.
// Methods are case-sensitive (RFC 3261 §7.1).
func rawKind(data []byte) (k kind, ack, ok bool) {
	switch {
	case bytes.HasPrefix(data, []byte("INVITE ")):
		return kindInvite, false, true
	case bytes.HasPrefix(data, []byte("REGISTER ")):
		return kindRegister, false, true
	case bytes.HasPrefix(data, []byte("OPTIONS ")):
		return kindOptions, false, true
	case bytes.HasPrefix(data, []byte("ACK ")):
		return 0, true, true
	}
	return 0, false, false
}

// rawHeaders walks the header lines of a raw message: each line with its continuation lines
// (RFC 3261 §7.3.1), without the final CRLF, until the empty line. Lines end at CRLF and only
// there, as sipgo's parser has them (a bare LF is part of a line), so that the filter reads a
// message as sipgo would.
type rawHeaders struct {
	data []byte
	pos  int
}

func newRawHeaders(data []byte) rawHeaders {
	end, ok := lineEnd(data, 0)
	if !ok {
		return rawHeaders{data: data, pos: len(data)}
	}
	return rawHeaders{data: data, pos: end}
}

// lineEnd is the index just past the CRLF ending the line that starts at from.
func lineEnd(data []byte, from int) (int, bool) {
	i := bytes.IndexByte(data[from:], '\r')
	if i < 0 || from+i+1 >= len(data) || data[from+i+1] != '\n' {
		return 0, false
	}
	return from + i + 2, true
}

// next is the next header's name and whole line.
func (h *rawHeaders) next() (name, line []byte, ok bool) {
	start := h.pos
	if start >= len(h.data) {
		return nil, nil, false
	}
	end, ok := lineEnd(h.data, start)
	if !ok {
		return nil, nil, false // no CRLF: not a whole message
	}
	if end == start+2 {
		h.pos = end
		return nil, nil, false // the empty line: end of the headers
	}
	for end < len(h.data) && (h.data[end] == ' ' || h.data[end] == '\t') {
		if end, ok = lineEnd(h.data, end); !ok {
			return nil, nil, false
		}
	}
	h.pos = end
	line = h.data[start : end-2]
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return nil, line, true
	}
	return bytes.TrimSpace(line[:colon]), line, true
}

// Header names and their compact forms (RFC 3261 §7.3.3).
func isHeader(name []byte, long, short string) bool {
	return bytes.EqualFold(name, []byte(long)) || (short != "" && bytes.EqualFold(name, []byte(short)))
}

// rawToTag is the tag parameter of the To header: found says whether there is a To header.
func rawToTag(data []byte) (tag []byte, found bool) {
	h := newRawHeaders(data)
	for {
		name, line, ok := h.next()
		if !ok {
			return nil, false
		}
		if isHeader(name, "to", "t") {
			return toTag(line[bytes.IndexByte(line, ':')+1:]), true
		}
	}
}

// toTag finds ;tag= among the header parameters of a To value, after the URI's closing '>'.
// It is deliberately strict (a bracketed URI, ";tag=" exactly, lower case): the filter must
// never see a tag where sipgo sees none, since a new INVITE taken for a re-INVITE would skip
// the rate limits; the other way round only holds an odd re-INVITE to its source's rate.
func toTag(v []byte) []byte {
	i := bytes.LastIndexByte(v, '>')
	if i < 0 {
		return nil
	}
	v = v[i+1:]
	for {
		j := bytes.Index(v, []byte(";tag="))
		if j < 0 {
			return nil
		}
		p := v[j+len(";tag="):]
		end := 0
		for end < len(p) && isTokenChar(p[end]) {
			end++
		}
		if end > 0 {
			// Only a whole parameter is a tag: "tag=0=" is not one (sipgo reads none there).
			if end == len(p) || bytes.IndexByte([]byte("; \t\r\n"), p[end]) >= 0 {
				return p[:end]
			}
			return nil
		}
		v = p
	}
}

// isTokenChar says whether c may be part of a token (RFC 3261 §25.1), which a tag is.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-.!%*_+`'~", c) >= 0
}

// appendRefusal appends to dst a stateless 503 for the raw request: its Via, From, To (with
// tag added when it has none, RFC 3261 §8.2.6.2), Call-ID and CSeq, and Retry-After. ok is
// false when the request lacks one of those.
func appendRefusal(dst, req []byte, tag string, retryAfter int) ([]byte, bool) {
	const (
		via = 1 << iota
		from
		to
		callID
		cseq
		all = via | from | to | callID | cseq
	)
	dst = append(dst, "SIP/2.0 503 Service Unavailable\r\n"...)
	var seen int
	h := newRawHeaders(req)
	for {
		name, line, ok := h.next()
		if !ok {
			break
		}
		switch {
		case isHeader(name, "via", "v"):
			seen |= via
		case isHeader(name, "from", "f"):
			seen |= from
		case isHeader(name, "call-id", "i"):
			seen |= callID
		case isHeader(name, "cseq", ""):
			seen |= cseq
		case isHeader(name, "to", "t"):
			seen |= to
			dst = append(dst, line...)
			if toTag(line[bytes.IndexByte(line, ':')+1:]) == nil {
				dst = append(dst, ";tag="...)
				dst = append(dst, tag...)
			}
			dst = append(dst, "\r\n"...)
			continue
		default:
			continue
		}
		dst = append(dst, line...)
		dst = append(dst, "\r\n"...)
	}
	if seen != all {
		return dst, false
	}
	if retryAfter > 0 {
		dst = append(dst, "Retry-After: "...)
		dst = strconv.AppendInt(dst, int64(retryAfter), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "Content-Length: 0\r\n\r\n"...)
	return dst, true
}

// udpReadBuffer is the SIP socket's receive buffer: about 8000 requests, five seconds of a
// 1500/s flood.
const udpReadBuffer = 4 << 20

// listenAndServe is sipgo's ListenAndServe, except that for UDP hotline opens the socket
// itself and keeps it, so that the read filter can answer refusals statelessly on it.
func (s *Server) listenAndServe(ctx context.Context, network string) error {
	if network != "udp" {
		return s.srv.ListenAndServe(ctx, network, s.cfg.Addr)
	}
	laddr, err := net.ResolveUDPAddr("udp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", s.cfg.Addr, err)
	}
	conn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return err
	}
	// A deep receive buffer rides out the moments the server is not reading (GC, another
	// process on its core): refusals drain it at microseconds a request, while a shallow one
	// would drop legitimate requests with the flood's. The kernel caps it at net.core.rmem_max.
	if err := conn.SetReadBuffer(udpReadBuffer); err != nil {
		s.log.Debug("UDP receive buffer not enlarged", "error", err)
	}
	s.admit.conn.Store(conn)
	go func() { <-ctx.Done(); conn.Close() }()
	if ready, ok := ctx.Value(sipgo.ListenReadyCtxKey).(sipgo.ListenReadyFuncCtxValue); ok {
		ready("udp", conn.LocalAddr().String())
	}
	return s.srv.ServeUDP(conn)
}

// --- stage two: the handlers ---

// sourceOf is the IP a request came from.
func sourceOf(req *sip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// rated says whether the handler charges the rate limits: the UDP filter has, for UDP.
func rated(req *sip.Request) bool { return req.Transport() != "UDP" }

// refuse answers a request the handler stage refuses.
func (g *gate) refuse(tx responder, req *sip.Request, k kind, r reason) {
	countRefused(k, r)
	rej := &StatusError{Status: 503, Reason: "Service Unavailable", Label: reasonLabel[r], RetryAfter: g.lim.RetryAfter,
		WarnCode: 399, WarnText: reasonText[r]}
	_ = tx.Respond(rej.Response(req))
}

// invite wraps the INVITE handler: a new INVITE is admitted (or refused) and counts as pending
// until its final response; a re-INVITE goes straight through.
func (g *gate) invite(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if to := req.To(); to != nil {
			if tag, ok := to.Params.Get("tag"); ok && tag != "" {
				next(req, tx)
				return
			}
		}
		if r := g.admit(kindInvite, sourceOf(req), rated(req)); r != admitted {
			g.refuse(tx, req, kindInvite, r)
			return
		}
		if !g.enter() {
			g.refuse(tx, req, kindInvite, g.limit(reasonPending))
			return
		}
		ptx := &pendingTx{ServerTransaction: tx, g: g}
		defer ptx.settle()
		next(req, ptx)
	}
}

// request wraps the REGISTER or OPTIONS handler: admitted or refused, pending while it runs.
func (g *gate) request(k kind, next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if r := g.admit(k, sourceOf(req), rated(req)); r != admitted {
			g.refuse(tx, req, k, r)
			return
		}
		if !g.enter() {
			g.refuse(tx, req, k, g.limit(reasonPending))
			return
		}
		defer g.pending.Add(-1)
		next(req, tx)
	}
}

// enter counts one more pending request, unless that is one too many.
func (g *gate) enter() bool {
	n := g.pending.Add(1)
	if g.lim.MaxPending != Unlimited && n > int64(g.lim.MaxPending) {
		g.pending.Add(-1)
		return false
	}
	return true
}

// pendingTx is an INVITE's server transaction that stops counting as pending at its first
// final response (or when the handler returns without one). sipgo's dialog layer answers
// through it, so the 200 of an answered call is seen.
type pendingTx struct {
	sip.ServerTransaction
	g       *gate
	settled atomic.Bool
}

func (t *pendingTx) Respond(res *sip.Response) error {
	if res.StatusCode >= 200 {
		t.settle()
	}
	return t.ServerTransaction.Respond(res)
}

func (t *pendingTx) settle() {
	if t.settled.CompareAndSwap(false, true) {
		t.g.pending.Add(-1)
	}
}
