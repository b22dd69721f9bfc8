package sip

import (
	"errors"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/call"
)

// Refer-To values as phones send them, and the transfer hotline reads from each.
func TestUnitReferToParsing(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		user, uri   string
		replaces    *call.Replaces
		err         string // part of the error; "" for none
	}{
		{name: "blind, name-addr", value: "<sip:1002@pbx.example.com>", user: "1002", uri: "sip:1002@pbx.example.com"},
		{name: "blind, addr-spec with header params", value: "sip:1002@10.0.0.1:5060;foo=bar", user: "1002", uri: "sip:1002@10.0.0.1:5060"},
		{name: "display name", value: `"Sales queue" <sip:2000@pbx;user=phone>;x=1`, user: "2000", uri: "sip:2000@pbx;user=phone"},
		{name: "quoted display name holding <", value: `"a <b> \"c\"" <sip:1003@pbx>`, user: "1003", uri: "sip:1003@pbx"},
		{name: "unquoted display name", value: `Bob <sip:1004@pbx>`, user: "1004", uri: "sip:1004@pbx"},
		{name: "sips", value: "<sips:1002@pbx.example.com;transport=tls>", user: "1002", uri: "sips:1002@pbx.example.com;transport=tls"},
		{name: "escaped user part", value: "<sip:%2B4930123456@trunk>", user: "+4930123456", uri: "sip:%2B4930123456@trunk"},
		{name: "tel URI", value: "<tel:+4930123456;phone-context=example.com>", user: "+4930123456", uri: "tel:+4930123456;phone-context=example.com"},
		{
			name:     "attended, Replaces escaped (RFC 3891 §7.1)",
			value:    "<sip:1002@pbx?Replaces=12345%40192.168.0.1%3Bto-tag%3D7743%3Bfrom-tag%3D6472>",
			user:     "1002",
			uri:      "sip:1002@pbx?Replaces=12345%40192.168.0.1%3Bto-tag%3D7743%3Bfrom-tag%3D6472",
			replaces: &call.Replaces{CallID: "12345@192.168.0.1", ToTag: "7743", FromTag: "6472"},
		},
		{
			name:     "attended, tags the other order, early-only and another header",
			value:    "<sip:1002@pbx?Require=replaces&replaces=abc%3Bfrom-tag%3Df1%3Bto-tag%3Dt1%3Bearly-only>",
			user:     "1002",
			uri:      "sip:1002@pbx?Require=replaces&replaces=abc%3Bfrom-tag%3Df1%3Bto-tag%3Dt1%3Bearly-only",
			replaces: &call.Replaces{CallID: "abc", ToTag: "t1", FromTag: "f1"},
		},
		{name: "empty", value: "  ", err: "empty"},
		{name: "garbage", value: "this is not a uri", err: "space"},
		{name: "no scheme", value: "<1002@pbx>", err: "no scheme"},
		{name: "http", value: "<http://example.com/1002>", err: `scheme "http"`},
		{name: "no user part", value: "<sip:pbx.example.com>", err: "no user part"},
		{name: "empty user part", value: "<sip:@pbx>", err: "empty user part"},
		{name: "no host", value: "<sip:1002@>", err: "no host"},
		{name: "unclosed <", value: "<sip:1002@pbx", err: "without '>'"},
		{name: "unclosed quote", value: `"Bob <sip:1002@pbx>`, err: "quote"},
		{name: "bad escape", value: "<sip:10%zz@pbx>", err: "user part"},
		{name: "Replaces without from-tag", value: "<sip:1002@pbx?Replaces=abc%3Bto-tag%3Dt1>", err: "both to-tag and from-tag"},
		{name: "Replaces without Call-ID", value: "<sip:1002@pbx?Replaces=%3Bto-tag%3Dt1%3Bfrom-tag%3Df1>", err: "no Call-ID"},
		{name: "two Replaces", value: "<sip:1002@pbx?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2&Replaces=b%3Bto-tag%3D1%3Bfrom-tag%3D2>", err: "two Replaces"},
		{name: "too long", value: "<sip:" + strings.Repeat("1", 3000) + "@pbx>", err: "bytes long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, err := parseReferTo(tc.value)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrBadReferTo) {
					t.Fatalf("parseReferTo(%q) = %+v, %v; want an ErrBadReferTo saying %q", tc.value, rt, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseReferTo(%q): %v", tc.value, err)
			}
			if rt.User != tc.user || rt.URI != tc.uri {
				t.Errorf("user %q uri %q, want %q %q", rt.User, rt.URI, tc.user, tc.uri)
			}
			switch {
			case tc.replaces == nil && rt.Replaces != nil:
				t.Errorf("Replaces %+v on a blind transfer", *rt.Replaces)
			case tc.replaces != nil && (rt.Replaces == nil || *rt.Replaces != *tc.replaces):
				t.Errorf("Replaces %+v, want %+v", rt.Replaces, *tc.replaces)
			}
		})
	}
}

// FuzzReferTo: whatever a phone puts in Refer-To, the parser does not panic, and what it
// accepts is a transfer hotline can act on: a URI taken from the value, a user part, and a
// Replaces with all three of its parts, none spanning lines.
func FuzzReferTo(f *testing.F) {
	for _, seed := range []string{
		"<sip:1002@pbx.example.com>", "sip:1002@10.0.0.1:5060;foo=bar", `"Sales" <sip:2000@pbx;user=phone>;x=1`,
		"<sips:1002@pbx;transport=tls>", "<tel:+4930123456>", "<sip:%2B49@trunk>",
		"<sip:1002@pbx?Replaces=12345%40192.168.0.1%3Bto-tag%3D7743%3Bfrom-tag%3D6472>",
		"<sip:1002@pbx?Require=replaces&Replaces=a%3Bfrom-tag%3Df%3Bto-tag%3Dt%3Bearly-only>",
		`"a \"<b>" <sip:x@y>`, "<sip:@pbx>", "<sip:1002@>", "garbage", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		rt, err := parseReferTo(v)
		if err != nil {
			if !errors.Is(err, ErrBadReferTo) {
				t.Fatalf("error %v is not an ErrBadReferTo", err)
			}
			return
		}
		if rt.URI == "" || rt.User == "" || !strings.Contains(v, rt.URI) {
			t.Fatalf("accepted %q as URI %q user %q", v, rt.URI, rt.User)
		}
		if strings.ContainsAny(rt.URI, "\r\n<>") {
			t.Fatalf("URI %q spans lines or holds brackets", rt.URI)
		}
		if r := rt.Replaces; r != nil {
			if r.CallID == "" || r.ToTag == "" || r.FromTag == "" {
				t.Fatalf("Replaces %+v lacks a part", *r)
			}
			if strings.ContainsAny(r.CallID, " \t\r\n") {
				t.Fatalf("Replaces Call-ID %q has white space", r.CallID)
			}
		}
	})
}
