package media

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// SDES key exchange for SRTP (RFC 4568): a=crypto lines on the audio m-line, the SRTPPolicy
// that decides whether a call must, may or must not be encrypted, and the offer/answer rules
// that pick one crypto line. The keys travel in the SDP in the clear, so SDES is only as
// safe as the signalling: the SIP layer must use it over TLS only.

// SDP transport profiles of the audio m-line (RFC 3551, RFC 3711 §12).
const (
	ProfileAVP  = "RTP/AVP"
	ProfileAVPF = "RTP/AVPF"
	ProfileSAVP = "RTP/SAVP"
)

// SRTPPolicy says whether a call's audio must be encrypted.
type SRTPPolicy uint8

const (
	// SRTPOff: plain RTP only. An offer that insists on SRTP (RTP/SAVP) is refused (488);
	// a=crypto lines on an RTP/AVP offer are ignored.
	SRTPOff SRTPPolicy = iota
	// SRTPOptional: SRTP when the peer offers or accepts it, plain RTP otherwise. Offers go
	// out as RTP/AVP with a=crypto lines (best-effort SRTP): peers that know SDES answer
	// with a key, the others ignore the lines.
	SRTPOptional
	// SRTPRequired: SRTP or no call. A plain offer is refused (488); offers go out as
	// RTP/SAVP.
	SRTPRequired
)

// ParseSRTPPolicy parses "off", "optional" or "required" (the config's media.srtp).
func ParseSRTPPolicy(s string) (SRTPPolicy, error) {
	switch s {
	case "off":
		return SRTPOff, nil
	case "optional":
		return SRTPOptional, nil
	case "required":
		return SRTPRequired, nil
	}
	return SRTPOff, fmt.Errorf("%w %q (want off, optional or required)", ErrBadSRTPPolicy, s)
}

