package media

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// SDP offer/answer for one audio stream (RFC 3264 on RFC 4566). Only what a G.711 call
// needs is read: the first usable audio m-line, its connection address, formats,
// telephone-event, direction and ptime. Other media lines (video, a second audio line) are
// left alone; an answer from AnswerSDP carries only audio, so the SIP layer must reject
// offers whose other lines it cannot ignore.

// Media directions (RFC 3264 §5.1).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// Description is what hotline needs from a remote SDP (offer or answer).
type Description struct {
	SessionID      uint64 // o= sess-id
	SessionVersion uint64 // o= sess-version: a re-INVITE with the same version changes nothing
	// Remote is where the far end wants RTP: the c= address (media level, else session
	// level) and the port of the audio m-line. The address is 0.0.0.0 for RFC 2543 hold.
	Remote netip.AddrPort
	// Codecs are the audio formats offered, in the offerer's order of preference, with the
	// offerer's payload types. Static types without rtpmap get their RFC 3551 names;
	// telephone-event is not listed here.
	Codecs []Codec
	// DTMFPayloadType is the payload type of telephone-event/8000, 0 if none was offered.
	DTMFPayloadType uint8
	// Direction is the remote's a=sendrecv/sendonly/recvonly/inactive (sendrecv if absent).
	Direction string
	// Ptime is a=ptime in milliseconds, 0 if absent.
	Ptime int
	// Profile is the audio m-line's transport: ProfileAVP, ProfileAVPF or ProfileSAVP.
	Profile string
	// Crypto are the a=crypto lines of the audio m-line hotline could use (RFC 4568), in
	// the offerer's order of preference; they may come with RTP/AVP too (best-effort SRTP).
	Crypto []Crypto
	// CryptoErrors says why each other a=crypto line was skipped (unknown suite, bad key,
	// a lifetime, MKI or session parameter hotline cannot honour).
	CryptoErrors []error
}

// Hold reports whether the remote has put the stream on hold: it will not receive
// (sendonly, inactive, or the RFC 2543 connection address 0.0.0.0; RFC 3264 §8.4).
func (d *Description) Hold() bool {
	return d.Direction == SendOnly || d.Direction == Inactive || d.Remote.Addr().IsUnspecified()
}

// ParseSDP parses a remote session description and extracts its first audio stream that
// uses RTP/AVP, RTP/AVPF or RTP/SAVP on a non-zero port, with its a=crypto lines.
func ParseSDP(b []byte) (*Description, error) {
	var sd sdp.SessionDescription
	if err := sd.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformedSDP, strings.TrimPrefix(err.Error(), "sdp: "))
	}
	md, err := audioMedia(&sd)
	if err != nil {
		return nil, err
	}
	d := &Description{
		SessionID:      sd.Origin.SessionID,
		SessionVersion: sd.Origin.SessionVersion,
		Direction:      SendRecv,
		Profile:        strings.Join(md.MediaName.Protos, "/"),
	}

	ci := md.ConnectionInformation
	if ci == nil || ci.Address == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return nil, ErrNoConnection
	}
	host, _, _ := strings.Cut(ci.Address.Address, "/") // multicast TTL / count
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" {
		return nil, fmt.Errorf("%w %q", ErrBadConnection, ci.Address.Address)
	}
	d.Remote = netip.AddrPortFrom(addr.Unmap(), uint16(md.MediaName.Port.Value))

	rtpmap := map[uint8]Codec{}
	for _, a := range md.Attributes {
		switch a.Key {
		case "rtpmap":
			if c, ok := parseRTPMap(a.Value); ok {
				if _, dup := rtpmap[c.PayloadType]; !dup {
					rtpmap[c.PayloadType] = c
				}
			}
		case "crypto":
			c, err := parseCrypto(a.Value)
			switch {
			case err != nil:
				d.CryptoErrors = append(d.CryptoErrors, err)
			case d.hasTag(c.Tag):
				d.CryptoErrors = append(d.CryptoErrors, fmt.Errorf("%w: tag %d used twice", ErrBadCrypto, c.Tag))
			default:
				d.Crypto = append(d.Crypto, c)
			}
		}
	}
	for _, f := range md.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 8)
		if err != nil || pt > 127 {
			return nil, fmt.Errorf("%w %q in m=audio (want 0-127)", ErrBadPayloadType, f)
		}
		c, ok := rtpmap[uint8(pt)]
		if !ok {
			if c, ok = staticCodecs[uint8(pt)]; !ok {
				continue // dynamic type without rtpmap: nothing we could use
			}
		}
		if strings.EqualFold(c.Name, TelephoneEvent) {
			if c.ClockRate == 8000 && d.DTMFPayloadType == 0 {
				d.DTMFPayloadType = c.PayloadType
			}
			continue
		}
		d.Codecs = append(d.Codecs, c)
	}

	if dir, ok := direction(md.Attributes); ok {
		d.Direction = dir
	} else if dir, ok := direction(sd.Attributes); ok {
		d.Direction = dir
	}
	ptime, ok := md.Attribute("ptime")
	if !ok {
		ptime, _ = sd.Attribute("ptime")
	}
	if ms, err := strconv.ParseFloat(strings.TrimSpace(ptime), 64); err == nil && ms > 0 && ms < 1000 {
		d.Ptime = int(ms)
	}
	return d, nil
}

