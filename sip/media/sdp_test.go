package media

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadSDP(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sdp", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func names(cs []Codec) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.Name
	}
	return strings.Join(s, " ")
}

// Offers from the phones and servers hotline meets are understood, and hotline answers
// with the codec the caller prefers, the caller's DTMF payload type and the right direction.
func TestParseAndNegotiateRealOffers(t *testing.T) {
	for _, c := range []struct {
		file      string
		remote    string
		codecs    string
		dtmf      uint8
		dir       string
		ptime     int
		hold      bool
		codec     Codec
		ourDir    string
		sessionID uint64
	}{
		{"sipp-uac.sdp", "127.0.0.1:6000", "PCMU", 0, SendRecv, 0, false, PCMU, SendRecv, 53655765},
		{"sipp-uac-pcap.sdp", "127.0.0.1:6002", "PCMA", 101, SendRecv, 0, false, PCMA, SendRecv, 53655765},
		{"baresip.sdp", "192.0.2.2:10014", "PCMU PCMA", 101, SendRecv, 20, false, PCMU, SendRecv, 963569005},
		{"asterisk.sdp", "10.17.0.10:12752", "PCMA PCMU G726-32 G722 GSM", 101, SendRecv, 20, false, PCMA, SendRecv, 1429284841},
		{"ua-static-fmtp.sdp", "176.35.43.136:62422", "PCMU PCMA G729 G722 G726-40 G726-32 G726-24 G726-16", 96, SendRecv, 20, false, PCMU, SendRecv, 1751622076},
		{"linphone-like.sdp", "192.168.1.20:7078", "opus speex PCMU PCMA G729", 100, SendRecv, 0, false, PCMU, SendRecv, 1967},
		{"hold-sendonly.sdp", "192.0.2.2:10014", "PCMU", 101, SendOnly, 0, true, PCMU, RecvOnly, 963569005},
		{"hold-0000.sdp", "0.0.0.0:49170", "PCMA", 0, SendRecv, 0, true, PCMA, RecvOnly, 20518},
		{"ipv6.sdp", "[2001:db8::10]:40000", "PCMA PCMU", 0, RecvOnly, 0, false, PCMA, SendOnly, 1},
	} {
		t.Run(c.file, func(t *testing.T) {
			d, err := ParseSDP(loadSDP(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if d.Remote != netip.MustParseAddrPort(c.remote) {
				t.Errorf("remote %v, want %s", d.Remote, c.remote)
			}
			if got := names(d.Codecs); got != c.codecs {
				t.Errorf("codecs %q, want %q", got, c.codecs)
			}
			if d.DTMFPayloadType != c.dtmf || d.Direction != c.dir || d.Ptime != c.ptime || d.Hold() != c.hold || d.SessionID != c.sessionID {
				t.Errorf("dtmf %d dir %s ptime %d hold %v sess %d, want %d %s %d %v %d",
					d.DTMFPayloadType, d.Direction, d.Ptime, d.Hold(), d.SessionID, c.dtmf, c.dir, c.ptime, c.hold, c.sessionID)
			}
			n, err := Negotiate(d, SupportedCodecs)
			if err != nil {
				t.Fatal(err)
			}
			if n.Codec != c.codec || n.DTMFPayloadType != c.dtmf || n.Direction != c.ourDir || n.Hold != c.hold || n.Remote != d.Remote {
				t.Errorf("negotiated %+v", n)
			}
		})
	}
}

// Static payload types need no rtpmap (RFC 3551 §6) and the rtpmap, when present, wins:
// a PCMU mapped to a dynamic number is still PCMU, and hotline sends that number.
func TestNegotiateUsesOfferersPayloadTypes(t *testing.T) {
	d, err := ParseSDP([]byte("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
		"m=audio 5004 RTP/AVP 112 0 126\r\na=rtpmap:112 pcmu/8000\r\na=rtpmap:126 Telephone-Event/8000\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Negotiate(d, []Codec{PCMA, PCMU})
	if err != nil {
		t.Fatal(err)
	}
	if n.Codec != (Codec{Name: "PCMU", PayloadType: 112, ClockRate: 8000}) || n.DTMFPayloadType != 126 {
		t.Errorf("negotiated %v dtmf %d, want PCMU on 112, dtmf 126", n.Codec, n.DTMFPayloadType)
	}
}

// When nothing matches, the error says what was offered and what hotline has, so the 488
// in the log explains itself.
func TestNegotiateNoCommonCodec(t *testing.T) {
	d, err := ParseSDP([]byte("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
		"m=audio 5004 RTP/AVP 18 96\r\na=rtpmap:96 opus/48000/2\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Negotiate(d, SupportedCodecs)
	if !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("err = %v", err)
	}
	if want := "sdp: no common codec: remote offers [G729/8000 opus/48000], hotline supports [PCMU/8000 PCMA/8000]"; err.Error() != want {
		t.Errorf("message %q\nwant    %q", err, want)
	}
	// A codec named like G.711 at another clock rate is not G.711.
	d.Codecs = []Codec{{Name: "PCMU", PayloadType: 97, ClockRate: 16000}}
	if _, err := Negotiate(d, SupportedCodecs); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("PCMU/16000 accepted: %v", err)
	}
}

// Broken SDP is refused with a message that names the problem.
func TestParseSDPErrors(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
	for _, c := range []struct {
		name, sdp string
		is        error
		msg       string
	}{
		{"garbage", "hello", ErrMalformedSDP, "sdp: malformed"},
		{"video only", head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n", ErrNoAudio, "sdp: no audio media line"},
		{"no media", head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\n", ErrNoAudio, "sdp: no audio media line"},
		{"rejected", head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n", ErrAudioRejected, "port 0"},
		{"srtp", head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 UDP/TLS/RTP/SAVPF 111\r\n", ErrUnsupportedTransport, `"UDP/TLS/RTP/SAVPF"`},
		{"no c=", head + "t=0 0\r\nm=audio 5000 RTP/AVP 0\r\n", ErrNoConnection, "no connection address"},
		{"bad address", head + "c=IN IP4 x\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n", ErrBadConnection, `sdp: bad connection address "x"`},
		{"hostname", head + "c=IN IP4 pbx.example.com\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n", ErrBadConnection, `"pbx.example.com"`},
		{"bad pt", head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0 200\r\n", ErrBadPayloadType, `"200"`},
		{"bad port", head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0\r\n", ErrMalformedSDP, "99999"},
	} {
		_, err := ParseSDP([]byte(c.sdp))
		if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v containing %q", c.name, err, c.is, c.msg)
		}
	}
	// The first usable audio line wins over a rejected one before it.
	d, err := ParseSDP([]byte(head + "c=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\nm=audio 7000 RTP/AVP 8\r\n"))
	if err != nil || d.Remote.Port() != 7000 || names(d.Codecs) != "PCMA" {
		t.Errorf("second audio line not used: %+v, %v", d, err)
	}
	// LF-only line endings (hand-written or mangled by a proxy) are tolerated.
	if _, err := ParseSDP([]byte(strings.ReplaceAll(string(loadSDP(t, "baresip.sdp")), "\r\n", "\n"))); err != nil {
		t.Errorf("LF-only SDP: %v", err)
	}
}

// The answer a phone receives: exactly one codec, telephone-event only if the caller
// offered it (on the caller's number), ptime 20, and a direction that answers hold.
func TestAnswerSDP(t *testing.T) {
	local := netip.MustParseAddrPort("203.0.113.5:20000")
	d, _ := ParseSDP(loadSDP(t, "baresip.sdp"))
	n, _ := Negotiate(d, SupportedCodecs)
	got := string(AnswerSDP(local, 42, 1, n))
	want := "v=0\r\n" +
		"o=hotline 42 1 IN IP4 203.0.113.5\r\n" +
		"s=hotline\r\n" +
		"c=IN IP4 203.0.113.5\r\n" +
		"t=0 0\r\n" +
		"m=audio 20000 RTP/AVP 0 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=rtpmap:101 telephone-event/8000\r\n" +
		"a=fmtp:101 0-16\r\n" +
		"a=ptime:20\r\n" +
		"a=sendrecv\r\n"
	if got != want {
		t.Errorf("answer:\n%s\nwant:\n%s", got, want)
	}

	// What the caller makes of it: the same codec, DTMF and our address.
	back, err := ParseSDP([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if back.Remote != local || len(back.Codecs) != 1 || back.Codecs[0] != PCMU || back.DTMFPayloadType != 101 {
		t.Errorf("answer parses as %+v", back)
	}

	for _, c := range []struct{ file, dir string }{
		{"hold-sendonly.sdp", "a=recvonly"}, {"hold-0000.sdp", "a=recvonly"}, {"ipv6.sdp", "a=sendonly"},
	} {
		d, _ := ParseSDP(loadSDP(t, c.file))
		n, _ := Negotiate(d, SupportedCodecs)
		a := string(AnswerSDP(local, 42, 2, n))
		if !strings.Contains(a, c.dir+"\r\n") {
			t.Errorf("answer to %s lacks %s:\n%s", c.file, c.dir, a)
		}
		if d.DTMFPayloadType == 0 && strings.Contains(a, "telephone-event") {
			t.Errorf("answer to %s offers telephone-event the caller never offered", c.file)
		}
	}
	v6 := string(AnswerSDP(netip.MustParseAddrPort("[2001:db8::1]:30000"), 1, 1, Negotiation{Codec: PCMA}))
	if !strings.Contains(v6, "c=IN IP6 2001:db8::1\r\n") || !strings.Contains(v6, "m=audio 30000 RTP/AVP 8\r\n") {
		t.Errorf("IPv6 answer:\n%s", v6)
	}
}

// An outbound call offers both G.711 laws and DTMF; the agent's phone answers with one, and
// Negotiate on that answer gives the codec to send.
func TestOfferSDPAndAnswer(t *testing.T) {
	local := netip.MustParseAddrPort("198.51.100.7:16384")
	offer := string(OfferSDP(local, 7, 7, SupportedCodecs, 101))
	for _, line := range []string{"m=audio 16384 RTP/AVP 0 8 101\r\n", "a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:8 PCMA/8000\r\n",
		"a=rtpmap:101 telephone-event/8000\r\n", "a=fmtp:101 0-16\r\n", "a=ptime:20\r\n", "a=sendrecv\r\n"} {
		if !strings.Contains(offer, line) {
			t.Errorf("offer lacks %q:\n%s", line, offer)
		}
	}
	if _, err := ParseSDP([]byte(offer)); err != nil {
		t.Fatalf("own offer does not parse: %v", err)
	}
	answer := "v=0\r\no=agent 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
	d, err := ParseSDP([]byte(answer))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Negotiate(d, SupportedCodecs)
	if err != nil || n.Codec != PCMA || n.DTMFPayloadType != 101 || n.Remote.String() != "192.0.2.9:4000" || !n.Sends() || !n.Receives() {
		t.Errorf("negotiated %+v, %v", n, err)
	}
	hold := string(HoldOfferSDP(local, 7, 8, SupportedCodecs, 101, SendOnly))
	if !strings.Contains(hold, "a=sendonly\r\n") || !strings.Contains(hold, "o=hotline 7 8 ") {
		t.Errorf("hold offer:\n%s", hold)
	}
}

// FuzzParseSDP: no SDP from the network crashes the parser, and whatever negotiates gives
// an answer that parses back to the same codec, DTMF type and address.
func FuzzParseSDP(f *testing.F) {
	entries, _ := os.ReadDir(filepath.Join("testdata", "sdp"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sdp") {
			f.Add(loadSDP(f, e.Name()))
		}
	}
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 1.2.3.4/127\r\n"))
	// SDES: every suite, lifetimes, MKIs, session parameters, broken keys, duplicate tags.
	for _, c := range []string{
		"1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|1:1",
		"2 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^20",
		"3 AEAD_AES_128_GCM inline:" + key28 + " WSH=64",
		"4 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP",
		"5 AES_CM_128_HMAC_SHA1_80 inline:QUJD|9999999999999999999999|0:0",
		"5 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + ";inline:" + key30,
	} {
		f.Add(offerSDP("RTP/SAVP", c))
		f.Add(offerSDP("RTP/AVP", c, "1 AES_CM_128_HMAC_SHA1_80 inline:"+key30))
	}
	local := netip.MustParseAddrPort("192.0.2.1:10000")
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseSDP(b)
		if err != nil {
			return
		}
		for _, policy := range []SRTPPolicy{SRTPOff, SRTPOptional, SRTPRequired} {
			n, err := NegotiateSRTP(d, SupportedCodecs, policy)
			if err != nil {
				continue
			}
			ans := AnswerSDP(local, 1, 1, n)
			back, err := ParseSDP(ans)
			if err != nil {
				t.Fatalf("own answer does not parse: %v\n%s", err, ans)
			}
			if back.Remote != local || len(back.Codecs) != 1 || back.Codecs[0] != n.Codec || back.DTMFPayloadType != n.DTMFPayloadType {
				t.Fatalf("answer %+v does not carry negotiation %+v", back, n)
			}
			if n.SRTP == nil {
				if back.Profile != ProfileAVP || len(back.Crypto) != 0 || policy == SRTPRequired {
					t.Fatalf("plain answer under %v on %s with %d a=crypto", policy, back.Profile, len(back.Crypto))
				}
				continue
			}
			if policy == SRTPOff || back.Profile != n.Profile || len(back.Crypto) != 1 || !bytes.Equal(back.Crypto[0].Key, n.SRTP.Local.Key) ||
				back.Crypto[0].Tag != n.SRTP.Remote.Tag || back.Crypto[0].Suite != n.SRTP.Remote.Suite {
				t.Fatalf("SRTP answer under %v %+v does not carry keys %v", policy, back, n.SRTP)
			}
			if _, err := newSRTPState(*n.SRTP); err != nil {
				t.Fatalf("negotiated keys make no SRTP context: %v", err)
			}
		}
	})
}
