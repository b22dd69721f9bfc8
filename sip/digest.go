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
	"sync"
	"time"

	"github.com/icholy/digest"
)

// Authenticator issues and checks HTTP digest credentials for SIP (RFC 3261 §22.4 with
// RFC 2617 qop=auth, MD5). Nonces are stateless (time + random + HMAC) so an unauthenticated
// flood costs no memory; the nonce counts of nonces that did authenticate are remembered
// until they expire, so a captured response cannot be replayed.
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

// Challenge returns a WWW-Authenticate value with a fresh nonce.
func (a *Authenticator) Challenge(stale bool) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], uint64(a.now().UnixNano()))
	if _, err := rand.Read(raw[8:]); err != nil {
		panic(err)
	}
	mac := hmac.New(sha256.New, a.key[:])
	mac.Write(raw[:])
	nonce := base64.RawURLEncoding.EncodeToString(append(raw[:], mac.Sum(nil)[:16]...))
	s := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=MD5, qop="auth"`, a.realm, nonce)
	if stale {
		s += ", stale=true"
	}
	return s
}

// Verify checks an Authorization header value for method against the user's password.
// It returns the authenticated user name, or ErrNoCredentials, ErrStaleNonce, ErrReplay or
// ErrBadCredentials.
func (a *Authenticator) Verify(header, method string, password func(user string) (string, bool)) (string, error) {
	if header == "" {
		return "", ErrNoCredentials
	}
	cr, err := digest.ParseCredentials(header)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadCredentials, err)
	}
	if cr.Realm != a.realm || (cr.Algorithm != "" && cr.Algorithm != "MD5") {
		return "", ErrBadCredentials
	}
	issued, ok := a.nonceTime(cr.Nonce)
	if !ok {
		return "", ErrBadCredentials
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
	if subtle.ConstantTimeCompare([]byte(want), []byte(cr.Response)) != 1 || !ok {
		return "", ErrBadCredentials
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

func (a *Authenticator) nonceTime(nonce string) (time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 32 {
		return time.Time{}, false
	}
	mac := hmac.New(sha256.New, a.key[:])
	mac.Write(b[:16])
	if !hmac.Equal(mac.Sum(nil)[:16], b[16:]) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), true
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
