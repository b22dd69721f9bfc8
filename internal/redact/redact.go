// Package redact keeps callers' numbers, e-mail addresses and secrets out of hotline's logs:
// a slog.Handler that masks every record on its way out, and the helpers it is made of.
// It must stay cheap on records that hold nothing to mask, and it must not change those.
package redact

import (
	"net/netip"
	"strings"
)

// The one masking style, used everywhere: a number keeps its last four digits after three
// stars ("+4930123456" → "***3456"); an e-mail address keeps the first letter of its local
// part and its domain ("jane.doe@example.com" → "j***@example.com"); a secret becomes
// Secret.
const (
	numberMask = "***"
	// Secret replaces a password, token or key wherever one is found.
	Secret = "[secret]"
	// Hidden replaces DTMF digits: during a flow's sensitive input (a card number) the
	// drivers cannot tell, so digits are never logged one by one.
	Hidden = "[hidden]"
)

// Number masks a value known to be a phone number (a caller's number, a dialed number, a
// callback's number, a SIP URI or endpoint holding one). A value that is all number (digits
// and + - . ( ) space, five digits or more) keeps its last four digits: "+44 20 7946 0958" →
// "***0958". In anything else (sip:+4930123456@pbx, PJSIP/+4930123456@trunk) every run of
// five digits or more is masked the same way. Agents' extensions (1001) and other short
// numbers stay, and so do IP addresses and ports.
func Number(s string) string {
	digits, other := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			digits++
		case c == '+' || c == '-' || c == '.' || c == '(' || c == ')' || c == ' ':
		default:
			other = true
		}
	}
	if digits < 5 {
		return s
	}
	if looksLikeAddr(s) {
		return s
	}
	if !other {
		var last [4]byte
		n := 0
		for i := len(s) - 1; i >= 0 && n < 4; i-- {
			if isDigit(s[i]) {
				n++
				last[4-n] = s[i]
			}
		}
		return numberMask + string(last[4-n:])
	}
	if !hasRun(s, 5) {
		return s
	}
	return maskRuns(s, 5, 0, false)
}

// looksLikeAddr: an IP address or IP:port. netip is asked only when the characters allow one
// (its errors allocate, and most values are not addresses).
func looksLikeAddr(s string) bool {
	if strings.IndexByte(s, '.') < 0 && strings.IndexByte(s, ':') < 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !(c|0x20 >= 'a' && c|0x20 <= 'f') && c != '.' && c != ':' && c != '[' && c != ']' && c != '%' {
			return false
		}
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParseAddrPort(s)
	return err == nil
}

// Email masks a value known to be an e-mail address: "jane@example.com" → "j***@example.com".
// A value without @ is returned as it is.
func Email(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return s
	}
	return s[:1] + numberMask + s[at:]
}

// DSN masks the password of a database or Redis URL (postgres://user:pass@host/db →
// postgres://user:***@host/db) and of a key=value DSN (password=... → password=***). It
// masks by hand where the URL does not parse, so a password with odd characters still goes.
func DSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		// The password may hold / # ? unescaped: the user information ends at the last @.
		rest := dsn[i+3:]
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			if c := strings.IndexByte(rest[:at], ':'); c >= 0 {
				dsn = dsn[:i+3+c+1] + numberMask + rest[at:]
			}
		}
	}
	return maskCredentials(dsn)
}

// URL is DSN for any URL: user information and api_key=, password=, token= and secret=
// parameters are masked.
func URL(u string) string { return maskCredentials(u) }

// Text masks what looks like a phone number or an e-mail address in free text (a message, an
// error, a string whose key says nothing), and credentials in URLs. It is conservative: a
// number is masked only as a run of 7 to 15 digits (E.164's longest), optionally after +,
// that stands on its own; digits that belong to something else stay: call IDs
// (1795396597.4, a84b4c76e66710@pc33), UUIDs, versions, ports, timestamps, durations, hex.
func Text(s string) string {
	return defaultMasker.text(s, false)
}

var defaultMasker = newMasker(false, nil)

// masker is the configured masking: the switch for full numbers and the configured secrets
// that are scrubbed wherever they appear.
type masker struct {
	fullNumbers bool
	secrets     []string
	pairs       []uint64 // bit set of the first two bytes of every secret (65536 bits)
	shortest    int      // length of the shortest secret
}

