package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTP and SRTCP (RFC 3711) on a Session, with pion/srtp contexts keyed by SDES (sdes.go).
// Packets are encrypted at the one point where RTP leaves the session (write) and where
// RTCP does (sendReport), and decrypted first thing on arrival, so DTMF, taps, recordings,
// relays, conferences, statistics and source learning only ever see plain RTP; a relay
// between two legs with different keys decrypts with one and encrypts with the other. A
// packet that fails authentication or is replayed is dropped and counted
// (Stats.SRTPRejected and SRTCPRejected, hotline_rtp_packets_dropped_total{reason="srtp_auth"|"srtp_replay"})
// before anything reads it: it cannot move where the session sends, nor inject a digit.

// replayWindow is the replay window of received SRTP and SRTCP, in packets (RFC 3711 §3.3.2
// asks for at least 64).
const replayWindow = 128

// maxAuthTag is the most SRTP adds to a packet: a 16-byte GCM tag or a 10-byte HMAC tag
// (hotline's own keys carry no MKI).
const maxAuthTag = 16

// srtpState is a session's SRTP contexts for one pair of keys. A pion Context is not safe for
// concurrent use and keeps per-direction state, so each job has its own: txRTP is used under
// the session's out.mu (every RTP send holds it), rxRTP by the read goroutine only, and the
// RTCP pair, used by the RTCP goroutine and (multiplexed RTCP) the read goroutine, under
// rtcpMu.
type srtpState struct {
	keys   SRTPKeys
	txRTP  *srtp.Context
	rxRTP  *srtp.Context
	rtcpMu sync.Mutex
	txRTCP *srtp.Context
	rxRTCP *srtp.Context

	// The packet buffers, here rather than in every Session: only a call with SRTP pays
	// for them. tx is used under the session's out.mu, rx by its read goroutine.
	tx    [1500 + maxAuthTag]byte // the SRTP packet being sent
	txHdr rtp.Header              // pion parses the header into it: no allocation
	rx    [1500]byte              // the packet received, decrypted
	rxHdr rtp.Header
}

func newSRTPState(k SRTPKeys) (*srtpState, error) {
	st := &srtpState{keys: k}
	var err error
	if st.txRTP, err = newContext(k.Local, false); err != nil {
		return nil, fmt.Errorf("%w: local key: %v", ErrBadSRTPKeys, err)
	}
	if st.txRTCP, err = newContext(k.Local, false); err != nil {
		return nil, fmt.Errorf("%w: local key: %v", ErrBadSRTPKeys, err)
	}
	if st.rxRTP, err = newContext(k.Remote, true); err != nil {
		return nil, fmt.Errorf("%w: remote key: %v", ErrBadSRTPKeys, err)
	}
	if st.rxRTCP, err = newContext(k.Remote, true); err != nil {
		return nil, fmt.Errorf("%w: remote key: %v", ErrBadSRTPKeys, err)
	}
	return st, nil
}

func newContext(c Crypto, receive bool) (*srtp.Context, error) {
	n := c.Suite.KeyLen()
	if n == 0 || len(c.Key) != n {
		return nil, fmt.Errorf("%v key of %d bytes (want %d)", c.Suite, len(c.Key), n)
	}
	var opts []srtp.ContextOption
	if receive { // pion's default is no replay protection
		opts = append(opts, srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow))
	}
	if len(c.MKI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(c.MKI))
	}
	return srtp.CreateContext(c.Key[:16], c.Key[16:], c.Suite.profile(), opts...)
}

func (st *srtpState) same(k SRTPKeys) bool {
	return sameCrypto(st.keys.Local, k.Local) && sameCrypto(st.keys.Remote, k.Remote)
}

// SetSRTP encrypts what the session sends with k.Local and decrypts what it receives with
// k.Remote (nil k: plain RTP from now on). It may be called before Start or at any time
// after, e.g. after a re-INVITE: the next packet each way uses the new keys. Setting the keys
// in use again changes nothing (the replay and rollover state is kept).
func (s *Session) SetSRTP(k *SRTPKeys) error {
	var st *srtpState
	if k != nil {
		if cur := s.params.Load().srtp; cur != nil && cur.same(*k) {
			return nil
		}
		var err error
		if st, err = newSRTPState(*k); err != nil {
			return err
		}
	}
	s.updateParams(func(p *sessionParams) { p.srtp = st })
	if st != nil {
		s.log.Debug("SRTP on", "local", k.Local.String(), "remote", k.Remote.String())
	}
	return nil
}

// SRTP reports whether the session encrypts its media.
func (s *Session) SRTP() bool { return s.params.Load().srtp != nil }

// protect returns the SRTP packet for the plain RTP packet b, in st.tx; s.out.mu is held.
// It does not allocate.
func (s *Session) protect(st *srtpState, b []byte) ([]byte, error) {
	return st.txRTP.EncryptRTP(st.tx[:0], b, &st.txHdr)
}

// unprotect decrypts the SRTP packet b into st.rx, or counts and drops it.
func (s *Session) unprotect(r *receiver, st *srtpState, b []byte) ([]byte, bool) {
	out, err := st.rxRTP.DecryptRTP(st.rx[:0], b, &st.rxHdr)
	if err != nil {
		s.srtpRejected(&s.srtpRejects, &s.srtpLogged, r.from, "SRTP", err)
		return nil, false
	}
	return out, true
}

// protectRTCP returns the SRTCP packet for the compound RTCP packet b.
func (st *srtpState) protectRTCP(b []byte) ([]byte, error) {
	st.rtcpMu.Lock()
	defer st.rtcpMu.Unlock()
	var h rtcp.Header
	return st.txRTCP.EncryptRTCP(nil, b, &h)
}

// unprotectRTCP decrypts the SRTCP packet b, or counts and drops it.
func (s *Session) unprotectRTCP(st *srtpState, b []byte, from netip.AddrPort) ([]byte, bool) {
	st.rtcpMu.Lock()
	var h rtcp.Header
	out, err := st.rxRTCP.DecryptRTCP(nil, b, &h)
	st.rtcpMu.Unlock()
	if err != nil {
		s.srtpRejected(&s.srtcpRejects, &s.srtcpLogged, from, "SRTCP", err)
		return nil, false
	}
	return out, true
}

// srtpRejected counts a packet that failed SRTP or SRTCP and logs the first of each kind per
// session: a peer with the wrong key, or someone injecting, would otherwise flood the log.
func (s *Session) srtpRejected(count *atomic.Uint64, logged *atomic.Bool, from netip.AddrPort, proto string, err error) {
	count.Add(1)
	reason := "srtp_auth"
	if isReplay(err) {
		reason = "srtp_replay"
		dropSRTPReplay.Inc()
	} else {
		dropSRTPAuth.Inc()
	}
	if logged.CompareAndSwap(false, true) {
		s.log.Warn("dropping "+proto+" packet that fails authentication or is replayed (further ones are counted, not logged)",
			"from", from, "reason", reason, "err", err)
	}
}

// isReplay reports whether pion refused a packet as already seen. Its duplicate error is
// unexported; the message is the only handle (srtp_test.go pins it).
func isReplay(err error) bool {
	return !errors.Is(err, srtp.ErrFailedToVerifyAuthTag) && strings.Contains(err.Error(), "duplicated")
}