func (p SRTPPolicy) String() string {
	switch p {
	case SRTPOff:
		return "off"
	case SRTPOptional:
		return "optional"
	case SRTPRequired:
		return "required"
	}
	return "SRTPPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Suite is an SRTP crypto suite (RFC 4568 §6.2, RFC 7714 §14.2).
type Suite uint8

const (
	SuiteNone Suite = iota
	// SuiteAES128SHA1_80 is AES_CM_128_HMAC_SHA1_80, the suite every SDES peer supports.
	SuiteAES128SHA1_80
	// SuiteAES128SHA1_32 is AES_CM_128_HMAC_SHA1_32: a 4-byte RTP tag (SRTCP keeps 10).
	SuiteAES128SHA1_32
	// SuiteAES128GCM is AEAD_AES_128_GCM (RFC 7714): a 16-byte tag, 12-byte salt.
	SuiteAES128GCM
)

// Suites is hotline's order of preference when it offers: one a=crypto line each.
var Suites = []Suite{SuiteAES128SHA1_80, SuiteAES128SHA1_32, SuiteAES128GCM}

var suiteNames = [...]string{
	SuiteAES128SHA1_80: "AES_CM_128_HMAC_SHA1_80",
	SuiteAES128SHA1_32: "AES_CM_128_HMAC_SHA1_32",
	SuiteAES128GCM:     "AEAD_AES_128_GCM",
}

// String returns the suite's SDP name.
func (s Suite) String() string {
	if s > SuiteNone && int(s) < len(suiteNames) {
		return suiteNames[s]
	}
	return "Suite(" + strconv.Itoa(int(s)) + ")"
}

// ParseSuite returns the suite named name in SDP (case as in RFC 4568: upper case).
func ParseSuite(name string) (Suite, bool) {
	for i, n := range suiteNames {
		if n != "" && n == name {
			return Suite(i), true
		}
	}
	return SuiteNone, false
}

func (s Suite) profile() srtp.ProtectionProfile {
	switch s {
	case SuiteAES128SHA1_32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32
	case SuiteAES128GCM:
		return srtp.ProtectionProfileAeadAes128Gcm
	}
	return srtp.ProtectionProfileAes128CmHmacSha1_80
}

// KeyLen is the length of the suite's inline key: master key and master salt.
func (s Suite) KeyLen() int {
	switch s {
	case SuiteAES128SHA1_80, SuiteAES128SHA1_32:
		return 16 + 14
	case SuiteAES128GCM:
		return 16 + 12
	}
	return 0
}

// Crypto is one a=crypto attribute: the key one side encrypts what it sends with.
type Crypto struct {
	Tag   uint32 // the answer repeats the offer's tag (RFC 4568 §5.1.2)
	Suite Suite
	Key   []byte // master key || master salt, Suite.KeyLen() bytes
	MKI   []byte // master key identifier carried in each packet; nil: none (hotline's own keys)
}

// IsZero reports whether c is no key at all.
func (c Crypto) IsZero() bool { return c.Suite == SuiteNone }

// Attribute returns the value of the a=crypto attribute: "<tag> <suite> inline:<key>".
func (c Crypto) Attribute() string {
	v := strconv.FormatUint(uint64(c.Tag), 10) + " " + c.Suite.String() + " inline:" + base64.StdEncoding.EncodeToString(c.Key)
	if len(c.MKI) > 0 {
		v += "|" + new(big.Int).SetBytes(c.MKI).String() + ":" + strconv.Itoa(len(c.MKI))
	}
	return v
}

// String hides the key: a Crypto in a log line must not give it away.
func (c Crypto) String() string {
	return strconv.FormatUint(uint64(c.Tag), 10) + " " + c.Suite.String() + " inline:<redacted>"
}

// NewCrypto returns a fresh key for suite from crypto/rand, with the given tag.
func NewCrypto(tag uint32, suite Suite) (Crypto, error) {
	if suite.KeyLen() == 0 {
		return Crypto{}, fmt.Errorf("%w %v", ErrUnknownSuite, suite)
	}
	c := Crypto{Tag: tag, Suite: suite, Key: make([]byte, suite.KeyLen())}
	if _, err := rand.Read(c.Key); err != nil {
		return Crypto{}, fmt.Errorf("srtp: generating a key: %w", err)
	}
	return c, nil
}

// minLifetime is the shortest key lifetime (packets, RFC 4568 §6.1) hotline accepts. It
// never re-keys during a call, so it can honour a lifetime only if no call lasts longer:
// 2^31 packets is 497 days of 20 ms audio, and what SDES peers send in practice (2^31, 2^48).
const minLifetime = 1 << 31

// maxMKILen is the longest MKI accepted, in bytes: pion/srtp handles them byte-exact, and
// peers use 1 to 4.
const maxMKILen = 4

// parseCrypto parses the value of an a=crypto attribute (RFC 4568 §9.1):
//
//	<tag> <crypto-suite> inline:<key||salt>[|<lifetime>][|<MKI>:<length>] [<session-params>]
//
// A line hotline cannot honour is an error wrapping ErrUnknownSuite, ErrBadCrypto or
// ErrUnsupportedCrypto; the caller skips to the next line.
func parseCrypto(v string) (Crypto, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return Crypto{}, fmt.Errorf("%w %q: want <tag> <suite> inline:<key>", ErrBadCrypto, v)
	}
	tag, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil || len(f[0]) > 9 {
		return Crypto{}, fmt.Errorf("%w: tag %q (want 1 to 9 digits)", ErrBadCrypto, f[0])
	}
	suite, ok := ParseSuite(f[1])
	if !ok {
		return Crypto{}, fmt.Errorf("%w %q (hotline supports %s)", ErrUnknownSuite, f[1], suiteList())
	}
	c := Crypto{Tag: uint32(tag), Suite: suite}
	for _, sp := range f[3:] { // RFC 4568 §6.3: session parameters
		if strings.HasPrefix(sp, "WSH=") {
			continue // a window-size hint; pion's replay window is what it is
		}
		return Crypto{}, fmt.Errorf("%w: session parameter %q", ErrUnsupportedCrypto, sp)
	}
	if strings.Contains(f[2], ";") {
		return Crypto{}, fmt.Errorf("%w: more than one key in one line", ErrUnsupportedCrypto)
	}
	method, params, _ := strings.Cut(f[2], ":")
	if method != "inline" {
		return Crypto{}, fmt.Errorf("%w: key method %q (want inline)", ErrBadCrypto, method)
	}
	parts := strings.Split(params, "|")
	if len(parts) > 3 {
		return Crypto{}, fmt.Errorf("%w: key parameters %q", ErrBadCrypto, params)
	}
	key, err := decodeKey(parts[0])
	if err != nil {
		return Crypto{}, fmt.Errorf("%w: key is not base64: %v", ErrBadCrypto, err)
	}
	if len(key) != suite.KeyLen() {
		return Crypto{}, fmt.Errorf("%w: %s key is %d bytes (want %d: master key and salt)", ErrBadCrypto, suite, len(key), suite.KeyLen())
	}
	c.Key = key
	for _, p := range parts[1:] {
		if mki, size, isMKI := strings.Cut(p, ":"); isMKI {
			if c.MKI, err = parseMKI(mki, size); err != nil {
				return Crypto{}, err
			}
			continue
		}
		if c.MKI != nil {
			return Crypto{}, fmt.Errorf("%w: lifetime %q after the MKI", ErrBadCrypto, p)
		}
		life, err := parseLifetime(p)
		if err != nil {
			return Crypto{}, err
		}
		if life < minLifetime {
			return Crypto{}, fmt.Errorf("%w: key lifetime %s packets (hotline does not re-key; want at least 2^31)", ErrUnsupportedCrypto, p)
		}
	}
	return c, nil
}

