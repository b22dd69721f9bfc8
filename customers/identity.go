package customers

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// IdentityKind is what sort of handle on a customer an identity is.
type IdentityKind string

const (
	KindPhone   IdentityKind = "phone"   // E.164, e.g. +8613800138000
	KindAccount IdentityKind = "account" // as entered in the IVR, digits and capitals
	KindEmail   IdentityKind = "email"   // lower case
	KindSIP     IdentityKind = "sip"     // a caller ID that is no phone number: a SIP user, an extension
	KindCRM     IdentityKind = "crm"     // the customer's ID in an external CRM or helpdesk, as it gives it
	KindChat    IdentityKind = "chat"    // a chat or social handle, written network:handle (wechat:wxid_abc)
)

// IdentityKinds are the kinds NewIdentity reads, for messages and the API.
var IdentityKinds = []IdentityKind{KindPhone, KindEmail, KindAccount, KindCRM, KindChat, KindSIP}

// Identity is one way of recognizing a customer; each belongs to one customer at most.
type Identity struct {
	Kind  IdentityKind `json:"kind"`
	Value string       `json:"value"`
}

var withheldIDs = map[string]bool{
	"": true, "anonymous": true, "unknown": true, "restricted": true, "private": true,
	"unavailable": true, "withheld": true, "anonymous.invalid": true,
}

var numberish = regexp.MustCompile(`^\+?[ (]*[0-9][0-9 ()\-./]*$`)

// callerPart reduces a caller ID as signalled ("Alice" <sip:+86138...@host;user=phone>,
// tel:+86-138..., sip:%2B86138...@host) to its user part.
func callerPart(raw string) string {
	s := strings.TrimSpace(raw)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	low := strings.ToLower(s)
	for _, scheme := range []string{"sips:", "sip:", "tel:"} {
		if strings.HasPrefix(low, scheme) {
			s = s[len(scheme):]
			break
		}
	}
	if i := strings.IndexAny(s, "@;?>"); i >= 0 {
		s = s[:i]
	}
	if u, err := url.PathUnescape(s); err == nil {
		s = u
	}
	return strings.TrimSpace(s)
}

// IsWithheld reports whether a caller ID identifies nobody ("", anonymous, restricted ...).
func IsWithheld(raw string) bool {
	return withheldIDs[strings.ToLower(callerPart(raw))]
}

// NormalizeNumber reads a phone number as a person types it or a SIP header carries it and
// returns it in E.164. Numbers without a leading + are read in region (ISO 3166 code, e.g.
// CN). A withheld number is ErrWithheld; anything that is not a valid number is
// ErrInvalidIdentity.
func NormalizeNumber(raw, region string) (string, error) {
	if len(raw) > 128 {
		return "", fmt.Errorf("%w: %d characters is too long for a phone number", ErrInvalidIdentity, len(raw))
	}
	s := callerPart(raw)
	if withheldIDs[strings.ToLower(s)] {
		return "", ErrWithheld
	}
	if !numberish.MatchString(s) {
		return "", fmt.Errorf("%w: %q is not a phone number", ErrInvalidIdentity, raw)
	}
	num, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		if region == "" && !strings.HasPrefix(s, "+") {
			return "", fmt.Errorf("%w: %q is not a valid phone number (no default region to read it in; write it with +)", ErrInvalidIdentity, raw)
		}
		return "", fmt.Errorf("%w: %q is not a valid phone number in region %s", ErrInvalidIdentity, raw, region)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// CallerIdentity is the identity a caller ID gives: an E.164 phone number when it is one,
// otherwise the SIP user or extension as signalled (kind sip). A withheld caller is
// ErrWithheld: such a caller is recorded but never matched to anyone.
func CallerIdentity(raw, region string) (Identity, error) {
	n, err := NormalizeNumber(raw, region)
	switch {
	case err == nil:
		return Identity{KindPhone, n}, nil
	case err == ErrWithheld:
		return Identity{}, err
	}
	user := strings.ToLower(callerPart(raw))
	if len(user) > 128 || strings.ContainsAny(user, " \t\r\n\x00") {
		return Identity{}, fmt.Errorf("%w: caller ID %q", ErrInvalidIdentity, raw)
	}
	return Identity{KindSIP, user}, nil
}

var accountRE = regexp.MustCompile(`^[A-Z0-9]{1,64}$`)

// NormalizeAccount reads an account number: spaces, dashes and dots are dropped, letters
// upper-cased, and what is left must be 1-64 letters and digits.
func NormalizeAccount(raw string) (string, error) {
	s := strings.ToUpper(strings.NewReplacer(" ", "", "-", "", ".", "", "\t", "").Replace(raw))
	if !accountRE.MatchString(s) {
		return "", fmt.Errorf("%w: account %q must be 1 to 64 letters and digits", ErrInvalidIdentity, raw)
	}
	return s, nil
}

var emailRE = regexp.MustCompile(`^[^@\s<>"]{1,64}@[a-z0-9]([a-z0-9\-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]*[a-z0-9])?)+$`)

// NormalizeEmail reads an e-mail address (local@domain), lower-cased.
func NormalizeEmail(raw string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	if len(s) > 254 || !emailRE.MatchString(s) {
		return "", fmt.Errorf("%w: %q is not an e-mail address like name@example.com", ErrInvalidIdentity, raw)
	}
	return s, nil
}

var (
	crmRE  = regexp.MustCompile(`^[\x21-\x7e]{1,128}$`)
	chatRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}:[^\s]{1,128}$`)
)

// NormalizeCRM reads an external CRM ID: 1-128 printable ASCII characters without spaces,
// kept as given (CRM IDs are often case-sensitive).
func NormalizeCRM(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if !crmRE.MatchString(s) {
		return "", fmt.Errorf("%w: CRM ID %q must be 1 to 128 printable ASCII characters without spaces", ErrInvalidIdentity, raw)
	}
	return s, nil
}

// NormalizeChat reads a chat or social handle written network:handle (wechat:wxid_abc,
// telegram:@wang); the network is lower-cased, the handle kept as given.
func NormalizeChat(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if i := strings.IndexByte(s, ':'); i > 0 {
		s = strings.ToLower(s[:i]) + s[i:]
	}
	if !chatRE.MatchString(s) {
		return "", fmt.Errorf("%w: chat handle %q must be network:handle, like wechat:wxid_abc", ErrInvalidIdentity, raw)
	}
	return s, nil
}

// NewIdentity normalizes a value of the given kind (phone numbers in region).
func NewIdentity(kind IdentityKind, value, region string) (Identity, error) {
	var err error
	switch kind {
	case KindPhone:
		value, err = NormalizeNumber(value, region)
	case KindAccount:
		value, err = NormalizeAccount(value)
	case KindEmail:
		value, err = NormalizeEmail(value)
	case KindCRM:
		value, err = NormalizeCRM(value)
	case KindChat:
		value, err = NormalizeChat(value)
	case KindSIP:
		var id Identity
		id, err = CallerIdentity(value, region)
		if err == nil && id.Kind != KindSIP {
			return id, nil
		}
		value = id.Value
	default:
		return Identity{}, fmt.Errorf("%w: identity kind %q; use phone, email, account, crm, chat or sip", ErrInvalid, kind)
	}
	if err != nil {
		return Identity{}, err
	}
	return Identity{kind, value}, nil
}
