package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

// How long a destination may stay silent (not even 100 Trying) before it counts as unreachable.
const unreachableAfter = 5 * time.Second

type destination struct {
	uri       sip.Uri
	transport string
	via       string // host:port to send to instead of the URI's (a phone behind NAT), or ""
	// savp offers SRTP as RTP/SAVP, as under SRTPRequired, where the policy is optional: the
	// second try at a phone that refused the best-effort offer (RTP/AVP with keys).
	savp bool
}

// Originate calls an agent's registered phones (in parallel; the first to answer wins) or a
// SIP URI or number, and returns the answered channel. Failures are *call.DialError.
func (s *Server) Originate(ctx context.Context, to call.Target, opts call.OriginateOptions) (call.Channel, error) {
	if s.ctx == nil || s.ctx.Err() != nil {
		return nil, ErrServerClosed
	}
	if opts.RingTimeout == 0 {
		opts.RingTimeout = s.cfg.RingTimeout
	}
	dests, err := s.resolve(ctx, to)
	if err != nil {
		return nil, &call.DialError{Target: to, Cause: call.CauseNoResponse, Err: fmt.Errorf("%w: %v", call.ErrUnreachable, err)}
	}
	if len(dests) == 1 {
		return s.dial(ctx, to, dests[0], opts)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		ch  *Channel
		err error
	}
	results := make(chan result, len(dests))
	for _, d := range dests {
		go func() {
			ch, err := s.dial(fctx, to, d, opts)
			results <- result{ch, err}
		}()
	}
	var winner *Channel
	var errs []error
	for range dests {
		r := <-results
		switch {
		case r.err == nil && winner == nil:
			winner = r.ch
			cancel() // stop the other phones ringing
		case r.err == nil:
			_ = r.ch.Hangup(call.CauseNormal) // answered too late
		default:
			errs = append(errs, r.err)
		}
	}
	if winner != nil {
		return winner, nil
	}
	return nil, worstDialError(to, errs)
}

// worstDialError picks the outcome that says most about the agent: busy, rejected, no answer, unreachable.
func worstDialError(to call.Target, errs []error) error {
	for _, want := range []error{call.ErrBusy, call.ErrRejected, call.ErrNoAnswer} {
		for _, e := range errs {
			if errors.Is(e, want) {
				return e
			}
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return &call.DialError{Target: to, Cause: call.CauseNoResponse, Err: call.ErrUnreachable}
}

func (s *Server) resolve(ctx context.Context, to call.Target) ([]destination, error) {
	if to.Agent != "" {
		if _, ok := s.password(to.Agent); !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownAgent, to.Agent)
		}
		bs, err := s.reg.Lookup(ctx, to.Agent)
		if err != nil { // the phones may be registered, but where is not known now
			s.reg.storeLog.Warn("registrations unavailable: agent not reachable now", "agent", to.Agent, "error", err)
			return nil, fmt.Errorf("%w: %s: %w", ErrNotRegistered, to.Agent, err)
		}
		if len(bs) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNotRegistered, to.Agent)
		}
		out := make([]destination, 0, len(bs))
		for _, b := range bs {
			d := destination{uri: b.Contact, transport: b.Transport}
			// A phone on TLS is reached over the connection it registered on: it has no
			// certificate to accept one, and its Contact port is often not listening.
			// Through a proxy (Kamailio in front of several nodes), the proxy relays to the
			// Contact, whichever node the phone registered at.
			if b.Transport == "tls" || b.Proxied || s.behindNAT(b.Contact, b.Source) {
				d.via = b.Source
			}
			out = append(out, d)
		}
		return out, nil
	}
	target := strings.TrimSpace(to.URI)
	if strings.HasPrefix(target, "sip:") || strings.HasPrefix(target, "sips:") {
		var u sip.Uri
		if err := sip.ParseUri(target, &u); err != nil {
			return nil, fmt.Errorf("bad SIP URI %q: %v", target, err)
		}
		tr := "udp"
		if u.Scheme == "sips" { // RFC 3261 §26.2.2: TLS all the way
			tr = "tls"
		}
		if v, ok := u.UriParams.Get("transport"); ok {
			tr = strings.ToLower(v)
		}
		return []destination{{uri: u, transport: tr}}, nil
	}
	if s.cfg.Trunk == "" {
		return nil, ErrNoTrunk
	}
	host, port, err := splitHostPort(s.cfg.Trunk)
	if err != nil {
		return nil, err
	}
	return []destination{{uri: sip.Uri{Scheme: "sip", User: target, Host: host, Port: port}, transport: "udp"}}, nil
}

