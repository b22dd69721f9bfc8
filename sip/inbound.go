package sip

import (
	"errors"
	"net/netip"
	"runtime/debug"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

// inviteTx is what handling an INVITE needs of its server transaction: to respond, and to be
// told of a CANCEL and of the transaction's end (sipgo's dialog layer registers for both when
// it makes the dialog). sipgo's sip.ServerTransaction satisfies it as it is; unit tests and
// FuzzInvite drive handleInvite with a recording fake and no network.
type inviteTx interface {
	responder
	OnCancel(f sip.FnTxCancel) bool
	OnTerminate(f sip.FnTxTerminate) bool
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) { s.handleInvite(req, tx) }

// handleInvite answers a new INVITE (or a re-INVITE within a dialog). The goroutine running it
// owns the call: the handler runs here, and when it returns the call is hung up.
func (s *Server) handleInvite(req *sip.Request, tx inviteTx) {
	if s.refuseMalformed(tx, req) {
		return
	}
	if to := req.To(); to != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != "" {
			s.onReInvite(req, tx)
			return
		}
	}
	c, err := s.acceptInvite(req, tx)
	if err != nil {
		s.reject(tx, req, err)
		return
	}
	s.wg.Add(1)
	if !s.track(c.id, c) {
		c.end(call.CauseTempFailure)
		return
	}
	if c.lateAnswer != nil {
		c.log.Info("incoming call without SDP: hotline will offer in its answer")
	} else {
		c.log.Info("incoming call", "codec", c.neg.Codec.Name, "dtmf_pt", c.neg.DTMFPayloadType, "remote_rtp", c.neg.Remote, "srtp", c.neg.SRTP != nil)
	}
	_ = c.server.Respond(100, "Trying", nil)
	if err := c.server.Respond(180, "Ringing", nil); err != nil { // CANCEL may already have come
		c.remoteHangup()
		return
	}
	c.watch()

	defer func() {
		if r := recover(); r != nil {
			c.log.Error("call handler panicked", "panic", r, "stack", string(debug.Stack()))
			c.end(call.CauseTempFailure)
		}
		c.end(call.CauseNormal)
		<-c.done
	}()
	s.handler(c)
}

// admission is what an INVITE hotline will take asks for.
type admission struct {
	neg       media.Negotiation
	srtp      media.SRTPPolicy // the call's (off on udp and tcp)
	lateOffer bool             // no SDP in the INVITE: hotline offers in its 200
	agent     string           // the agent a feature code's digest authenticated
}

// admitInvite decides whether hotline takes a new INVITE, from the request alone: a
// *StatusError says why not.
func (s *Server) admitInvite(req *sip.Request) (admission, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return admission{}, errShuttingDown()
	}
	// An INVITE without SDP is a late offer (RFC 3261 §13.2.1): hotline offers in its 200 and
	// the caller answers in the ACK.
	a := admission{
		lateOffer: len(req.Body()) == 0,
		neg:       media.Negotiation{Codec: s.cfg.Codecs[0], DTMFPayloadType: lateOfferDTMF, Direction: "sendrecv"},
	}
	var err error
	if a.srtp, err = s.srtp.forCall("", isTLS(req)); err != nil {
		s.log.Info("INVITE refused: SRTP required and the call is not on TLS", "source", req.Source())
		return admission{}, errSRTP(err)
	}
	if !a.lateOffer {
		desc, err := media.ParseSDP(req.Body())
		if err != nil {
			s.log.Warn("INVITE with malformed SDP", "source", req.Source(), "error", err)
			return admission{}, errMalformedSDP(err)
		}
		if a.neg, err = media.NegotiateSRTP(desc, s.cfg.Codecs, a.srtp); isSRTPError(err) {
			s.log.Info("INVITE refused: media protection", "source", req.Source(), "tls", isTLS(req), "error", err)
			return admission{}, errSRTP(err)
		} else if err != nil {
			s.log.Info("INVITE refused: no common codec", "source", req.Source(), "error", err)
			return admission{}, errNoCommonCodec(err)
		}
	}
	// Feature codes, and calls to an agent's extension (an agent consulting a colleague), are
	// for agents only: digest as the agent.
	if strings.HasPrefix(req.Recipient.User, "*") || s.isAgent(req.Recipient.User) {
		user, err := s.gate.authenticate(req)
		switch {
		case errors.Is(err, ErrLockedOut):
			return admission{}, errLockedOut()
		case errors.Is(err, ErrBadCredentials):
			return admission{}, errForbidden(err)
		case err != nil:
			return admission{}, errChallenge(err, s.gate.challenge(req, err))
		}
		a.agent = user
	}
	return a, nil
}