func newMasker(fullNumbers bool, secrets []string) *masker {
	m := &masker{fullNumbers: fullNumbers}
	seen := map[string]bool{}
	for _, s := range secrets {
		if len(s) < MinSecret || seen[s] {
			continue
		}
		seen[s] = true
		m.secrets = append(m.secrets, s)
		if m.pairs == nil {
			m.pairs = make([]uint64, 1<<16/64)
		}
		p := uint16(s[0])<<8 | uint16(s[1])
		m.pairs[p/64] |= 1 << (p % 64)
		if m.shortest == 0 || len(s) < m.shortest {
			m.shortest = len(s)
		}
	}
	return m
}

// Flags of inspect, the one pass over a string that decides which scans it needs.
const (
	fSecret = 1 << iota // two bytes a secret starts with, in a string long enough to hold one
	fAt                 // @: an e-mail address?
	fCred               // :// or =: credentials?
	fRun5               // five digits in a row
	fRun7               // seven digits in a row
)

func (m *masker) inspect(s string) int {
	f, run := 0, 0
	secrets := len(m.secrets) > 0 && len(s) >= m.shortest
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isDigit(c) {
			run++
			if run == 5 {
				f |= fRun5
			} else if run == 7 {
				f |= fRun7
			}
		} else {
			run = 0
			switch c {
			case '@':
				f |= fAt
			case '=', '/':
				f |= fCred
			}
		}
		if secrets && i+1 < len(s) {
			p := uint16(c)<<8 | uint16(s[i+1])
			if m.pairs[p/64]&(1<<(p%64)) != 0 {
				f |= fSecret
			}
		}
	}
	return f
}

// text masks free text; number says the key says the value is a number (lenient scan).
func (m *masker) text(s string, number bool) string {
	f := m.inspect(s)
	if f == 0 {
		return s
	}
	out := s
	if f&fSecret != 0 {
		out = m.scrubSecrets(out)
	}
	if f&fCred != 0 && needsCredentialScan(out) {
		out = maskCredentials(out)
	}
	if f&fAt != 0 {
		out = maskEmails(out)
	}
	if m.fullNumbers {
		return out
	}
	if number {
		if f&fRun5 != 0 || strings.ContainsAny(out, " -.()") {
			return Number(out)
		}
		return out
	}
	if f&fRun7 != 0 {
		out = maskRuns(out, 7, 15, true)
	}
	return out
}

func (m *masker) scrubSecrets(s string) string {
	for _, sec := range m.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Secret)
		}
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }

// hasRun reports whether s holds n digits in a row: the quick test that lets most strings
// through untouched.
func hasRun(s string, n int) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			run++
			if run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// maskRuns masks every run of at least min digits (at most max, 0 = any) in s, with an
// optional + before it. strict (free text) wants the run to stand alone: not glued to letters,
// nor to . - _ / and a further character (1795396597.4, 12345678-90ab, /recordings/1234567).
// Otherwise (a keyed value) only letters and digits around the run keep it, and a run after
// ':' is masked only after a URI scheme (sip:, sips:, tel:), so host:port stays.
func maskRuns(s string, min, max int, strict bool) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isDigit(s[i-1])) {
			i++
			continue
		}
		j := i
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		start := i
		if i > 0 && s[i-1] == '+' {
			start = i - 1
		}
		n := j - i
		if n >= min && (max == 0 || n <= max) && before(s, start, strict) && after(s, start, j, strict) {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:start])
			b.WriteString(numberMask)
			b.WriteString(s[j-4 : j])
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func before(s string, start int, strict bool) bool {
	if start == 0 {
		return true
	}
	c := s[start-1]
	if isAlnum(c) || c == '_' {
		return false
	}
	if c == ':' {
		w := start - 1
		for w > 0 && isAlpha(s[w-1]) {
			w--
		}
		switch strings.ToLower(s[w : start-1]) {
		case "sip", "sips", "tel":
			return true
		}
		// 7 digits and more are no port; digits:digits (a time, a ratio, an ID pair) are left
		// whole, as the run before the colon is.
		return strict && !(w == start-1 && w > 0 && (isDigit(s[w-1]) || s[w-1] == '*'))
	}
	if strict && s[start] != '+' && (c == '.' || c == '-' || c == '/' || c == '\\' || c == '#') {
		return false
	}
	return true
}

// after says whether the run ending at j ends there. In free text a run glued to a host
// (1234567890@10.0.0.1, a Call-ID) is masked only when it is a URI's user part or starts
// with +.
func after(s string, start, j int, strict bool) bool {
	if j == len(s) {
		return true
	}
	c := s[j]
	if isAlpha(c) || c == '_' {
		return false
	}
	if !strict {
		return true
	}
	if (c == '.' || c == '-' || c == ':' || c == '/') && j+1 < len(s) && isAlnum(s[j+1]) {
		return false
	}
	if c == '@' && s[start] != '+' {
		return start > 0 && s[start-1] == ':'
	}
	return true
}

