package sip

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Security events, named as Asterisk names them (its security_events_defs.h), so that
// operators, SIEM rules and fail2ban habits carry over.
const (
	EventInvalidAccountID        = "InvalidAccountID"        // digest for a user name that is no account
	EventInvalidPassword         = "InvalidPassword"         // digest for an account with a wrong response
	EventChallengeResponseFailed = "ChallengeResponseFailed" // a nonce replayed or not ours
	EventFailedACL               = "FailedACL"               // refused by a lockout, or a lockout begins
	EventRequestBadFormat        = "RequestBadFormat"        // a request hotline refuses as malformed
)

// securityEventMsg is the message of every security event record; deploy/fail2ban's filter
// matches it.
const securityEventMsg = "security event"

// Event log throttling: per source address, the first eventBurst events of each
// eventWindow are written; the rest are counted and summed up in one record when the
// window ends. fail2ban needs the first ones; a flood must not fill the disk.
const (
	eventBurst      = 10
	eventWindow     = time.Minute
	eventMaxSources = 10000
)

// securityLog writes security events: one WARN record each, fields in a fixed order with
// the ones hotline decides (event, service, source_ip, source, transport, method) before the
// ones the sender chose (user, session_id, reason), so that no user name can pass for a
// source_ip to a filter reading the line from the left.
type securityLog struct {
	log *slog.Logger
	now func() time.Time

	mu  sync.Mutex
	per map[netip.Addr]*msgCount
}

func newSecurityLog(log *slog.Logger, now func() time.Time) *securityLog {
	return &securityLog{log: log, now: now, per: map[netip.Addr]*msgCount{}}
}

// report writes (or, past the burst, counts) one security event about req.
func (l *securityLog) report(req *sip.Request, event, user, reason string) {
	l.reportLazy(req, event, user, func() string { return reason })
}

// reportLazy is report with a reason made only if the record is written (a flood of
// refusals costs a count, not a formatted string each).
func (l *securityLog) reportLazy(req *sip.Request, event, user string, reason func() string) {
	mSecurityEvents.WithLabelValues(event).Inc()
	ip := sourceIP(req)
	now := l.now()
	l.mu.Lock()
	c := l.per[ip]
	var suppressed int
	if c == nil || now.Sub(c.start) > eventWindow {
		if c != nil {
			suppressed = c.suppressed
		}
		if c == nil && len(l.per) >= eventMaxSources {
			l.sweep(now)
		}
		c = &msgCount{start: now}
		l.per[ip] = c
	}
	c.n++
	pass := c.n <= eventBurst
	if !pass {
		c.suppressed++
	}
	l.mu.Unlock()
	ctx := context.Background()
	if suppressed > 0 {
		l.log.LogAttrs(ctx, slog.LevelWarn, "security events suppressed", slog.String("source_ip", ipString(ip)),
			slog.Int("count", suppressed), slog.Duration("window", eventWindow))
	}
	if !pass {
		return
	}
	var callID string
	if h := req.CallID(); h != nil {
		callID = h.Value()
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, securityEventMsg,
		slog.String("event", event),
		slog.String("service", "SIP"),
		slog.String("source_ip", ipString(ip)),
		slog.String("source", req.Source()),
		slog.String("transport", strings.ToLower(req.Transport())),
		slog.String("method", string(req.Method)),
		slog.String("user", user),
		slog.String("session_id", callID),
		slog.String("reason", reason()))
}

// sweep forgets the sources whose window has ended; if none has, all of them (the first
// events of every source are then written again: the safe side for fail2ban).
func (l *securityLog) sweep(now time.Time) {
	for ip, c := range l.per {
		if now.Sub(c.start) > eventWindow {
			delete(l.per, ip)
		}
	}
	if len(l.per) >= eventMaxSources {
		clear(l.per)
	}
}

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown"
	}
	return ip.String()
}

// supportedExtensions are the option tags hotline implements (RFC 3261 §8.2.2.3); a Require
// naming any other gets 420. None today: no 100rel, no timer, no replaces.
var supportedExtensions = map[string]bool{}

// singleHeaders may appear once in a request (RFC 3261 §7.3.1: not comma lists); two are
// two answers to one question (RFC 4475 §3.1.2.11 mcl01, §3.1.2.19 multi01).
var singleHeaders = []string{"To", "From", "Call-ID", "CSeq", "Max-Forwards", "Content-Length"}

// checkRequest is the sanity check every request hotline handles passes first (RFC 3261
// §8.2, RFC 4475's semantic tests): the mandatory headers, once each, a sip: or sips:
// Request-URI (unkscm), a CSeq whose method is the
// request's (mismatch01), Max-Forwards above 0 (zeromf), and no Require hotline cannot honour.
// nil if req is fit to handle.
func checkRequest(req *sip.Request) *StatusError {
	missing := func(name string) *StatusError { return errMissingHeader(name) }
	switch {
	case req.Via() == nil:
		return missing("Via")
	case req.From() == nil:
		return missing("From")
	case req.To() == nil:
		return missing("To")
	case req.CallID() == nil || req.CallID().Value() == "":
		return missing("Call-ID")
	case req.CSeq() == nil:
		return missing("CSeq")
	}
	for _, name := range singleHeaders {
		if len(req.GetHeaders(name)) > 1 {
			return errDuplicateHeader(name)
		}
	}
	if sc := strings.ToLower(req.Recipient.Scheme); sc != "sip" && sc != "sips" {
		return errUnsupportedScheme(req.Recipient.Scheme)
	}
	if m := req.CSeq().MethodName; m != req.Method {
		return errCSeqMismatch(m, req.Method)
	}
	if mf := req.MaxForwards(); mf != nil && mf.Val() == 0 {
		return errTooManyHops()
	}
	if req.Method != sip.ACK && req.Method != sip.CANCEL {
		var unsupported []string
		for _, h := range req.GetHeaders("Require") {
			for _, tag := range strings.Split(h.Value(), ",") {
				if tag = strings.TrimSpace(tag); tag != "" && !supportedExtensions[strings.ToLower(tag)] {
					unsupported = append(unsupported, tag)
				}
			}
		}
		if len(unsupported) > 0 {
			return errBadExtension(unsupported)
		}
	}
	return nil
}

// refuseMalformed answers req with checkRequest's refusal, if any, and reports it as a
// security event; it says whether req was refused.
func (s *Server) refuseMalformed(tx responder, req *sip.Request) bool {
	rej := checkRequest(req)
	if rej == nil {
		return false
	}
	if s.gate != nil {
		s.gate.events.report(req, EventRequestBadFormat, userOf(req), rej.Err.Error())
	}
	s.reject(tx, req, rej)
	return true
}

// userOf is the user part of req's From, for events ("" if it has none).
func userOf(req *sip.Request) string {
	if f := req.From(); f != nil {
		return f.Address.User
	}
	return ""
}

// onCancel answers a CANCEL that matched no INVITE transaction: sipgo's transaction layer
// answers (200, then 487) the ones that did, and hands us only the rest (RFC 3261 §9.2:
// "the UAS SHOULD respond to the CANCEL with a 481").
func (s *Server) onCancel(req *sip.Request, tx sip.ServerTransaction) {
	if s.refuseMalformed(tx, req) {
		return
	}
	s.reject(tx, req, errNoTransaction())
}
