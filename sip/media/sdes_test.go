package media

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// A 30-byte AES_CM key and a 28-byte GCM key, base64 (RFC 4568 §10's example key).
const (
	key30 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
	key28 = "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3OA=="
)

func TestParseCrypto(t *testing.T) {
	k30, _ := base64.StdEncoding.DecodeString(key30)
	for _, tc := range []struct {
		line  string
		want  Crypto
		err   error
		words string // in the error
	}{
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, want: Crypto{Tag: 1, Suite: SuiteAES128SHA1_80, Key: k30}},
		{line: "2 AES_CM_128_HMAC_SHA1_32 inline:" + key30 + "|2^31", want: Crypto{Tag: 2, Suite: SuiteAES128SHA1_32, Key: k30}},
		{line: "3 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4", err: ErrUnsupportedCrypto, words: "lifetime"},
		{line: "4 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^48|7:2", want: Crypto{Tag: 4, Suite: SuiteAES128SHA1_80, Key: k30, MKI: []byte{0, 7}}},
		{line: "5 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:8", err: ErrUnsupportedCrypto, words: "MKI of 8 bytes"},
		{line: "6 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|300:1", err: ErrBadCrypto, words: "does not fit"},
		{line: "7 AEAD_AES_128_GCM inline:" + key28, want: Crypto{Tag: 7, Suite: SuiteAES128GCM, Key: []byte("1234567890123456789012345678")}},
		{line: "8 AEAD_AES_128_GCM inline:" + strings.TrimRight(key28, "="), want: Crypto{Tag: 8, Suite: SuiteAES128GCM, Key: []byte("1234567890123456789012345678")}},
		{line: "9 AES_256_CM_HMAC_SHA1_80 inline:" + key30, err: ErrUnknownSuite, words: "AES_CM_128_HMAC_SHA1_80"},
		{line: "1 F8_128_HMAC_SHA1_80 inline:" + key30, err: ErrUnknownSuite},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:not*base64!", err: ErrBadCrypto, words: "base64"},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key28, err: ErrBadCrypto, words: "28 bytes (want 30"},
		{line: "1 AEAD_AES_128_GCM inline:" + key30, err: ErrBadCrypto, words: "30 bytes (want 28"},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " UNENCRYPTED_SRTP", err: ErrUnsupportedCrypto, words: "UNENCRYPTED_SRTP"},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " KDR=1", err: ErrUnsupportedCrypto, words: "KDR=1"},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " WSH=128", want: Crypto{Tag: 1, Suite: SuiteAES128SHA1_80, Key: k30}},
		{line: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|1:1;inline:" + key30 + "|2^31|2:1", err: ErrUnsupportedCrypto, words: "more than one key"},
		{line: "1 AES_CM_128_HMAC_SHA1_80 uri:https://kms.example/k", err: ErrBadCrypto, words: "want inline"},
		{line: "x AES_CM_128_HMAC_SHA1_80 inline:" + key30, err: ErrBadCrypto, words: "tag"},
		{line: "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key30, err: ErrBadCrypto, words: "tag"},
		{line: "1 AES_CM_128_HMAC_SHA1_80", err: ErrBadCrypto},
	} {
		got, err := parseCrypto(tc.line)
		if tc.err != nil {
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.words) {
				t.Errorf("%s:\n got error %v, want %v mentioning %q", tc.line, err, tc.err, tc.words)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.line, err)
			continue
		}
		if got.Tag != tc.want.Tag || got.Suite != tc.want.Suite || !bytes.Equal(got.Key, tc.want.Key) || !bytes.Equal(got.MKI, tc.want.MKI) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.line, got, tc.want)
		}
	}
}