// acceptInvite admits a new INVITE and makes its call: the dialog, an RTP session and the
// channel, not yet tracked. A *StatusError says why there is no call.
func (s *Server) acceptInvite(req *sip.Request, tx inviteTx) (*Channel, error) {
	a, err := s.admitInvite(req)
	if err != nil {
		return nil, err
	}
	nat := false
	if c := req.Contact(); c != nil {
		nat = s.behindNAT(c.Address, req.Source())
	}
	dlg, err := s.dialogUA(nat, isTLS(req)).ReadInvite(req, dialogTx(tx))
	if err != nil {
		return nil, errBadRequest(err)
	}
	sess, err := s.openMedia()
	if err != nil {
		s.log.Error("no RTP port for call", "error", err)
		return nil, errNoRTPPort(err)
	}
	sess.SetRemote(a.neg.Remote)
	sess.SetCodec(a.neg.Codec, a.neg.DTMFPayloadType)
	if err := sess.SetSRTP(a.neg.SRTP); err != nil {
		_ = sess.Close()
		return nil, errSRTP(err)
	}

	dialed := req.Recipient.User
	c := s.newChannel("inbound", sess, a.neg)
	c.id, c.server, c.dialed, c.agent, c.tls, c.srtpPolicy = dlg.ID, dlg, dialed, a.agent, isTLS(req), a.srtp
	if a.lateOffer {
		c.lateAnswer = make(chan []byte, 1)
	}
	if from := req.From(); from != nil {
		c.caller = call.Party{Number: from.Address.User, Name: strings.Trim(from.DisplayName, `"`)}
	}
	c.log = s.log.With("call", c.id, "caller", c.caller.Number, "dialed", dialed)
	return c, nil
}

// dialogTx is tx as sipgo's dialog layer takes it, a whole sip.ServerTransaction: sipgo's own
// as it is; any other (a test's fake) as a transaction that never ends on its own and whose
// ACK has always come, so that the dialog's final responses do not wait for one.
func dialogTx(tx inviteTx) sip.ServerTransaction {
	if stx, ok := tx.(sip.ServerTransaction); ok {
		return stx
	}
	return narrowServerTx{tx}
}

type narrowServerTx struct{ inviteTx }

var ackedAlready = func() chan *sip.Request { c := make(chan *sip.Request); close(c); return c }()

func (narrowServerTx) Terminate()                {}
func (narrowServerTx) Done() <-chan struct{}     { return nil }
func (narrowServerTx) Err() error                { return nil }
func (narrowServerTx) Acks() <-chan *sip.Request { return ackedAlready }

// onReInvite handles hold/unhold and address changes: new SDP, same call (RFC 3261 §14.2).
// A change of hold (RFC 3264 §8.4: sendonly or inactive, or the old-style c=0.0.0.0) is told
// to the call path as a call.HoldRequest when it takes the leg's Requests.
func (s *Server) onReInvite(req *sip.Request, tx responder) {
	c, err := s.dialogOf(req)
	if err != nil {
		s.reject(tx, req, err)
		return
	}
	c.mu.Lock()
	neg, ver, policy := c.neg, c.sdpVer, c.srtpPolicy
	c.mu.Unlock()
	held := neg.Hold
	if len(req.Body()) > 0 {
		desc, err := media.ParseSDP(req.Body())
		if err != nil {
			s.reject(tx, req, errMalformedSDP(err))
			return
		}
		prev := neg.SRTP
		if neg, err = media.NegotiateSRTP(desc, s.cfg.Codecs, policy); isSRTPError(err) {
			s.reject(tx, req, errSRTP(err))
			return
		} else if err != nil {
			rej := errNoCommonCodec(err)
			rej.WarnCode = 0 // a re-INVITE's 488 has never carried a Warning: kept so
			s.reject(tx, req, rej)
			return
		}
		// RFC 3264 §8.4: c=0.0.0.0 (old-style hold) means send nothing; SetRemote stops sending.
		neg.SRTP = neg.SRTP.Keep(prev) // the peer kept its key: hotline keeps its own
		if err := c.sess.SetSRTP(neg.SRTP); err != nil {
			s.reject(tx, req, errSRTP(err))
			return
		}
		c.sess.SetRemote(neg.Remote)
		c.sess.SetCodec(neg.Codec, neg.DTMFPayloadType)
		if neg.Receives() { // a held call sends us nothing: do not hang it up for silence
			c.sess.SetInactivityTimeout(s.cfg.RTPTimeout)
		} else {
			c.sess.SetInactivityTimeout(0)
		}
		c.mu.Lock()
		held = c.neg.Hold // as it stands now, should two re-INVITEs cross
		c.neg = neg
		c.sdpVer++
		ver = c.sdpVer
		c.mu.Unlock()
		c.log.Info("re-INVITE", "hold", neg.Hold, "direction", neg.Direction, "remote_rtp", neg.Remote)
	}
	res := sip.NewSDPResponseFromRequest(req, media.AnswerSDP(s.mediaAddr(c.sess), s.sessionID(c), ver, neg))
	res.AppendHeader(c.contact())
	countRequest("INVITE", 200)
	if err := tx.Respond(res); err != nil {
		c.log.Debug("re-INVITE respond failed", "error", err)
	}
	if neg.Hold != held && c.consumed() && !c.deliver(call.HoldRequest{Hold: neg.Hold}, nil) {
		c.log.Warn("hold not told to the call path: too many requests waiting", "hold", neg.Hold)
	}
}

// mediaAddr is the address put in our SDP: the advertised IP and the session's port.
func (s *Server) mediaAddr(sess *media.Session) netip.AddrPort {
	return netip.AddrPortFrom(s.ip, sess.LocalAddr().Port())
}

// sessionID is the SDP o= session id, stable for the life of a channel.
func (s *Server) sessionID(c *Channel) uint64 {
	return uint64(c.started.UnixNano())
}

func statusText(code int) string {
	switch code {
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 488:
		return "Not Acceptable Here"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	return "Call Ended"
}

// isAgent says whether user is an agent's ID (an extension only agents may call).
func (s *Server) isAgent(user string) bool {
	if s.password == nil || user == "" {
		return false
	}
	_, ok := s.password(user)
	return ok
}