func decodeKey(s string) ([]byte, error) {
	if k, err := base64.StdEncoding.DecodeString(s); err == nil {
		return k, nil
	}
	return base64.RawStdEncoding.DecodeString(s) // some peers drop the padding of 28-byte keys
}

// parseLifetime parses a key lifetime: decimal, or "2^<n>" (RFC 4568 §9.1).
func parseLifetime(s string) (uint64, error) {
	if exp, ok := strings.CutPrefix(s, "2^"); ok {
		n, err := strconv.ParseUint(exp, 10, 8)
		if err != nil || n > 63 {
			return 0, fmt.Errorf("%w: lifetime %q", ErrBadCrypto, s)
		}
		return 1 << n, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: lifetime %q", ErrBadCrypto, s)
	}
	return n, nil
}

// parseMKI parses "<value>:<length>" into the MKI's length bytes, big-endian.
func parseMKI(value, size string) ([]byte, error) {
	n, err := strconv.Atoi(size)
	if err != nil || n < 1 || n > 128 {
		return nil, fmt.Errorf("%w: MKI length %q (want 1 to 128)", ErrBadCrypto, size)
	}
	if n > maxMKILen {
		return nil, fmt.Errorf("%w: MKI of %d bytes (want at most %d)", ErrUnsupportedCrypto, n, maxMKILen)
	}
	v, err := strconv.ParseUint(value, 10, 32)
	if err != nil || v>>(8*n) != 0 && n < 4 {
		return nil, fmt.Errorf("%w: MKI value %q does not fit %d bytes", ErrBadCrypto, value, n)
	}
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b, nil
}

func suiteList() string {
	s := make([]string, len(Suites))
	for i, x := range Suites {
		s[i] = x.String()
	}
	return strings.Join(s, ", ")
}

// SRTPKeys are the two keys of an SRTP call: hotline encrypts with Local and decrypts with
// Remote (Session.SetSRTP).
type SRTPKeys struct {
	Local  Crypto
	Remote Crypto
}

// Keep returns the keys for a re-offer received during a call: k, as NegotiateSRTP made it,
// unless the peer kept its key (same tag, suite and key as prev.Remote); then hotline keeps
// its own too (prev.Local), so the answer repeats it, Session.SetSRTP changes nothing and no
// packet is lost to a key change. RFC 4568 §7.1.4 allows either. Set n.SRTP =
// n.SRTP.Keep(prev) before AnswerSDP.
func (k *SRTPKeys) Keep(prev *SRTPKeys) *SRTPKeys {
	if k == nil || prev == nil || !sameCrypto(k.Remote, prev.Remote) {
		return k
	}
	return &SRTPKeys{Local: prev.Local, Remote: prev.Remote}
}

func sameCrypto(a, b Crypto) bool {
	return a.Tag == b.Tag && a.Suite == b.Suite && bytes.Equal(a.Key, b.Key) && bytes.Equal(a.MKI, b.MKI)
}

