package sip

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime/debug"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

// onInvite answers a new INVITE (or a re-INVITE within a dialog). The goroutine running it
// owns the call: the handler runs here, and when it returns the call is hung up.
func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if to := req.To(); to != nil {
		if tag, ok := to.Params.Get("tag"); ok && tag != "" {
			s.onReInvite(req, tx)
			return
		}
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		s.respond(tx, req, 503, "Service Unavailable")
		return
	}
	// An INVITE without SDP is a late offer (RFC 3261 §13.2.1): hotline offers in its 200 and
	// the caller answers in the ACK.
	lateOffer := len(req.Body()) == 0
	neg := media.Negotiation{Codec: s.cfg.Codecs[0], DTMFPayloadType: lateOfferDTMF, Direction: "sendrecv"}
	if !lateOffer {
		desc, err := media.ParseSDP(req.Body())
		if err != nil {
			s.log.Warn("INVITE with malformed SDP", "source", req.Source(), "error", err)
			s.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", fmt.Sprintf("399 hotline %q", err.Error())))
			return
		}
		if neg, err = media.Negotiate(desc, s.cfg.Codecs); err != nil {
			s.log.Info("INVITE refused: no common codec", "source", req.Source(), "error", err)
			s.respond(tx, req, 488, "Not Acceptable Here", sip.NewHeader("Warning", `305 hotline "no common codec: PCMU or PCMA required"`))
			return
		}
	}

	dialed := req.Recipient.User
	var agent string
	if strings.HasPrefix(dialed, "*") { // feature codes are for agents only: digest as the agent
		var authz string
		if h := req.GetHeader("Authorization"); h != nil {
			authz = h.Value()
		}
		user, err := s.auth.Verify(authz, string(sip.INVITE), s.password)
		if err != nil {
			if errors.Is(err, ErrBadCredentials) {
				s.respond(tx, req, 403, "Forbidden")
				return
			}
			s.respond(tx, req, 401, "Unauthorized", sip.NewHeader("WWW-Authenticate", s.auth.Challenge(errors.Is(err, ErrStaleNonce))))
			return
		}
		agent = user
	}

	nat := false
	if c := req.Contact(); c != nil {
		nat = s.behindNAT(c.Address, req.Source())
	}
	dlg, err := s.dialogUA(nat).ReadInvite(req, tx)
	if err != nil {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	sess, err := s.newMediaSession()
	if err != nil {
		s.log.Error("no RTP port for call", "error", err)
		s.respond(tx, req, 503, "Service Unavailable")
		return
	}
	sess.SetRemote(neg.Remote)
	sess.SetCodec(neg.Codec, neg.DTMFPayloadType)

	c := s.newChannel("inbound", sess, neg)
	c.id, c.server, c.dialed, c.agent = dlg.ID, dlg, dialed, agent
	if lateOffer {
		c.lateAnswer = make(chan []byte, 1)
	}
	if from := req.From(); from != nil {
		c.caller = call.Party{Number: from.Address.User, Name: strings.Trim(from.DisplayName, `"`)}
	}
	c.log = s.log.With("call", c.id, "caller", c.caller.Number, "dialed", dialed)
	s.wg.Add(1)
	if !s.track(c.id, c) {
		c.end(call.CauseTempFailure)
		return
	}
	if lateOffer {
		c.log.Info("incoming call without SDP: hotline will offer in its answer")
	} else {
		c.log.Info("incoming call", "codec", neg.Codec.Name, "dtmf_pt", neg.DTMFPayloadType, "remote_rtp", neg.Remote)
	}
	_ = dlg.Respond(100, "Trying", nil)
	if err := dlg.Respond(180, "Ringing", nil); err != nil { // CANCEL may already have come
		c.remoteHangup()
		return
	}
	go c.watch()

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

// onReInvite handles hold/unhold and address changes: new SDP, same call (RFC 3261 §14.2).
func (s *Server) onReInvite(req *sip.Request, tx sip.ServerTransaction) {
	c := s.lookup(req, true)
	if c == nil {
		c = s.lookup(req, false)
	}
	if c == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	neg := c.neg
	if len(req.Body()) > 0 {
		desc, err := media.ParseSDP(req.Body())
		if err != nil {
			s.respond(tx, req, 400, "Bad Request", sip.NewHeader("Warning", fmt.Sprintf("399 hotline %q", err.Error())))
			return
		}
		if neg, err = media.Negotiate(desc, s.cfg.Codecs); err != nil {
			s.respond(tx, req, 488, "Not Acceptable Here")
			return
		}
		// RFC 3264 §8.4: c=0.0.0.0 (old-style hold) means send nothing; SetRemote stops sending.
		c.sess.SetRemote(neg.Remote)
		c.sess.SetCodec(neg.Codec, neg.DTMFPayloadType)
		if neg.Receives() { // a held call sends us nothing: do not hang it up for silence
			c.sess.SetInactivityTimeout(s.cfg.RTPTimeout)
		} else {
			c.sess.SetInactivityTimeout(0)
		}
		c.mu.Lock()
		c.neg = neg
		c.sdpVer++
		c.mu.Unlock()
		c.log.Info("re-INVITE", "hold", neg.Hold, "direction", neg.Direction, "remote_rtp", neg.Remote)
	}
	res := sip.NewSDPResponseFromRequest(req, media.AnswerSDP(s.mediaAddr(c.sess), s.sessionID(c), c.sdpVer, neg))
	res.AppendHeader(&s.dua.ContactHDR)
	countRequest("INVITE", 200)
	if err := tx.Respond(res); err != nil {
		c.log.Debug("re-INVITE respond failed", "error", err)
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