// dial calls one destination. A phone set to SRTP-mandatory refuses hotline's best-effort
// offer (RTP/AVP with a=crypto) with 488: under an optional policy it is offered RTP/SAVP
// once more, so such a phone needs no srtp: required of its own.
func (s *Server) dial(ctx context.Context, to call.Target, d destination, opts call.OriginateOptions) (*Channel, error) {
	ch, err := s.dialOnce(ctx, to, d, opts)
	var de *call.DialError
	if policy, perr := s.srtp.forCall(to.Agent, d.transport == "tls"); perr == nil && policy == media.SRTPOptional &&
		errors.As(err, &de) && de.Status == 488 && ctx.Err() == nil {
		s.log.Info("phone refused best-effort SRTP: offering RTP/SAVP", "to", to.String())
		d.savp = true
		return s.dialOnce(ctx, to, d, opts)
	}
	return ch, err
}

func (s *Server) dialOnce(ctx context.Context, to call.Target, d destination, opts call.OriginateOptions) (*Channel, error) {
	fail := func(cause call.Cause, sentinel error, status int, detail error) error {
		err := sentinel
		if detail != nil {
			err = fmt.Errorf("%w: %v", sentinel, detail)
		}
		return &call.DialError{Target: to, Cause: cause, Status: status, Err: err}
	}
	policy, err := s.srtp.forCall(to.Agent, d.transport == "tls")
	if err != nil { // SRTP required, and this phone is on udp or tcp
		return nil, fail(call.CauseIncompatible, call.ErrUnreachable, 0, err)
	}
	if d.savp && policy == media.SRTPOptional {
		policy = media.SRTPRequired
	}
	srtpOffer, err := media.NewSRTPOffer(policy)
	if err != nil {
		return nil, fail(call.CauseTempFailure, call.ErrUnreachable, 0, err)
	}
	sess, err := s.newMediaSession()
	if err != nil {
		return nil, fail(call.CauseTempFailure, call.ErrUnreachable, 0, err)
	}
	started := time.Now()
	offer := media.OfferSDP(s.mediaAddr(sess), uint64(started.UnixNano()), 1, s.cfg.Codecs, 101, media.WithSRTP(srtpOffer))

	req := sip.NewRequest(sip.INVITE, d.uri)
	req.SetBody(offer)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	fromUser := opts.CallerID.Number
	if fromUser == "" {
		fromUser = "hotline"
	}
	from := &sip.FromHeader{DisplayName: opts.CallerID.Name, Address: sip.Uri{Scheme: "sip", User: fromUser, Host: s.ip.String()}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: d.uri, Params: sip.NewParams()})
	if d.transport != "" {
		req.SetTransport(strings.ToUpper(d.transport))
	}
	if d.via != "" {
		req.SetDestination(d.via)
		s.log.Debug("INVITE sent where the phone registered from (NAT or proxy)", "contact", hostPort(d.uri), "source", d.via)
	}

	dlg, err := s.dialogUA(d.via != "", d.transport == "tls").WriteInvite(ctx, req)
	if err != nil {
		_ = sess.Close()
		return nil, fail(call.CauseNoResponse, call.ErrUnreachable, 0, err)
	}
	// The wait ends by ring timeout (CANCEL, no answer), by silence (no response at all:
	// unreachable, stop without waiting for Timer B), or by the caller of Originate giving up.
	var responded, rang atomic.Bool
	wctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	errRingTimeout := errors.New("ring timeout")
	stopWaiting := func(cause error) {
		if !responded.Load() {
			cause = sipgo.WaitAnswerForceCancelErr
		}
		cancel(cause)
	}
	stopParent := context.AfterFunc(ctx, func() { stopWaiting(context.Canceled) })
	defer stopParent()
	noResp := time.AfterFunc(min(unreachableAfter, opts.RingTimeout), func() {
		if !responded.Load() {
			cancel(sipgo.WaitAnswerForceCancelErr)
		}
	})
	ring := time.AfterFunc(opts.RingTimeout, func() { stopWaiting(errRingTimeout) })
	defer noResp.Stop()
	defer ring.Stop()

	err = dlg.WaitAnswer(wctx, sipgo.AnswerOptions{OnResponse: func(r *sip.Response) error {
		responded.Store(true)
		if r.StatusCode == 180 || r.StatusCode == 183 {
			rang.Store(true)
		}
		return nil
	}})
	if err != nil {
		_ = sess.Close()
		_ = dlg.Close()
		var dr *sipgo.ErrDialogResponse
		switch cause := context.Cause(wctx); {
		case errors.As(err, &dr):
			st := dr.Res.StatusCode
			c := call.CauseFromSIP(st)
			switch c {
			case call.CauseBusy:
				return nil, fail(c, call.ErrBusy, st, nil)
			case call.CauseRejected:
				return nil, fail(c, call.ErrRejected, st, nil)
			case call.CauseNoAnswer:
				return nil, fail(c, call.ErrNoAnswer, st, nil)
			}
			return nil, fail(c, call.ErrUnreachable, st, nil)
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(cause, errRingTimeout):
			detail := fmt.Errorf("rang %v without an answer", opts.RingTimeout)
			if !rang.Load() {
				detail = fmt.Errorf("no answer in %v (it never rang)", opts.RingTimeout)
			}
			return nil, fail(call.CauseNoAnswer, call.ErrNoAnswer, 0, detail)
		case errors.Is(cause, sipgo.WaitAnswerForceCancelErr):
			return nil, fail(call.CauseNoResponse, call.ErrUnreachable, 0, errors.New("no response to INVITE"))
		default:
			return nil, fail(call.CauseNoResponse, call.ErrUnreachable, 0, err)
		}
	}
	neg, err := s.negotiateAnswer(dlg.InviteResponse.Body(), srtpOffer)
	if err == nil {
		err = sess.SetSRTP(neg.SRTP)
	}
	if err != nil {
		_ = dlg.Ack(context.Background())
		bctx, bcancel := context.WithTimeout(context.Background(), 4*time.Second)
		_ = dlg.Bye(bctx)
		bcancel()
		_ = sess.Close()
		return nil, fail(call.CauseIncompatible, call.ErrRejected, 0, fmt.Errorf("unusable SDP answer: %w", err))
	}
	if err := dlg.Ack(ctx); err != nil {
		_ = sess.Close()
		return nil, fail(call.CauseNoResponse, call.ErrUnreachable, 0, err)
	}
	sess.SetRemote(neg.Remote)
	sess.SetCodec(neg.Codec, neg.DTMFPayloadType)
	c := s.newChannel("outbound", sess, neg)
	c.id, c.client, c.dialed, c.tls, c.srtpPolicy = dlg.ID, dlg, d.uri.User, d.transport == "tls", policy
	c.caller = opts.CallerID
	c.answered = true
	c.log = s.log.With("call", c.id, "to", to.String())
	s.wg.Add(1)
	if !s.track(c.id, c) {
		c.end(call.CauseTempFailure)
		return nil, ErrServerClosed
	}
	sess.Start()
	c.watch()
	c.log.Info("outbound call answered", "codec", neg.Codec.Name, "srtp", neg.SRTP != nil, "ring_time", time.Since(started).Round(time.Millisecond))
	return c, nil
}

// negotiateAnswer reads the SDP answer to an offer of hotline's: a 200's to an INVITE, or an
// ACK's in a late-offer call.
func (s *Server) negotiateAnswer(body []byte, o *media.SRTPOffer) (media.Negotiation, error) {
	if len(body) == 0 {
		return media.Negotiation{}, errors.New("no SDP answer")
	}
	answer, err := media.ParseSDP(body)
	if err != nil {
		return media.Negotiation{}, err
	}
	return media.NegotiateAnswer(answer, s.cfg.Codecs, o)
}

func splitHostPort(hp string) (string, int, error) {
	ap, err := netip.ParseAddrPort(hp)
	if err == nil {
		return ap.Addr().String(), int(ap.Port()), nil
	}
	host, port, ok := strings.Cut(hp, ":")
	if !ok {
		return hp, 5060, nil
	}
	var p int
	if _, err := fmt.Sscanf(port, "%d", &p); err != nil {
		return "", 0, fmt.Errorf("trunk %q: bad port", hp)
	}
	return host, p, nil
}
