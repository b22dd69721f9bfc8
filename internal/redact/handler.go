package redact

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Options configure a Handler.
type Options struct {
	// FullNumbers logs phone numbers as they are (log.full_numbers, for debugging). E-mail
	// addresses, secrets and DTMF digits stay masked.
	FullNumbers bool
	// Secrets are configured passwords, tokens and keys: any string that contains one has it
	// replaced by Secret, whatever its key. Values shorter than MinSecret are skipped (they
	// would mask ordinary words).
	Secrets []string
}

// MinSecret is the shortest configured secret that is scrubbed from text.
const MinSecret = 4

// Keys whose values are phone numbers (or SIP URIs and endpoints that carry one): masked
// with Number whatever they look like. "to" and "target" are call targets (agent:1001 stays,
// a customer's number does not).
var numberKeys = map[string]bool{
	"caller": true, "callee": true, "number": true, "phone": true, "dialed": true, "to": true,
	"target": true, "endpoint": true, "customer_number": true, "caller_id": true, "callerid": true,
	"cid": true, "ani": true, "dnis": true, "msisdn": true, "e164": true, "from_number": true,
	"to_number": true, "callback_number": true, "args": true,
}

// Keys whose values are e-mail addresses.
var emailKeys = map[string]bool{"email": true, "e-mail": true, "mail": true, "email_address": true}

// Keys whose values are secrets in themselves.
var secretKeys = map[string]bool{
	"password": true, "passwd": true, "secret": true, "api_key": true, "apikey": true,
	"authorization": true, "webhook_secret": true, "dsn_password": true,
}

// Keys whose values are DTMF digits.
var digitKeys = map[string]bool{"digit": true, "digits": true, "dtmf": true}

// Keys whose values are identifiers: the number scan leaves them alone (a native call's ID is
// a SIP Call-ID, which can be all digits), secrets and credentials are still scrubbed.
var idKeys = map[string]bool{
	"call": true, "callback": true, "ticket": true, "recording": true, "bridge": true,
	"playback": true, "snoop": true, "component": true, "sha256": true, "node": true,
	"channel": true, "call_id": true, "callid": true, "id": true,
}

// class is what a key says about its value.
type class uint8

const (
	plain class = iota
	numberKey
	emailKey
	secretKey
	digitKey
	idKey
)

// classes is every key above in one map: one lookup per attribute.
var classes = func() map[string]class {
	m := map[string]class{}
	for _, c := range []struct {
		keys map[string]bool
		c    class
	}{{numberKeys, numberKey}, {emailKeys, emailKey}, {secretKeys, secretKey}, {digitKeys, digitKey}, {idKeys, idKey}} {
		for k := range c.keys {
			m[k] = c.c
		}
	}
	return m
}()

// keyClass looks a key up as it is, and in lower case only when it has upper-case letters.
func keyClass(key string) class {
	if c, ok := classes[key]; ok {
		return c
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c >= 'A' && c <= 'Z' {
			return classes[strings.ToLower(key)]
		}
	}
	return plain
}

// Handler masks every record before the next handler writes it: attributes by key (numbers,
// e-mail addresses, secrets, digits) and every string, error and Stringer by a scan of the
// text (numbers that stand alone, e-mail addresses, credentials in URLs, configured secrets),
// inside groups too, and the message. A record with nothing to mask goes through as it is,
// without an allocation.
type Handler struct {
	next slog.Handler
	m    *masker
}

// NewHandler wraps next.
func NewHandler(next slog.Handler, opts Options) *Handler {
	return &Handler{next: next, m: newMasker(opts.FullNumbers, opts.Secrets)}
}

func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i], _ = h.m.attr(a)
	}
	return &Handler{next: h.next.WithAttrs(out), m: h.m}
}

func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), m: h.m}
}

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	msg := h.m.text(r.Message, false)
	// One pass: attributes are kept as they come until the first that changes; only then is
	// a new record started, with the ones before it copied.
	var out slog.Record
	started, i := false, 0
	r.Attrs(func(a slog.Attr) bool {
		m, c := h.m.attr(a)
		if c && !started {
			started = true
			out = slog.NewRecord(r.Time, r.Level, msg, r.PC)
			j := 0
			r.Attrs(func(b slog.Attr) bool {
				if j == i {
					return false
				}
				out.AddAttrs(b)
				j++
				return true
			})
		}
		if started {
			out.AddAttrs(m)
		}
		i++
		return true
	})
	if started {
		return h.next.Handle(ctx, out)
	}
	if msg != r.Message {
		nr := slog.NewRecord(r.Time, r.Level, msg, r.PC)
		r.Attrs(func(a slog.Attr) bool { nr.AddAttrs(a); return true })
		return h.next.Handle(ctx, nr)
	}
	return h.next.Handle(ctx, r)
}

// attr is a with its value masked, and whether anything was.
func (m *masker) attr(a slog.Attr) (slog.Attr, bool) {
	key := keyClass(a.Key)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		as := v.Group()
		var out []slog.Attr
		for i, g := range as {
			mg, c := m.attr(g)
			if c && out == nil {
				out = append(make([]slog.Attr, 0, len(as)), as[:i]...)
			}
			if out != nil {
				out = append(out, mg)
			}
		}
		if out == nil {
			return a, false
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}, true
	case slog.KindString:
		s := v.String()
		t := m.value(key, s)
		if t == s {
			return a, false
		}
		return slog.String(a.Key, t), true
	case slog.KindInt64, slog.KindUint64:
		if key == secretKey || key == digitKey || key == numberKey && !m.fullNumbers {
			var s string
			if v.Kind() == slog.KindInt64 {
				s = strconv.FormatInt(v.Int64(), 10)
			} else {
				s = strconv.FormatUint(v.Uint64(), 10)
			}
			if t := m.value(key, s); t != s {
				return slog.String(a.Key, t), true
			}
		}
		return a, false
	case slog.KindAny:
		var s string
		switch x := v.Any().(type) {
		case error:
			if x == nil {
				return a, false
			}
			s = x.Error()
		case fmt.Stringer:
			s = x.String()
		case []string:
			var out []string
			for i, e := range x {
				t := m.value(key, e)
				if t != e && out == nil {
					out = append([]string(nil), x...)
				}
				if out != nil {
					out[i] = t
				}
			}
			if out == nil {
				return a, false
			}
			return slog.Any(a.Key, out), true
		case []byte:
			s = string(x)
		default:
			s = fmt.Sprint(x)
		}
		if t := m.value(key, s); t != s {
			return slog.String(a.Key, t), true
		}
		return a, false
	}
	return a, false
}

// value masks the string value of key.
func (m *masker) value(key class, s string) string {
	switch {
	case s == "":
		return s
	case key == secretKey:
		return Secret
	case key == digitKey:
		return Hidden
	case key == emailKey:
		return Email(m.text(s, false))
	case key == numberKey:
		return m.text(s, true)
	case key == idKey:
		return m.scrub(s)
	}
	return m.text(s, false)
}

// scrub removes secrets and credentials only.
func (m *masker) scrub(s string) string {
	f := m.inspect(s)
	if f&fSecret != 0 {
		s = m.scrubSecrets(s)
	}
	if f&fCred != 0 && needsCredentialScan(s) {
		s = maskCredentials(s)
	}
	return s
}