func (d *Description) hasTag(tag uint32) bool {
	for _, c := range d.Crypto {
		if c.Tag == tag {
			return true
		}
	}
	return false
}

// audioMedia picks the first audio m-line we can use and explains why there is none.
func audioMedia(sd *sdp.SessionDescription) (*sdp.MediaDescription, error) {
	var rejected, wrongProto *sdp.MediaDescription
	for _, md := range sd.MediaDescriptions {
		if md.MediaName.Media != "audio" {
			continue
		}
		proto := strings.Join(md.MediaName.Protos, "/")
		switch {
		case proto != ProfileAVP && proto != ProfileAVPF && proto != ProfileSAVP:
			if wrongProto == nil {
				wrongProto = md
			}
		case md.MediaName.Port.Value == 0:
			if rejected == nil {
				rejected = md
			}
		default:
			return md, nil
		}
	}
	switch {
	case wrongProto != nil:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedTransport, strings.Join(wrongProto.MediaName.Protos, "/"))
	case rejected != nil:
		return nil, ErrAudioRejected
	}
	return nil, ErrNoAudio
}

// parseRTPMap parses "a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]" (RFC 4566 §6).
func parseRTPMap(v string) (Codec, bool) {
	ptStr, enc, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return Codec{}, false
	}
	pt, err := strconv.ParseUint(ptStr, 10, 8)
	if err != nil || pt > 127 {
		return Codec{}, false
	}
	name, rest, _ := strings.Cut(strings.TrimSpace(enc), "/")
	rateStr, _, _ := strings.Cut(rest, "/")
	rate, err := strconv.ParseUint(rateStr, 10, 32)
	if err != nil || name == "" {
		return Codec{}, false
	}
	return Codec{Name: name, PayloadType: uint8(pt), ClockRate: uint32(rate)}, true
}

func direction(attrs []sdp.Attribute) (string, bool) {
	for _, a := range attrs {
		switch a.Key {
		case SendRecv, SendOnly, RecvOnly, Inactive:
			return a.Key, true
		}
	}
	return "", false
}

// Negotiation is the outcome of offer/answer for the audio stream, from hotline's side.
type Negotiation struct {
	// Codec is the first of the remote's codecs that hotline supports, with the remote's
	// payload type (which hotline then uses in both directions).
	Codec Codec
	// DTMFPayloadType is the remote's telephone-event payload type, 0 if it offered none.
	DTMFPayloadType uint8
	// Remote is where to send RTP.
	Remote netip.AddrPort
	// Direction is hotline's own direction: the remote's mirrored (RFC 3264 §6.1), and
	// never sending to a remote that asked for none (c=0.0.0.0, RFC 3264 §8.4).
	Direction string
	// Hold is true when the remote has put hotline on hold (see Description.Hold).
	Hold bool
	// Profile is the m-line profile of hotline's answer: the offer's (RTP/SAVP, or RTP/AVP
	// for plain and best-effort SRTP offers).
	Profile string
	// SRTP holds the keys when the stream is encrypted, nil for plain RTP: pass them to
	// Session.SetSRTP. AnswerSDP puts SRTP.Local in the answer.
	SRTP *SRTPKeys
}