// negotiateSRTP applies policy to a received offer: it returns nil keys for plain RTP, or
// the first acceptable crypto line of d with a fresh local key of the same tag and suite.
func negotiateSRTP(d *Description, policy SRTPPolicy) (*SRTPKeys, error) {
	secure := d.Profile == ProfileSAVP
	switch {
	case policy == SRTPOff && secure:
		return nil, fmt.Errorf("%w: the offer is RTP/SAVP and the SRTP policy is off", ErrSRTPRefused)
	case policy == SRTPOff:
		return nil, nil // a=crypto on RTP/AVP is best effort: ignoring it is answering in kind
	case len(d.Crypto) == 0 && (secure || policy == SRTPRequired):
		return nil, noCryptoError(d, policy)
	case len(d.Crypto) == 0:
		return nil, nil
	}
	remote := d.Crypto[0]
	local, err := NewCrypto(remote.Tag, remote.Suite)
	if err != nil {
		return nil, err
	}
	return &SRTPKeys{Local: local, Remote: remote}, nil
}

func noCryptoError(d *Description, policy SRTPPolicy) error {
	why := "no a=crypto line"
	if len(d.CryptoErrors) > 0 {
		why = "no usable a=crypto line: " + errors.Join(d.CryptoErrors...).Error()
		why = strings.ReplaceAll(why, "\n", "; ")
	}
	if d.Profile != ProfileSAVP {
		return fmt.Errorf("%w: the SRTP policy is %v and the offer is plain %s with %s", ErrSRTPRequired, policy, d.Profile, why)
	}
	return fmt.Errorf("%w: RTP/SAVP offer with %s", ErrSRTPRefused, why)
}

// SRTPOffer is the SRTP part of an offer hotline makes: one fresh key per suite of Suites
// (tags 1, 2, 3), on RTP/SAVP under SRTPRequired and RTP/AVP under SRTPOptional.
type SRTPOffer struct {
	Policy SRTPPolicy
	Keys   []Crypto
}

// NewSRTPOffer makes the keys for an offer under policy; it returns nil for SRTPOff (offer
// plain RTP). Pass it to OfferSDP with WithSRTP, and the answer to its Accept.
func NewSRTPOffer(policy SRTPPolicy) (*SRTPOffer, error) {
	if policy == SRTPOff {
		return nil, nil
	}
	o := &SRTPOffer{Policy: policy}
	for i, s := range Suites {
		c, err := NewCrypto(uint32(i+1), s)
		if err != nil {
			return nil, err
		}
		o.Keys = append(o.Keys, c)
	}
	return o, nil
}

// Profile is the m-line profile of the offer.
func (o *SRTPOffer) Profile() string {
	if o == nil || o.Policy != SRTPRequired {
		return ProfileAVP
	}
	return ProfileSAVP
}

// Accept reads the answer to the offer: the keys to use (nil: the peer answered plain RTP,
// which only SRTPOptional allows), or an error when the answer does not fit the offer. A nil
// offer accepts only a plain answer.
func (o *SRTPOffer) Accept(answer *Description) (*SRTPKeys, error) {
	if o == nil {
		if answer.Profile == ProfileSAVP {
			return nil, fmt.Errorf("%w: RTP/SAVP answer to a plain offer", ErrSRTPRefused)
		}
		return nil, nil
	}
	for _, rc := range answer.Crypto {
		for _, lc := range o.Keys {
			if lc.Tag == rc.Tag && lc.Suite == rc.Suite { // RFC 4568 §5.1.3: the tag names the offer's line
				return &SRTPKeys{Local: lc, Remote: rc}, nil
			}
		}
	}
	if o.Policy == SRTPRequired || answer.Profile == ProfileSAVP || len(answer.Crypto) > 0 || len(answer.CryptoErrors) > 0 {
		why := "no a=crypto line matching an offered tag and suite"
		if len(answer.CryptoErrors) > 0 {
			why += " (" + strings.ReplaceAll(errors.Join(answer.CryptoErrors...).Error(), "\n", "; ") + ")"
		}
		if o.Policy == SRTPRequired {
			return nil, fmt.Errorf("%w: the answer has %s", ErrSRTPRequired, why)
		}
		return nil, fmt.Errorf("%w: the answer has %s", ErrSRTPRefused, why)
	}
	return nil, nil
}
