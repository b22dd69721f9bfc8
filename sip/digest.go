package sip

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/icholy/digest"
)

// Authenticator issues and checks HTTP digest credentials for SIP (RFC 3261 §22.4 with
// RFC 2617 qop=auth, MD5). Nonces are stateless (time + random + HMAC) so an unauthenticated
// flood costs no memory; the nonce counts of nonces that did authenticate are remembered
// until they expire, so a captured response cannot be replayed. A nonce is bound to the IP
// address it was sent to (the HMAC covers it): a failed answer counts against a source only
// if that source could read our challenge, so spoofed UDP cannot get someone else locked out.
type Authenticator struct {
	realm string
	ttl   time.Duration
	key   [32]byte
	now   func() time.Time

	mu   sync.Mutex
	seen map[string]nonceUse // nonce -> highest nc used
}

type nonceUse struct {
	nc      int
	expires time.Time
}

func NewAuthenticator(realm string, ttl time.Duration, now func() time.Time) *Authenticator {
	a := &Authenticator{realm: realm, ttl: ttl, now: now, seen: map[string]nonceUse{}}
	if _, err := rand.Read(a.key[:]); err != nil {
		panic(err)
	}
	return a
}

// Challenge returns a WWW-Authenticate value with a fresh nonce for a request from source.
func (a *Authenticator) Challenge(source netip.Addr, stale bool) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(a.now().UnixNano()))
	if _, err := rand.Read(raw[8:]); err != nil {
		panic(err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(append(raw[:], a.nonceMAC(raw[:], source)...))
	s := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"`, a.realm, nonce)
	if stale {
		s += ", stale=true"
	}
	return s
}

// Verify checks an Authorization header value, sent from source, for method against the
// user's password. It returns the authenticated user name, or ErrNoCredentials,
// ErrStaleNonce, ErrForeignNonce, ErrReplay, ErrUnknownUser or ErrBadCredentials.
func (a *Authenticator) Verify(header, method string, source netip.Addr, password func(user string) (string, bool)) (string, error) {
	cr, err := parseCredentials(header)
	if err != nil {
		return "", err
	}
	return a.verify(cr, method, source, password)
}

// parseCredentials reads an Authorization value: ErrNoCredentials if there is none,
// ErrBadCredentials if it is no digest hotline could have asked for.
func parseCredentials(header string) (*digest.Credentials, error) {
	if header == "" {
		return nil, ErrNoCredentials
	}
	cr, err := digest.ParseCredentials(header)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCredentials, err)
	}
	return cr, nil
}

func (a *Authenticator) verify(cr *digest.Credentials, method string, source netip.Addr, password func(user string) (string, bool)) (string, error) {
	// Checked first, before any MD5 is computed: a nonce we did not send to this address costs
	// a base64 decode and one HMAC, and is answered with a new challenge, never counted as a
	// guess (nothing was guessed, and the source address may be forged).
	issued, ok := a.nonceTime(cr.Nonce, source)
	if !ok {
		return "", ErrForeignNonce
	}
	if cr.Realm != a.realm || (cr.Algorithm != "" && cr.Algorithm != "MD5") {
		return "", fmt.Errorf("%w: realm %q, algorithm %q", ErrBadCredentials, cr.Realm, cr.Algorithm)
	}
	now := a.now()
	if now.Sub(issued) > a.ttl {
		return "", ErrStaleNonce
	}
	pass, ok := password(cr.Username)
	if !ok {
		pass = "\x00unknown" // compute anyway: answer in the same time as for a known user
	}
	ha1 := md5hex(cr.Username + ":" + a.realm + ":" + pass)
	ha2 := md5hex(method + ":" + cr.URI)
	var want string
	switch cr.QOP {
	case "auth":
		want = md5hex(fmt.Sprintf("%s:%s:%08x:%s:auth:%s", ha1, cr.Nonce, cr.Nc, cr.Cnonce, ha2))
	case "":
		want = md5hex(ha1 + ":" + cr.Nonce + ":" + ha2)
	default:
		return "", ErrBadCredentials
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(cr.Response)) != 1 {
		if !ok {
			return "", errUnknownUser
		}
		return "", ErrBadCredentials
	}
	if !ok { // a response that matches the placeholder password is still no account
		return "", errUnknownUser
	}
	// RFC 2617 §3.2.2: the nonce count must grow; without qop a nonce is single use.
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) > 4096 {
		for n, u := range a.seen {
			if now.After(u.expires) {
				delete(a.seen, n)
			}
		}
	}
	if u, used := a.seen[cr.Nonce]; used && (cr.QOP == "" || cr.Nc <= u.nc) {
		return "", ErrReplay
	}
	a.seen[cr.Nonce] = nonceUse{nc: cr.Nc, expires: issued.Add(a.ttl)}
	return cr.Username, nil
}

func (a *Authenticator) nonceTime(nonce string, source netip.Addr) (time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 32 {
		return time.Time{}, false
	}
	if !hmac.Equal(a.nonceMAC(b[:16], source), b[16:]) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), true
}

// nonceMAC binds a nonce's time and random part to the address it is sent to.
func (a *Authenticator) nonceMAC(raw []byte, source netip.Addr) []byte {
	mac := hmac.New(sha256.New, a.key[:])
	mac.Write(raw)
	ip := source.Unmap().As16()
	mac.Write(ip[:])
	return mac.Sum(nil)[:16]
}

// errUnknownUser is wrong credentials (callers that only tell right from wrong see
// ErrBadCredentials) for a user name that is no account (the guard and events tell them apart).
var errUnknownUser = fmt.Errorf("%w: %w", ErrBadCredentials, ErrUnknownUser)

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