// maskEmails masks every e-mail address in s. The local part of a SIP URI
// (sip:1001@pbx.example) is not an e-mail address; numbers in it are masked as numbers.
func maskEmails(s string) string {
	var b strings.Builder
	last := 0
	for at := strings.IndexByte(s, '@'); at >= 0; {
		lo := at
		for lo > 0 && emailLocal(s[lo-1]) {
			lo--
		}
		hi := at + 1
		for hi < len(s) && (isAlnum(s[hi]) || s[hi] == '-' || s[hi] == '.') {
			hi++
		}
		dom := strings.TrimRight(s[at+1:hi], ".")
		if lo < at && lo >= last && emailDomain(dom) && !sipUser(s, lo) && !identifier(s[lo:at]) {
			b.WriteString(s[last : lo+1])
			b.WriteString(numberMask)
			last = at
		}
		next := strings.IndexByte(s[at+1:], '@')
		if next < 0 {
			break
		}
		at += 1 + next
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// identifier says a local part is no person's: a number (left to the number scan) or a
// long hex string (a SIP Call-ID such as a84b4c76e66710@pc33.atlanta.com).
func identifier(local string) bool {
	digits, hex := 0, true
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case isDigit(c):
			digits++
		case c|0x20 >= 'a' && c|0x20 <= 'f':
		case c == '+' && i == 0:
		default:
			hex = false
		}
	}
	return digits == len(local)-strings.Count(local[:1], "+") || hex && digits > 0 && len(local) >= 8
}

func emailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// emailDomain: at least two labels and a top-level domain of letters (so 127.0.0.1 is not one).
func emailDomain(d string) bool {
	dot := strings.LastIndexByte(d, '.')
	if dot <= 0 || len(d)-dot-1 < 2 {
		return false
	}
	for i := dot + 1; i < len(d); i++ {
		if !isAlpha(d[i]) {
			return false
		}
	}
	return true
}

func sipUser(s string, lo int) bool {
	p := strings.ToLower(s[max(0, lo-5):lo])
	return strings.HasSuffix(p, "sip:") || strings.HasSuffix(p, "sips:") || strings.HasSuffix(p, "tel:")
}

var credentialParams = []string{"api_key=", "password=", "passwd=", "secret=", "token="}

// needsCredentialScan is the allocation-free test for maskCredentials.
func needsCredentialScan(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	for i := strings.IndexByte(s, '='); i >= 0; {
		for _, p := range credentialParams {
			n := len(p) - 1
			if i >= n && strings.EqualFold(s[i-n:i], p[:n]) {
				return true
			}
		}
		next := strings.IndexByte(s[i+1:], '=')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

// maskCredentials masks passwords in URLs' user information (scheme://user:pass@host) and
// the values of api_key=, password=, passwd=, secret= and token= wherever they appear.
func maskCredentials(s string) string {
	var b strings.Builder
	last := 0
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		i += from + 3
		end := i
		for end < len(s) && !strings.ContainsRune("/?# \t\n\"'<>", rune(s[end])) {
			end++
		}
		if at := strings.LastIndexByte(s[i:end], '@'); at >= 0 {
			if c := strings.IndexByte(s[i:i+at], ':'); c >= 0 {
				b.WriteString(s[last : i+c+1])
				b.WriteString(numberMask)
				last = i + at
			}
		}
		from = end
	}
	if last > 0 {
		b.WriteString(s[last:])
		s, last = b.String(), 0
		b.Reset()
	}
	lower := strings.ToLower(s)
	for _, p := range credentialParams {
		for from := 0; ; {
			k := strings.Index(lower[from:], p)
			if k < 0 {
				break
			}
			k += from
			v := k + len(p)
			from = v
			if k > 0 && (isAlnum(lower[k-1]) || lower[k-1] == '_') {
				continue
			}
			e := v
			for e < len(s) && !strings.ContainsRune("& \t\n\"'<>;,", rune(s[e])) {
				e++
			}
			if e == v || s[v:e] == numberMask {
				continue
			}
			s = s[:v] + numberMask + s[e:]
			lower = lower[:v] + numberMask + lower[e:]
			from = v + len(numberMask)
		}
	}
	return s
}
