package sip

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hotline-cc/hotline/call"
)

// referTarget is a Refer-To header value read (RFC 3515 §2.1): where the phone asks the
// party it talks to to be transferred, and for an attended transfer the dialog to replace
// (RFC 3891 §6.1, carried as the URI's Replaces header, RFC 3261 §19.1.1).
type referTarget struct {
	URI      string         // the URI as sent, within <> when it was in a name-addr
	User     string         // its user part, unescaped: an extension, a queue or a number
	Replaces *call.Replaces // nil for a blind transfer
}

// ErrBadReferTo is wrapped by every reason parseReferTo refuses a Refer-To.
var ErrBadReferTo = errors.New("sip: bad Refer-To")

// maxReferTo bounds the header hotline reads; a longer one is refused.
const maxReferTo = 2048

func badReferTo(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadReferTo}, args...)...)
}

// parseReferTo reads a Refer-To value: a name-addr (`"Bob" <sip:1002@pbx?Replaces=...>;p=v`)
// or an addr-spec (`sip:1002@pbx`, whose ;params belong to the header, RFC 3261 §20).
// The URI must be sip:, sips: or tel: with a user part (the number of a tel: URI).
func parseReferTo(v string) (referTarget, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return referTarget{}, badReferTo("empty")
	case len(v) > maxReferTo:
		return referTarget{}, badReferTo("%d bytes long (at most %d)", len(v), maxReferTo)
	}
	uri, err := referToURI(v)
	if err != nil {
		return referTarget{}, err
	}
	if strings.ContainsAny(uri, " \t\r\n<>\"") {
		return referTarget{}, badReferTo("the URI %q has a space, quote or angle bracket in it", uri)
	}
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return referTarget{}, badReferTo("%q is not a URI (no scheme)", uri)
	}
	rt := referTarget{URI: uri}
	switch strings.ToLower(scheme) {
	case "tel": // RFC 3966: tel:+4930123;phone-context=...
		num, _, _ := strings.Cut(rest, ";")
		if rt.User, err = url.PathUnescape(num); err != nil || rt.User == "" {
			return referTarget{}, badReferTo("tel URI %q has no number", uri)
		}
		return rt, nil
	case "sip", "sips":
	default:
		return referTarget{}, badReferTo("scheme %q: want sip, sips or tel", scheme)
	}
	rest, headers, _ := strings.Cut(rest, "?")
	userinfo, hostport, ok := strings.Cut(rest, "@")
	if !ok {
		return referTarget{}, badReferTo("%q has no user part (want sip:user@host)", uri)
	}
	user, _, _ := strings.Cut(userinfo, ":") // a password, never used
	if rt.User, err = url.PathUnescape(user); err != nil {
		return referTarget{}, badReferTo("user part %q: %v", user, err)
	}
	if rt.User == "" {
		return referTarget{}, badReferTo("%q has an empty user part", uri)
	}
	if host, _, _ := strings.Cut(hostport, ";"); host == "" || strings.HasPrefix(host, ":") {
		return referTarget{}, badReferTo("%q has no host", uri)
	}
	if headers == "" {
		return rt, nil
	}
	for _, h := range strings.Split(headers, "&") {
		name, value, _ := strings.Cut(h, "=")
		if !strings.EqualFold(name, "Replaces") {
			continue // other embedded headers (Accept-Contact, Require) are the target's business
		}
		if rt.Replaces != nil {
			return referTarget{}, badReferTo("two Replaces in %q", uri)
		}
		value, err := url.PathUnescape(value)
		if err != nil {
			return referTarget{}, badReferTo("Replaces %q: %v", value, err)
		}
		r, err := parseReplaces(value)
		if err != nil {
			return referTarget{}, err
		}
		rt.Replaces = &r
	}
	return rt, nil
}

// referToURI is the URI of a Refer-To value: what is between < and > in a name-addr (after
// a display name, which may be quoted and hold < itself), else everything up to the header's
// first ;parameter.
func referToURI(v string) (string, error) {
	rest := v
	if strings.HasPrefix(rest, `"`) { // quoted display name, with \-escapes (RFC 3261 §25.1)
		i := 1
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] == '\\' {
				i++
			}
		}
		if i >= len(rest) {
			return "", badReferTo("display name's quote is not closed")
		}
		rest = rest[i+1:]
		if !strings.Contains(rest, "<") {
			return "", badReferTo("a display name but no <URI>")
		}
	}
	if open := strings.IndexByte(rest, '<'); open >= 0 {
		end := strings.IndexByte(rest[open:], '>')
		if end < 0 {
			return "", badReferTo("'<' without '>'")
		}
		uri := strings.TrimSpace(rest[open+1 : open+end])
		if uri == "" {
			return "", badReferTo("<> holds no URI")
		}
		return uri, nil
	}
	uri, _, _ := strings.Cut(rest, ";")
	return strings.TrimSpace(uri), nil
}

// parseReplaces reads a Replaces value (RFC 3891 §6.1): `callid;to-tag=a;from-tag=b`, in any
// order of parameters, with early-only and extensions ignored. Both tags are required.
func parseReplaces(v string) (call.Replaces, error) {
	parts := strings.Split(v, ";")
	r := call.Replaces{CallID: strings.TrimSpace(parts[0])}
	if r.CallID == "" || strings.ContainsAny(r.CallID, " \t\r\n") {
		return call.Replaces{}, badReferTo("Replaces %q: no Call-ID", v)
	}
	for _, p := range parts[1:] {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "to-tag":
			r.ToTag = strings.TrimSpace(value)
		case "from-tag":
			r.FromTag = strings.TrimSpace(value)
		}
	}
	if r.ToTag == "" || r.FromTag == "" {
		return call.Replaces{}, badReferTo("Replaces %q: want both to-tag and from-tag", v)
	}
	return r, nil
}