// A key written out and read back is the same key; its String never shows it.
func TestCryptoRoundTrip(t *testing.T) {
	for _, s := range Suites {
		c, err := NewCrypto(3, s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseCrypto(c.Attribute())
		if err != nil || back.Suite != s || back.Tag != 3 || !bytes.Equal(back.Key, c.Key) {
			t.Errorf("%v: %q parses to %+v, %v", s, c.Attribute(), back, err)
		}
		if strings.Contains(c.String(), base64.StdEncoding.EncodeToString(c.Key)) {
			t.Errorf("%v: String() shows the key: %s", s, c)
		}
		d, _ := NewCrypto(3, s)
		if bytes.Equal(c.Key, d.Key) {
			t.Errorf("%v: two fresh keys are equal", s)
		}
	}
	// Nor does a description or negotiation printed whole into a log line or an error.
	c, _ := NewCrypto(1, SuiteAES128SHA1_80)
	keys := &SRTPKeys{Local: c, Remote: c}
	for _, v := range []any{Description{Crypto: []Crypto{c}}, keys, *keys} {
		if out := fmt.Sprintf("%+v %v", v, v); strings.Contains(out, base64.StdEncoding.EncodeToString(c.Key)) || strings.Contains(out, "Key:") || !strings.Contains(out, "<redacted>") {
			t.Errorf("%T prints the key: %s", v, out)
		}
	}
	mki := Crypto{Tag: 1, Suite: SuiteAES128SHA1_80, Key: make([]byte, 30), MKI: []byte{1, 2}}
	if back, err := parseCrypto(mki.Attribute()); err != nil || !bytes.Equal(back.MKI, mki.MKI) {
		t.Errorf("MKI %q parses to %x, %v", mki.Attribute(), back.MKI, err)
	}
}

func TestParseSRTPPolicy(t *testing.T) {
	for in, want := range map[string]SRTPPolicy{"off": SRTPOff, "optional": SRTPOptional, "required": SRTPRequired} {
		if p, err := ParseSRTPPolicy(in); err != nil || p != want || p.String() != in {
			t.Errorf("ParseSRTPPolicy(%q) = %v, %v", in, p, err)
		}
	}
	_, err := ParseSRTPPolicy("mandatory")
	if !errors.Is(err, ErrBadSRTPPolicy) || !strings.Contains(err.Error(), `"mandatory" (want off, optional or required)`) {
		t.Errorf("ParseSRTPPolicy(mandatory) = %v", err)
	}
}

// offerSDP is an SDP offer on profile with the given a=crypto lines.
func offerSDP(profile string, crypto ...string) []byte {
	s := "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 " + profile + " 0 101\r\n" +
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
	for _, c := range crypto {
		s += "a=crypto:" + c + "\r\n"
	}
	return []byte(s)
}

// The policy matrix: off, optional and required against a plain offer, a best-effort offer
// (RTP/AVP with a=crypto) and an RTP/SAVP offer; and what the answer says.
func TestNegotiateSRTPPolicyMatrix(t *testing.T) {
	crypto := "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30
	offers := map[string][]byte{
		"AVP":        offerSDP("RTP/AVP"),
		"AVP+crypto": offerSDP("RTP/AVP", crypto),
		"SAVP":       offerSDP("RTP/SAVP", crypto),
		"SAVP-bare":  offerSDP("RTP/SAVP"),
	}
	type want struct {
		srtp    bool
		profile string // of the answer
		err     error
	}
	matrix := map[SRTPPolicy]map[string]want{
		SRTPOff: {
			"AVP":        {profile: ProfileAVP},
			"AVP+crypto": {profile: ProfileAVP}, // best effort declined: answered in the clear, no a=crypto
			"SAVP":       {err: ErrSRTPRefused},
			"SAVP-bare":  {err: ErrSRTPRefused},
		},
		SRTPOptional: {
			"AVP":        {profile: ProfileAVP},
			"AVP+crypto": {srtp: true, profile: ProfileAVP},
			"SAVP":       {srtp: true, profile: ProfileSAVP},
			"SAVP-bare":  {err: ErrSRTPRefused},
		},
		SRTPRequired: {
			"AVP":        {err: ErrSRTPRequired},
			"AVP+crypto": {srtp: true, profile: ProfileAVP},
			"SAVP":       {srtp: true, profile: ProfileSAVP},
			"SAVP-bare":  {err: ErrSRTPRefused},
		},
	}
	local := netip.MustParseAddrPort("192.0.2.1:10000")
	for policy, row := range matrix {
		for name, w := range row {
			d, err := ParseSDP(offers[name])
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n, err := NegotiateSRTP(d, SupportedCodecs, policy)
			if w.err != nil {
				if !errors.Is(err, w.err) {
					t.Errorf("%v × %s: error %v, want %v", policy, name, err, w.err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%v × %s: %v", policy, name, err)
				continue
			}
			if (n.SRTP != nil) != w.srtp || n.Profile != w.profile {
				t.Errorf("%v × %s: SRTP %v profile %s, want %v %s", policy, name, n.SRTP != nil, n.Profile, w.srtp, w.profile)
				continue
			}
			ans, err := ParseSDP(AnswerSDP(local, 1, 1, n))
			if err != nil {
				t.Fatalf("%v × %s: answer does not parse: %v", policy, name, err)
			}
			if ans.Profile != w.profile || (len(ans.Crypto) == 1) != w.srtp {
				t.Errorf("%v × %s: answer on %s with %d a=crypto", policy, name, ans.Profile, len(ans.Crypto))
			}
			if w.srtp {
				a := ans.Crypto[0]
				if a.Tag != 1 || a.Suite != SuiteAES128SHA1_80 || !bytes.Equal(a.Key, n.SRTP.Local.Key) || bytes.Equal(a.Key, d.Crypto[0].Key) {
					t.Errorf("%v × %s: answer's key %v is not a fresh local key of tag 1", policy, name, a)
				}
				if !bytes.Equal(n.SRTP.Remote.Key, d.Crypto[0].Key) {
					t.Errorf("%v × %s: remote key not the offer's", policy, name)
				}
			}
		}
	}
}

// The first acceptable line wins, in the offerer's order; lines hotline cannot use are
// skipped and, when none is left, named in the error.
func TestNegotiateSRTPSkipsUnusableLines(t *testing.T) {
	d, err := ParseSDP(offerSDP("RTP/SAVP",
		"1 AES_256_CM_HMAC_SHA1_80 inline:"+key30,
		"2 AES_CM_128_HMAC_SHA1_80 inline:"+key30+"|2^10",
		"3 AES_CM_128_HMAC_SHA1_32 inline:"+key30+" UNENCRYPTED_SRTCP",
		"4 AEAD_AES_128_GCM inline:"+key28,
		"5 AES_CM_128_HMAC_SHA1_80 inline:"+key30,
	))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Crypto) != 2 || len(d.CryptoErrors) != 3 {
		t.Fatalf("usable %v, skipped %v", d.Crypto, d.CryptoErrors)
	}
	n, err := NegotiateSRTP(d, SupportedCodecs, SRTPRequired)
	if err != nil || n.SRTP.Remote.Tag != 4 || n.SRTP.Local.Suite != SuiteAES128GCM || len(n.SRTP.Local.Key) != 28 {
		t.Fatalf("chose %+v, %v; want tag 4 (GCM)", n.SRTP, err)
	}

	d, _ = ParseSDP(offerSDP("RTP/SAVP", "1 AES_256_CM_HMAC_SHA1_80 inline:"+key30, "2 AES_CM_128_HMAC_SHA1_80 inline:QUJD"))
	_, err = NegotiateSRTP(d, SupportedCodecs, SRTPOptional)
	if !errors.Is(err, ErrSRTPRefused) || !strings.Contains(err.Error(), "AES_256_CM_HMAC_SHA1_80") || !strings.Contains(err.Error(), "3 bytes (want 30") {
		t.Errorf("no usable line: %v", err)
	}
}

// baresip's real offers: RTP/SAVP with srtp-mand, RTP/AVP with a=crypto with srtp.
func TestNegotiateSRTPBaresip(t *testing.T) {
	for file, profile := range map[string]string{"baresip-srtp-mand.sdp": ProfileSAVP, "baresip-srtp-optional.sdp": ProfileAVP} {
		d, err := ParseSDP(loadSDP(t, file))
		if err != nil {
			t.Fatal(err)
		}
		if d.Profile != profile || len(d.Crypto) != 1 || d.Crypto[0].Suite != SuiteAES128SHA1_80 {
			t.Fatalf("%s: profile %s crypto %v", file, d.Profile, d.Crypto)
		}
		n, err := NegotiateSRTP(d, SupportedCodecs, SRTPRequired)
		if err != nil || n.SRTP == nil || n.Profile != profile {
			t.Errorf("%s under required: %+v, %v", file, n, err)
		}
		if _, err := NegotiateSRTP(d, SupportedCodecs, SRTPOff); (err != nil) != (profile == ProfileSAVP) {
			t.Errorf("%s under off: %v", file, err)
		}
	}
}

// hotline's own offers: RTP/SAVP when required, RTP/AVP when optional, one line per suite;
// answers are matched on tag and suite.
func TestSRTPOfferAndAnswer(t *testing.T) {
	local := netip.MustParseAddrPort("192.0.2.1:10000")
	peer := netip.MustParseAddrPort("192.0.2.7:20000")
	for _, policy := range []SRTPPolicy{SRTPOptional, SRTPRequired} {
		o, err := NewSRTPOffer(policy)
		if err != nil {
			t.Fatal(err)
		}
		offer, err := ParseSDP(OfferSDP(local, 1, 1, SupportedCodecs, 101, WithSRTP(o)))
		if err != nil {
			t.Fatal(err)
		}
		wantProfile := map[SRTPPolicy]string{SRTPOptional: ProfileAVP, SRTPRequired: ProfileSAVP}[policy]
		if offer.Profile != wantProfile || len(offer.Crypto) != len(Suites) {
			t.Fatalf("%v: offer on %s with %d crypto lines", policy, offer.Profile, len(offer.Crypto))
		}
		// The peer answers the offer the way hotline would (it takes line 1 and keys it).
		pn, err := NegotiateSRTP(offer, SupportedCodecs, SRTPOptional)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := ParseSDP(AnswerSDP(peer, 2, 1, pn))
		n, err := NegotiateAnswer(answer, SupportedCodecs, o)
		if err != nil || n.SRTP == nil {
			t.Fatalf("%v: %v", policy, err)
		}
		if !bytes.Equal(n.SRTP.Local.Key, pn.SRTP.Remote.Key) || !bytes.Equal(n.SRTP.Remote.Key, pn.SRTP.Local.Key) {
			t.Errorf("%v: the two sides' keys do not pair up", policy)
		}
		// A plain answer: fine for optional, an error for required.
		plain, _ := ParseSDP(AnswerSDP(peer, 2, 1, Negotiation{Codec: PCMU, Direction: SendRecv}))
		_, err = NegotiateAnswer(plain, SupportedCodecs, o)
		if (policy == SRTPRequired) != errors.Is(err, ErrSRTPRequired) {
			t.Errorf("%v: plain answer: %v", policy, err)
		}
		// An answer with a tag hotline did not offer.
		bad, _ := ParseSDP(offerSDP(wantProfile, "9 AES_CM_128_HMAC_SHA1_80 inline:"+key30))
		if _, err := NegotiateAnswer(bad, SupportedCodecs, o); err == nil {
			t.Errorf("%v: an answer with an unknown tag was accepted", policy)
		}
	}
	// A plain offer refuses an RTP/SAVP answer.
	savp, _ := ParseSDP(offerSDP("RTP/SAVP", "1 AES_CM_128_HMAC_SHA1_80 inline:"+key30))
	if _, err := NegotiateAnswer(savp, SupportedCodecs, nil); !errors.Is(err, ErrSRTPRefused) {
		t.Errorf("SAVP answer to a plain offer: %v", err)
	}
	if o, err := NewSRTPOffer(SRTPOff); o != nil || err != nil {
		t.Errorf("NewSRTPOffer(off) = %v, %v", o, err)
	}
	// Hold re-offers keep the keys in use.
	c, _ := NewCrypto(2, SuiteAES128SHA1_32)
	hold, _ := ParseSDP(HoldOfferSDP(local, 1, 2, SupportedCodecs, 101, SendOnly, WithCrypto(ProfileSAVP, c)))
	if hold.Profile != ProfileSAVP || len(hold.Crypto) != 1 || !bytes.Equal(hold.Crypto[0].Key, c.Key) || hold.Direction != SendOnly {
		t.Errorf("hold re-offer: %+v", hold)
	}
}

// A re-INVITE that keeps the peer's key keeps hotline's too; one with a new key gets a new one.
func TestSRTPKeysKeep(t *testing.T) {
	d, _ := ParseSDP(offerSDP("RTP/SAVP", "1 AES_CM_128_HMAC_SHA1_80 inline:"+key30))
	first, err := NegotiateSRTP(d, SupportedCodecs, SRTPRequired)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := NegotiateSRTP(d, SupportedCodecs, SRTPRequired)
	if k := again.SRTP.Keep(first.SRTP); !bytes.Equal(k.Local.Key, first.SRTP.Local.Key) {
		t.Error("same remote key, but hotline's key changed")
	}
	k2, _ := NewCrypto(1, SuiteAES128SHA1_80)
	d.Crypto[0] = k2
	changed, _ := NegotiateSRTP(d, SupportedCodecs, SRTPRequired)
	if k := changed.SRTP.Keep(first.SRTP); k != changed.SRTP || bytes.Equal(k.Local.Key, first.SRTP.Local.Key) {
		t.Error("new remote key, but hotline kept its old one")
	}
	if k := (*SRTPKeys)(nil).Keep(first.SRTP); k != nil {
		t.Error("a plain re-offer kept SRTP keys")
	}
}