// Sends reports whether hotline should send RTP.
func (n Negotiation) Sends() bool { return n.Direction == SendRecv || n.Direction == SendOnly }

// Receives reports whether hotline should expect RTP (and so apply an inactivity timeout).
func (n Negotiation) Receives() bool { return n.Direction == SendRecv || n.Direction == RecvOnly }

// Negotiate picks the first of the remote's codecs that is in supported (the remote's
// preference wins, RFC 3264 §6.1) and works out the media direction, for plain RTP: it is
// NegotiateSRTP with SRTPOff. It applies to an offer received and to the answer to a plain
// offer hotline made.
func Negotiate(d *Description, supported []Codec) (Negotiation, error) {
	return NegotiateSRTP(d, supported, SRTPOff)
}

// NegotiateSRTP negotiates a received offer like Negotiate and applies policy to its
// profile and a=crypto lines (RFC 4568 §7.1.2): under SRTPOff an RTP/SAVP offer fails with
// ErrSRTPRefused; under SRTPRequired a plain offer fails with ErrSRTPRequired; otherwise the
// first usable crypto line is taken and n.SRTP holds it with a fresh local key of the same
// tag and suite, and n.Profile is the offer's profile. Both errors mean 488.
func NegotiateSRTP(d *Description, supported []Codec, policy SRTPPolicy) (Negotiation, error) {
	n, err := negotiateCodec(d, supported)
	if err != nil {
		return n, err
	}
	if n.SRTP, err = negotiateSRTP(d, policy); err != nil {
		return n, err
	}
	if n.SRTP != nil && d.Profile == ProfileSAVP {
		n.Profile = ProfileSAVP
	}
	return n, nil
}

// NegotiateAnswer negotiates the answer to an offer hotline made with OfferSDP and the
// SRTP offer o (nil: a plain offer), and takes the keys from o.Accept.
func NegotiateAnswer(d *Description, supported []Codec, o *SRTPOffer) (Negotiation, error) {
	n, err := negotiateCodec(d, supported)
	if err != nil {
		return n, err
	}
	if n.SRTP, err = o.Accept(d); err != nil {
		return n, err
	}
	n.Profile = o.Profile()
	return n, nil
}

func negotiateCodec(d *Description, supported []Codec) (Negotiation, error) {
	n := Negotiation{
		Profile:         ProfileAVP,
		DTMFPayloadType: d.DTMFPayloadType,
		Remote:          d.Remote,
		Hold:            d.Hold(),
	}
	found := false
	for _, c := range d.Codecs {
		for _, s := range supported {
			if c.Same(s) && s.Supported() {
				n.Codec = Codec{Name: s.Name, PayloadType: c.PayloadType, ClockRate: s.ClockRate}
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	if !found {
		return n, fmt.Errorf("%w: remote offers [%s], hotline supports [%s]", ErrNoCommonCodec, codecList(d.Codecs), codecList(supported))
	}
	switch d.Direction {
	case SendOnly:
		n.Direction = RecvOnly
	case RecvOnly:
		n.Direction = SendOnly
	case Inactive:
		n.Direction = Inactive
	default:
		n.Direction = SendRecv
	}
	if d.Remote.Addr().IsUnspecified() { // the remote wants nothing sent to it
		switch n.Direction {
		case SendRecv:
			n.Direction = RecvOnly
		case SendOnly:
			n.Direction = Inactive
		}
	}
	return n, nil
}

func codecList(cs []Codec) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = fmt.Sprintf("%s/%d", c.Name, c.ClockRate)
	}
	return strings.Join(s, " ")
}

// AnswerSDP returns hotline's answer (RFC 3264 §6) for a negotiated stream: the one chosen
// codec, telephone-event with the offerer's payload type if it offered one, a=ptime:20 and
// n.Direction. local is the address and port the RTP session listens on; it must be a
// concrete address the remote can reach, not 0.0.0.0.
//
// With n.SRTP set the m-line has n.Profile and the a=crypto line of n.SRTP.Local.
func AnswerSDP(local netip.AddrPort, sessID, sessVersion uint64, n Negotiation) []byte {
	dir := n.Direction
	if dir == "" {
		dir = SendRecv
	}
	o := sdpOptions{profile: n.Profile}
	if n.SRTP != nil {
		o.crypto = []Crypto{n.SRTP.Local}
	}
	return buildSDP(local, sessID, sessVersion, []Codec{n.Codec}, n.DTMFPayloadType, dir, o)
}

// SDPOption adds to an offer made by OfferSDP or HoldOfferSDP.
type SDPOption func(*sdpOptions)

type sdpOptions struct {
	profile string
	crypto  []Crypto
}

// WithSRTP offers SRTP: o's profile and one a=crypto line per key (nil o: plain RTP).
func WithSRTP(o *SRTPOffer) SDPOption {
	return func(so *sdpOptions) {
		if o != nil {
			so.profile, so.crypto = o.Profile(), o.Keys
		}
	}
}

// WithCrypto offers the keys in use again, e.g. in a hold re-offer during an SRTP call:
// profile is the negotiated one (Negotiation.Profile) and keys hotline's own
// (Negotiation.SRTP.Local); RFC 4568 §7.1.4 lets an offer keep its keys.
func WithCrypto(profile string, keys ...Crypto) SDPOption {
	return func(so *sdpOptions) { so.profile, so.crypto = profile, keys }
}

// OfferSDP returns an offer for an outbound call: codecs in hotline's order of preference
// and, if dtmfPT is not 0, telephone-event/8000 on that (dynamic, 96–127) payload type.
// Parse the answer with ParseSDP and Negotiate, or NegotiateAnswer for an SRTP offer
// (WithSRTP).
func OfferSDP(local netip.AddrPort, sessID, sessVersion uint64, codecs []Codec, dtmfPT uint8, opts ...SDPOption) []byte {
	return buildSDP(local, sessID, sessVersion, codecs, dtmfPT, SendRecv, collect(opts))
}

// HoldOfferSDP returns an offer like OfferSDP with the given direction: SendOnly to put the
// remote on hold (RFC 3264 §8.4), SendRecv to take it off.
func HoldOfferSDP(local netip.AddrPort, sessID, sessVersion uint64, codecs []Codec, dtmfPT uint8, dir string, opts ...SDPOption) []byte {
	return buildSDP(local, sessID, sessVersion, codecs, dtmfPT, dir, collect(opts))
}

func collect(opts []SDPOption) sdpOptions {
	var o sdpOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

func buildSDP(local netip.AddrPort, sessID, sessVersion uint64, codecs []Codec, dtmfPT uint8, dir string, o sdpOptions) []byte {
	profile := o.profile
	if profile == "" {
		profile = ProfileAVP
	}
	addr := local.Addr().Unmap()
	addrType := "IP4"
	if addr.Is6() {
		addrType = "IP6"
	}
	host := addr.WithZone("").String()
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media:  "audio",
			Port:   sdp.RangedPort{Value: int(local.Port())},
			Protos: strings.Split(profile, "/"),
		},
	}
	for _, c := range codecs {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(int(c.PayloadType)))
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", fmt.Sprintf("%d %s/%d", c.PayloadType, c.Name, c.ClockRate)))
	}
	if dtmfPT != 0 {
		pt := strconv.Itoa(int(dtmfPT))
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		md.Attributes = append(md.Attributes,
			sdp.NewAttribute("rtpmap", pt+" "+TelephoneEvent+"/8000"),
			sdp.NewAttribute("fmtp", pt+" 0-16"), // RFC 4733 §2.4.1: DTMF digits and flash
		)
	}
	for _, c := range o.crypto {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("crypto", c.Attribute()))
	}
	md.Attributes = append(md.Attributes,
		sdp.NewAttribute("ptime", "20"),
		sdp.NewPropertyAttribute(dir),
	)
	sd := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       "hotline",
			SessionID:      sessID,
			SessionVersion: sessVersion,
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: host,
		},
		SessionName: "hotline",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN",
			AddressType: addrType,
			Address:     &sdp.Address{Address: host},
		},
		TimeDescriptions:  []sdp.TimeDescription{{Timing: sdp.Timing{}}},
		MediaDescriptions: []*sdp.MediaDescription{md},
	}
	b, err := sd.Marshal()
	if err != nil { // pion's Marshal has no failure path for a description built like this
		panic("media: marshalling SDP: " + err.Error())
	}
	return b
}
